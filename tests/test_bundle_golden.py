"""The bundle format: a fixed tree always bundles to the same sha256, on any machine.

The compressed bytes come from the pinned compressor (mixpeek_cli/bundle/deflate.py), so a
fixed tree has one sha256 everywhere the pinned zlib-ng loads; where it does not, bundles fall
back to Python's zlib, say so once, and the golden test is skipped rather than failed.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Recorder

from mixpeek_cli.bundle import cache as bundle_cache
from mixpeek_cli.bundle import deflate
from mixpeek_cli.bundle.build import build_bundle
from mixpeek_cli.bundle.files import BundleFile
from mixpeek_cli.bundle.zipwriter import write_entries

# The sha256 of the golden tree's bundle in bundle format 1 (docs/bundle.md, "The zip is
# deterministic"). It changes only with a documented format bump: a change to any rule of the
# zip's bytes, the compressor, its level or its pinned version range bumps
# deflate.FORMAT_VERSION and docs/bundle.md, and only then is this constant updated.
GOLDEN_FORMAT = 1
GOLDEN_SHA256 = "c4eb8ef1bcff4510abe7d29628de26a3e9ed8589e0ceaea032ecf8fbf39ce79d"

FIXTURE = Path(__file__).parent / "fixtures" / "golden"
# The committed files, with their sha256: `* -text` in the fixture's .gitattributes keeps git
# from converting them; a checkout that altered one anyway fails here, saying which.
COMMITTED = {
    "app.js": "23231563712a85b73fed7db5e46b4c1113025160805115171766cb11dde3f4ad",
    "assets/logo.png": "b9475aca4732d1309245ef7034bb628712d3b6fc4d1fb29c0abb9a7b142efd90",
    "bin/run.sh": "4c23ab400640eb9ee2341d2f5a119cc74f82b9da7a6146cd86f8dc7bdf79c04f",
    "index.html": "dc60c0179680c4518fdc634a289dcebf5268630d7c84f9ef3e89f81df93af575",
    "src/lib/format.js": "4b56c2853ead48d8946e76e22f3b65f338be73a0027cf12820caca49a80566eb",
    "static/empty.txt": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "style.css": "e64cd6e453ebca12e820ecea81c540e4bed17a0d8b64ba3d501098c6427eb4fc",
}
EXECUTABLE = {"bin/run.sh"}
NOT_A_MODULE = "mixpeek_test_no_such_compressor"


def _table() -> bytes:
    """1.5 MiB of CSV with CRLF line ends: two 1 MiB chunks, the second primed with the first's
    last 32 KiB. Made here, from arithmetic alone, so no checkout can change a byte."""
    rows = [b"id,region,amount,note\r\n"]
    size = len(rows[0])
    index = 0
    while size < 1_500_000:
        row = b"%d,r%02d,%d.%02d,%s\r\n" % (
            index,
            index * 7 % 23,
            index * 7919 % 100_000,
            index % 100,
            b"ok" if index % 5 else b"check",
        )
        rows.append(row)
        size += len(row)
        index += 1
    return b"".join(rows)


def golden_tree(base: Path) -> Path:
    """The golden tree, with every mode chosen here (git keeps only the executable bit, and
    not on every file system) and the files whose bytes git could alter written here."""
    root = base / "golden"
    for name, digest in COMMITTED.items():
        data = (FIXTURE / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"the checkout altered {name}"
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "data").mkdir()
    (root / "data" / "table.csv").write_bytes(_table())
    (root / "notes.txt").write_bytes(b"line one\r\nline two\r\n\r\nno newline at the end")
    for path in root.rglob("*"):
        if path.is_file():
            rel = path.relative_to(root).as_posix()
            path.chmod(0o755 if rel in EXECUTABLE else 0o644)
    return root


def tree_files(root: Path) -> list[BundleFile]:
    """The tree's files in bundle order, as the walk would give them to the writer."""
    paths = [p for p in root.rglob("*") if p.is_file()]
    files = [
        BundleFile(
            p.relative_to(root).as_posix(), p, p.stat().st_size, bool(p.stat().st_mode & 0o100)
        )
        for p in paths
    ]
    return sorted(files, key=lambda f: f.path.encode())


@pytest.fixture
def zlib_fallback(monkeypatch: pytest.MonkeyPatch) -> Iterator[deflate.Deflater]:
    """As on a machine where zlib-ng cannot be imported: the seam points at no module."""
    monkeypatch.setattr(deflate, "PINNED_MODULE", NOT_A_MODULE)
    deflate.reset()
    yield deflate.active()
    deflate.reset()


def test_golden_tree_bundles_to_the_golden_sha256(tmp_path: Path, private_home: Path) -> None:
    active = deflate.active()
    if not active.pinned:
        pytest.skip(f"no golden sha256 without the pinned compressor: {active.warning}")
    assert deflate.FORMAT_VERSION == GOLDEN_FORMAT, (
        "the bundle format was bumped: document it in docs/bundle.md and update GOLDEN_SHA256"
    )
    root = golden_tree(tmp_path)
    reporter = Recorder()
    bundle = build_bundle(root, reporter, dest=tmp_path / "golden.zip")
    assert reporter.warnings == []
    with zipfile.ZipFile(bundle.zip_path) as zf:
        infos = {info.filename: info for info in zf.infolist()}
        assert [info.filename for info in zf.infolist()] == sorted(infos, key=str.encode)
        for name, info in infos.items():
            assert zf.read(info) == (root / name).read_bytes()
            assert info.external_attr >> 16 == (0o100755 if name in EXECUTABLE else 0o100644)
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
        stored = {n for n, i in infos.items() if i.compress_type == zipfile.ZIP_STORED}
    assert stored == {"assets/logo.png", "static/empty.txt"}
    assert len(infos) == len(COMMITTED) + 2
    assert bundle.sha256 == hashlib.sha256(bundle.zip_path.read_bytes()).hexdigest()
    assert bundle.sha256 == GOLDEN_SHA256, (
        "the golden bundle changed: that is a bundle format bump (deflate.FORMAT_VERSION, "
        "docs/bundle.md), not a constant to refresh"
    )


def test_golden_tree_is_the_same_on_one_thread_and_on_many(tmp_path: Path) -> None:
    files = tree_files(golden_tree(tmp_path))
    digests = set()
    for workers in (1, 2, 5):
        with open(tmp_path / f"w{workers}.zip", "w+b") as fh:
            digests.add(write_entries(files, fh, on_file=lambda: None, workers=workers)[0])
    assert len(digests) == 1


def test_without_zlib_ng_bundles_fall_back_to_zlib_and_say_so_once(
    zlib_fallback: deflate.Deflater, tmp_path: Path, private_home: Path
) -> None:
    assert not zlib_fallback.pinned
    assert zlib_fallback.module.__name__ == "zlib"
    assert zlib_fallback.level == 6
    assert NOT_A_MODULE in zlib_fallback.fallback_reason
    files = tree_files(golden_tree(tmp_path))
    reporter = Recorder()
    with open(tmp_path / "fallback.zip", "w+b") as fh:
        sha256, _ = write_entries(files, fh, on_file=lambda: None, warn=reporter.warn)
    assert len(reporter.warnings) == 1  # once per bundle, not once per file or chunk
    assert "zlib" in reporter.warnings[0] and "sha256 may differ" in reporter.warnings[0]
    with zipfile.ZipFile(tmp_path / "fallback.zip") as zf:
        for file in files:
            assert zf.read(file.path) == Path(file.source).read_bytes()
    if sha256 == GOLDEN_SHA256:
        pytest.fail("zlib gave the golden bytes: the golden test would not tell the two apart")


def test_without_a_reporter_the_fallback_is_a_python_warning(
    zlib_fallback: deflate.Deflater, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("hello " * 100)
    files = [BundleFile("a.txt", tmp_path / "a.txt", 600, False)]
    with (
        pytest.warns(RuntimeWarning, match="sha256 may differ"),
        open(tmp_path / "out.zip", "w+b") as fh,
    ):
        write_entries(files, fh, on_file=lambda: None)


def test_the_cache_key_names_the_format_or_the_fallback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    identity = [["a.txt", "/x/a.txt", False, 1, 2, 3, 4, 5, 6]]
    monkeypatch.setattr(deflate, "_active", deflate.Deflater("p", 4, True, "", None))
    pinned = bundle_cache._key(tmp_path, identity)
    assert deflate.active().format_key == f"bundle format {deflate.FORMAT_VERSION}"
    monkeypatch.setattr(deflate, "_active", deflate.zlib_deflater("test"))
    fallback = bundle_cache._key(tmp_path, identity)
    assert "zlib" in deflate.active().format_key
    assert pinned != fallback  # a zip from one compressor is never reused for the other


def test_another_zlib_ng_release_is_used_but_not_called_the_format(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip(deflate.PINNED_MODULE)
    monkeypatch.setattr(deflate, "PINNED_RANGE", ((0, 1), (0, 2)))
    deflate.reset()
    try:
        other = deflate.active()
    finally:
        deflate.reset()
    assert not other.pinned and other.module.__name__ == deflate.PINNED_MODULE
    assert "is installed" in other.warning and "sha256 may differ" in other.warning
    assert other.format_key == other.name != f"bundle format {deflate.FORMAT_VERSION}"


def test_the_pin_in_pyproject_is_the_one_the_format_names() -> None:
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["dependencies"] if d.startswith(deflate.LIBRARY)]
    assert len(pins) == 1
    spec = pins[0].split(";")[0][len(deflate.LIBRARY) :].strip()
    assert sorted(spec.split(",")) == sorted(deflate.PINNED_SPEC.split(","))
    low, high = (part.lstrip("<>=") for part in sorted(spec.split(","), reverse=True))
    assert (deflate._version(low), deflate._version(high)) == deflate.PINNED_RANGE


def test_versions_compare_by_their_numbers() -> None:
    assert deflate._version("1.1.0") == (1, 1, 0)
    assert deflate._version("1.2.0rc1") == (1, 2, 0)
    assert deflate._version("1.10") > deflate._version("1.9.9")


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("deploy", "--help")])
def test_start_up_does_not_load_the_compressor(args: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mixpeek_cli", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    modules = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "mixpeek_cli" in modules
    assert not {m for m in modules if m.split(".")[0] in ("zlib_ng", "isal", "deflate")}
    assert "mixpeek_cli.bundle.deflate" not in modules
