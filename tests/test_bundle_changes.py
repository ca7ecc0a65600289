"""A file that changes while it is bundled: read again once, then fail; never a mixed zip."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import Recorder

from mixpeek_cli.bundle.build import build_bundle
from mixpeek_cli.bundle.files import BundleFile
from mixpeek_cli.bundle.secrets.scan import Finding
from mixpeek_cli.errors import UsageError
from mixpeek_cli.output.reporter import NullReporter


class EditsBetweenWalkAndWrite:
    """A guard that, like an editor saving at the wrong moment, rewrites a file after the
    walk took its stamp and before it is read: same size, mtime put back."""

    def __init__(self, path: Path, times: int) -> None:
        self.path = path
        self.times = times
        self.calls = 0

    warm_at = 1 << 60  # never: this guard's scan runs no child

    def warm(self) -> None:
        pass

    def release(self) -> None:
        pass

    def select(self, files: list[BundleFile]) -> list[BundleFile]:
        self.calls += 1
        if self.calls <= self.times:
            st = self.path.stat()
            self.path.write_text(f"version {self.calls + 1}\n")
            os.utime(self.path, ns=(st.st_atime_ns, st.st_mtime_ns))
        return files

    def scan(self, files: Sequence[BundleFile], stop: object = None) -> list[Finding]:
        return []

    def scans_here(self, files: Sequence[BundleFile]) -> bool:
        return False

    def judge(self, findings: Sequence[Finding]) -> None:
        pass


def make_tree(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    (root / "main.py").write_text("version 1\n")
    (root / "other.py").write_text("x\n")
    return root


def test_a_file_changed_once_is_bundled_again_in_its_new_state(tmp_path):
    root = make_tree(tmp_path)
    reporter = Recorder()
    guard = EditsBetweenWalkAndWrite(root / "main.py", times=1)

    bundle = build_bundle(root, reporter, dest=tmp_path / "out.zip", guard=guard)

    assert guard.calls == 2
    assert reporter.warnings == ["main.py changed while it was being bundled: bundling again"]
    with zipfile.ZipFile(bundle.zip_path) as zf:
        assert zf.read("main.py") == b"version 2\n"


def test_a_file_that_keeps_changing_fails_and_leaves_no_zip(tmp_path):
    root = make_tree(tmp_path)
    guard = EditsBetweenWalkAndWrite(root / "main.py", times=2)

    with pytest.raises(UsageError) as info:
        build_bundle(root, Recorder(), dest=tmp_path / "out.zip", guard=guard)

    assert info.value.one_line() == (
        "main.py kept changing while it was being bundled. "
        "stop whatever is writing to it, or add it to .mixpeekignore"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app"]


def test_entries_and_offsets_past_the_zip64_limit_extract_correctly(tmp_path, monkeypatch):
    """The writer's ZIP64 path end to end, with the 4 GiB limit lowered to 1 MiB.

    A real 4 GiB file took 45 s to deflate; what it proved beyond the records' own test
    (test_bundle_parallel.py::test_zip64_records_for_big_sizes_and_offsets) is that the
    writer picks ZIP64 for a big entry, for the entries after an offset past the limit and
    for the end records, and that readers take the result: all of that shows at 1 MiB.
    """
    import hashlib
    import subprocess

    from mixpeek_cli.bundle import zipformat

    monkeypatch.setattr(zipformat, "ZIP64_LIMIT", 1 << 20)
    root = tmp_path / "app"
    root.mkdir()
    big = os.urandom(3 << 20)  # incompressible: stored, bigger than the limit itself
    text = b"".join(b"line %d of a text file that deflates well\n" % i for i in range(60_000))
    (root / "weights.bin").write_bytes(big)
    (root / "weights2.bin").write_bytes(big[::-1])  # whatever the order, one lies past 1 MiB
    (root / "notes.txt").write_bytes(text)  # deflated, past the limit before and after
    (root / "small.txt").write_text("hello\n")  # written after an offset past the limit

    bundle = build_bundle(root, NullReporter(), dest=tmp_path / "out.zip")

    check = subprocess.run(["unzip", "-tq", str(bundle.zip_path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    raw = bundle.zip_path.read_bytes()
    assert b"PK\x06\x06" in raw and b"PK\x06\x07" in raw, "ZIP64 end record and locator"
    with zipfile.ZipFile(bundle.zip_path) as zf:
        expected = {
            "weights.bin": big,
            "weights2.bin": big[::-1],
            "notes.txt": text,
            "small.txt": b"hello\n",
        }
        for name, data in expected.items():
            info = zf.getinfo(name)
            assert info.file_size == len(data)
            got = zf.read(name)
            assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), name
        assert max(i.header_offset for i in zf.infolist()) > 1 << 20
