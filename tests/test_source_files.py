"""Selecting the inline source files: text only, per-file and total limits."""

from __future__ import annotations

from pathlib import Path

from mixpeek_cli.bundle import BundleFile
from mixpeek_cli.source_files import MAX_FILE_BYTES, MAX_TOTAL_BYTES, select_source_files


def bundle_file(root: Path, rel: str, data: bytes) -> BundleFile:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return BundleFile(rel, path, len(data), False)


def test_limits_are_the_documented_ones() -> None:
    assert MAX_FILE_BYTES == 262_144
    assert MAX_TOTAL_BYTES == 4_194_304


def test_file_exactly_at_the_limit_is_kept_one_byte_over_is_not(tmp_path: Path) -> None:
    at = bundle_file(tmp_path, "at.txt", b"a" * MAX_FILE_BYTES)
    over = bundle_file(tmp_path, "over.txt", b"a" * (MAX_FILE_BYTES + 1))
    result = select_source_files([at, over])
    assert list(result.files) == ["at.txt"]
    assert len(result.files["at.txt"]) == MAX_FILE_BYTES
    assert (result.skipped_large, result.skipped_binary, result.skipped_budget) == (1, 0, 0)


def test_size_is_measured_in_utf8_bytes(tmp_path: Path) -> None:
    # 131,073 two-byte characters are 262,146 bytes: over the limit.
    text = "\u00e9" * (MAX_FILE_BYTES // 2 + 1)
    over = bundle_file(tmp_path, "accents.txt", text.encode())
    assert select_source_files([over]).skipped_large == 1


def test_large_file_is_not_read(tmp_path: Path) -> None:
    # The recorded size decides; a missing source proves it is never opened.
    ghost = BundleFile("huge.txt", tmp_path / "does-not-exist", MAX_FILE_BYTES + 1, False)
    assert select_source_files([ghost]).skipped_large == 1


def test_nul_byte_and_invalid_utf8_are_binary(tmp_path: Path) -> None:
    files = [
        bundle_file(tmp_path, "a.py", b"print('ok')\r\n"),
        bundle_file(tmp_path, "nul.txt", b"abc\x00def"),
        bundle_file(tmp_path, "latin1.txt", b"caf\xe9"),
        bundle_file(tmp_path, "empty.txt", b""),
        bundle_file(tmp_path, "z.md", "\u2603\n".encode()),
    ]
    result = select_source_files(files)
    assert result.files == {"a.py": "print('ok')\r\n", "empty.txt": "", "z.md": "\u2603\n"}
    assert result.skipped_binary == 2
    assert (result.skipped_large, result.skipped_budget) == (0, 0)


def test_budget_exactly_reached_then_stops(tmp_path: Path) -> None:
    chunk = MAX_FILE_BYTES  # 16 of these are exactly the budget
    files = [bundle_file(tmp_path, f"f{i:02}.txt", b"x" * chunk) for i in range(16)]
    files.append(bundle_file(tmp_path, "g1.txt", b"y"))
    files.append(bundle_file(tmp_path, "g2.bin", b"\x00"))
    files.append(bundle_file(tmp_path, "g3.txt", b"z"))
    result = select_source_files(files)
    assert len(result.files) == 16
    assert result.total_bytes == MAX_TOTAL_BYTES
    # Once the budget would be passed, every later file counts against the budget.
    assert result.skipped_budget == 3
    assert (result.skipped_large, result.skipped_binary) == (0, 0)


def test_budget_stop_does_not_backfill_smaller_files(tmp_path: Path) -> None:
    files = [bundle_file(tmp_path, f"f{i:02}.txt", b"x" * MAX_FILE_BYTES) for i in range(15)]
    files.append(bundle_file(tmp_path, "g.txt", b"y" * (MAX_FILE_BYTES - 9)))
    files.append(bundle_file(tmp_path, "h.txt", b"y" * 10))  # would pass by one byte
    files.append(bundle_file(tmp_path, "i.txt", b"y"))  # would fit, but we stopped
    result = select_source_files(files)
    assert list(result.files)[-1] == "g.txt"
    assert result.total_bytes == MAX_TOTAL_BYTES - 9
    assert result.skipped_budget == 2


def test_order_follows_bundle_order(tmp_path: Path) -> None:
    files = [bundle_file(tmp_path, name, b"x") for name in ("b.txt", "a.txt", "c/d.txt")]
    assert list(select_source_files(files).files) == ["b.txt", "a.txt", "c/d.txt"]
