"""Selecting the inline source files: text only, per-file and total limits."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from mixpeek_cli.bundle import source_files
from mixpeek_cli.bundle.build import Bundle, build_bundle
from mixpeek_cli.bundle.files import BundleFile
from mixpeek_cli.bundle.source_files import (
    MAX_FILE_BYTES,
    MAX_TOTAL_BYTES,
    EncodedSources,
    select_source_files,
    sources_for,
)
from mixpeek_cli.output.reporter import NullReporter


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


def test_encoding_round_trips_the_selection_as_json(tmp_path: Path) -> None:
    files = [
        bundle_file(tmp_path, "a.py", "print('\u00e9t\u00e9')\n".encode()),
        bundle_file(tmp_path, "b.txt", b'quote " and \\ backslash\n\ttab'),
        bundle_file(tmp_path, "c.bin", b"\0\1"),
    ]
    selection = select_source_files(files)
    encoded = selection.encode()
    assert json.loads(encoded.json) == selection.files
    assert (encoded.count, encoded.skipped) == (2, 1)
    assert EncodedSources.from_bytes(encoded.to_bytes()) == encoded
    assert EncodedSources.from_bytes(b"garbage\n{}") is None
    assert EncodedSources.from_bytes(b"[1, 0, 0, 0]") is None  # no body line at all


@pytest.fixture
def kept_bundle(tmp_path: Path, private_home: Path) -> tuple[Path, Bundle]:
    root = tmp_path / "app"
    root.mkdir()
    (root / "main.py").write_text("print('v1')\n")
    (root / "logo.bin").write_bytes(bytes(range(256)))
    old = time.time() - 10  # not "racy": the bundle cache trusts the stamps
    for path in root.iterdir():
        os.utime(path, (old, old))
    bundle = build_bundle(root, NullReporter())
    assert not bundle.owned  # kept in the re-deploy cache
    return root, bundle


def test_a_reused_bundle_brings_back_its_encoded_sources_unread(
    kept_bundle: tuple[Path, Bundle], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, bundle = kept_bundle
    first = sources_for(bundle)
    assert json.loads(first.json) == {"main.py": "print('v1')\n"}
    again = build_bundle(root, NullReporter())
    assert again.reused

    def forbidden(files: object) -> None:
        raise AssertionError("the sources were selected again")

    monkeypatch.setattr(source_files, "select_source_files", forbidden)
    assert sources_for(again) == first


def test_a_damaged_kept_selection_is_computed_again(kept_bundle: tuple[Path, Bundle]) -> None:
    root, bundle = kept_bundle
    first = sources_for(bundle)
    (kept,) = bundle.zip_path.parent.glob(f"{bundle.zip_path.stem}.source-files-*")
    data = bytearray(kept.read_bytes())
    data[-3] ^= 0x01  # inside the JSON: a changed byte of content
    kept.write_bytes(bytes(data))
    again = build_bundle(root, NullReporter())
    assert again.reused
    assert sources_for(again) == first


def test_a_selection_read_after_a_change_is_not_kept(kept_bundle: tuple[Path, Bundle]) -> None:
    root, bundle = kept_bundle
    (root / "main.py").write_text("print('v2')\n")  # after the zip, before the selection
    sources = sources_for(bundle)
    assert json.loads(sources.json) == {"main.py": "print('v2')\n"}
    assert not list(bundle.zip_path.parent.glob(f"{bundle.zip_path.stem}.source-files-*"))
