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


def test_a_file_over_4_gib_is_zip64_and_extracts_correctly(tmp_path):
    import hashlib
    import shutil
    import subprocess
    import zlib

    if shutil.disk_usage(tmp_path).free < 2 * 1024**3:
        pytest.skip("needs a little free disk for the sparse file's zip")
    root = tmp_path / "app"
    root.mkdir()
    big = root / "weights.bin"
    size = 4 * 1024**3 + 4096  # just past the 32-bit limit; sparse, so it costs no disk
    with big.open("wb") as fh:
        fh.truncate(size)
        fh.seek(size - 5)
        fh.write(b"tail!")
    (root / "small.txt").write_text("hello\n")

    bundle = build_bundle(root, NullReporter(), dest=tmp_path / "out.zip")

    check = subprocess.run(["unzip", "-tq", str(bundle.zip_path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    with zipfile.ZipFile(bundle.zip_path) as zf:
        info = zf.getinfo("weights.bin")
        assert info.file_size == size
        crc = 0
        digest = hashlib.sha256()
        with zf.open(info) as member:
            while chunk := member.read(16 * 1024 * 1024):
                crc = zlib.crc32(chunk, crc)
                digest.update(chunk)
        assert crc == info.CRC
        assert zf.read("small.txt") == b"hello\n"
    expected = hashlib.sha256()
    with big.open("rb") as fh:
        while chunk := fh.read(16 * 1024 * 1024):
            expected.update(chunk)
    assert digest.hexdigest() == expected.hexdigest()
