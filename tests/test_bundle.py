"""Collecting files and writing the deterministic zip, on real files."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import Recorder, where_permissions_apply

from mixpeek_cli.bundle.build import build_bundle, write_zip
from mixpeek_cli.bundle.files import BundleFile
from mixpeek_cli.bundle.walk import collect_files
from mixpeek_cli.errors import UsageError

pytestmark = pytest.mark.usefixtures("private_home")


FILES = {
    "main.py": b"print('hi')\n",
    "pkg/__init__.py": b"",
    "pkg/data.bin": bytes(range(256)) * 40,
    "run.sh": b"#!/bin/sh\necho run\n",
    "Zeta.txt": b"upper case sorts first\n",
    "\u00e9t\u00e9/caf\u00e9.txt": "caf\u00e9\n".encode(),
    "a/b/c/deep.txt": b"deep\n",
}


def make_tree(root: Path, order: list[str], mtime: int, umask: int) -> None:
    old = os.umask(umask)
    try:
        for rel in order:
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(FILES[rel])
            os.utime(path, (mtime, mtime))
        (root / "run.sh").chmod(0o750 if umask else 0o777)
    finally:
        os.umask(old)


def test_zip_is_deterministic(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    make_tree(one, list(FILES), mtime=1_000_000_000, umask=0o022)
    make_tree(two, list(reversed(FILES)), mtime=1_700_000_000, umask=0o077)
    (two / "main.py").chmod(0o600)
    first = build_bundle(one, Recorder(), dest=tmp_path / "one.zip")
    second = build_bundle(two, Recorder(), dest=tmp_path / "two.zip")
    assert first.sha256 == second.sha256
    assert first.zip_path.read_bytes() == second.zip_path.read_bytes()
    assert first.sha256 == hashlib.sha256(first.zip_path.read_bytes()).hexdigest()
    assert first.size == first.zip_path.stat().st_size
    assert first.input_bytes == sum(len(v) for v in FILES.values())
    assert [f.path for f in first.files] == [f.path for f in second.files]


def test_zip_layout_and_contents(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_tree(src, list(FILES), mtime=1_500_000_000, umask=0o022)
    recorder = Recorder()
    bundle = build_bundle(src, recorder)
    try:
        # Without dest the zip lands in the re-deploy cache, which keeps it.
        cache = Path(os.environ["XDG_CACHE_HOME"]) / "mixpeek" / "bundles"
        assert bundle.zip_path.parent.parent == cache
        assert bundle.zip_path.suffix == ".zip"
        assert not bundle.owned
        with zipfile.ZipFile(bundle.zip_path) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            assert names == sorted(FILES, key=lambda n: n.encode("utf-8"))
            assert zf.comment == b""
            for info in infos:
                assert not info.is_dir()
                assert not info.filename.startswith("/")
                assert ".." not in info.filename.split("/")
                assert info.date_time == (1980, 1, 1, 0, 0, 0)
                # Only the repetitive file shrinks by 5%; tiny ones are stored (docs/bundle.md).
                deflated = info.filename == "pkg/data.bin"
                expected_type = zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED
                assert info.compress_type == expected_type
                assert info.create_system == 3
                assert info.extra == b""
                expected = 0o100755 if info.filename == "run.sh" else 0o100644
                assert info.external_attr >> 16 == expected
                assert zf.read(info) == FILES[info.filename]
            assert zf.testzip() is None
        result = subprocess.run(["unzip", "-t", str(bundle.zip_path)], capture_output=True)
        assert result.returncode == 0, result.stdout
        out = tmp_path / "out"
        subprocess.run(["unzip", "-q", str(bundle.zip_path), "-d", str(out)], check=True)
        for rel, content in FILES.items():
            assert (out / rel).read_bytes() == content
        assert os.access(out / "run.sh", os.X_OK)
        assert recorder.progress_calls == [("Bundling", len(FILES), "files")]
        assert recorder.advanced == len(FILES)
        assert recorder.finished == 1
    finally:
        bundle.cleanup()
    assert bundle.zip_path.exists()  # the cache's copy outlives the command


def test_large_file_streams_and_round_trips(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    big = os.urandom(3 * 1024 * 1024 + 17)
    (src / "big.bin").write_bytes(big)
    bundle = build_bundle(src, Recorder(), dest=tmp_path / "b.zip")
    with zipfile.ZipFile(bundle.zip_path) as zf:
        assert zf.read("big.bin") == big


def test_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    src = tmp_path / "src"
    (src / "real").mkdir(parents=True)
    (src / "real" / "tool.sh").write_text("#!/bin/sh\n")
    (src / "real" / "tool.sh").chmod(0o755)
    (src / ".env").write_text("TOKEN=1")
    os.symlink("real/tool.sh", src / "tool-link")
    os.symlink(outside / "secret.txt", src / "outside-link")
    os.symlink("missing.txt", src / "dangling-link")
    os.symlink("real", src / "dir-link")
    os.symlink(outside, src / "outside-dir-link")
    os.symlink(".env", src / "env-link")
    recorder = Recorder()
    files = {f.path: f for f in collect_files(src, recorder)}
    assert set(files) == {"real/tool.sh", "tool-link"}
    assert Path(files["tool-link"].source) == (src / "real" / "tool.sh").resolve()
    assert files["tool-link"].executable
    warnings = "\n".join(recorder.warnings)
    assert "skipped symlink outside-link -> " in warnings
    assert f"points outside {os.path.realpath(src)}" in warnings
    assert "skipped symlink dangling-link -> missing.txt" in warnings
    assert "skipped symlink outside-dir-link" in warnings
    assert "skipped symlink env-link -> .env" in warnings
    assert len(recorder.warnings) == 4
    assert any("dir-link" in m for m in recorder.infos)
    bundle = build_bundle(src, Recorder(), dest=tmp_path / "s.zip")
    with zipfile.ZipFile(bundle.zip_path) as zf:
        info = zf.getinfo("tool-link")
        assert info.external_attr >> 16 == 0o100755
        assert zf.read(info) == b"#!/bin/sh\n"


@pytest.mark.timeout(20)
def test_fifo_is_skipped_without_opening(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    os.mkfifo(tmp_path / "pipe")
    recorder = Recorder()
    bundle = build_bundle(tmp_path / ".", recorder, dest=tmp_path.parent / f"{tmp_path.name}.zip")
    assert [f.path for f in bundle.files] == ["a.txt"]
    assert recorder.warnings == ["skipped pipe: it is a FIFO"]


@pytest.mark.timeout(20)
def test_excluded_directories_are_pruned(tmp_path: Path) -> None:
    # A FIFO inside node_modules would draw a warning if the walk went in there.
    (tmp_path / "node_modules" / "pkg").mkdir(parents=True)
    (tmp_path / "node_modules" / "pkg" / "index.js").write_text("")
    os.mkfifo(tmp_path / "node_modules" / "pkg" / "pipe")
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "build").mkdir()
    os.mkfifo(tmp_path / "build" / "pipe")
    (tmp_path / "app.js").write_text("")
    recorder = Recorder()
    assert [f.path for f in collect_files(tmp_path, recorder)] == [".gitignore", "app.js"]
    assert recorder.warnings == []


def test_nothing_to_deploy(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("x")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "a.js").write_text("")
    with pytest.raises(UsageError, match="nothing to deploy") as excinfo:
        build_bundle(tmp_path, Recorder())
    assert excinfo.value.hint == "check .gitignore / .mixpeekignore"


def test_non_utf8_file_name(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("")
    bad = os.fsdecode(b"caf\xe9.txt")
    (tmp_path / bad).write_text("")
    with pytest.raises(UsageError) as excinfo:
        collect_files(tmp_path, Recorder())
    assert repr(b"caf\xe9.txt") in excinfo.value.message
    assert "rename" in (excinfo.value.hint or "")


def test_non_utf8_name_that_is_ignored_is_fine(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("")
    (tmp_path / os.fsdecode(b"caf\xe9.pyc")).write_text("")
    assert [f.path for f in collect_files(tmp_path, Recorder())] == ["ok.txt"]


UNREADABLE_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mixpeek_cli.bundle.build import build_bundle
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.output.reporter import NullReporter

    root, dest = Path(sys.argv[1]), Path(sys.argv[2])
    try:
        build_bundle(root, NullReporter(), dest=dest)
    except UsageError as exc:
        print(exc.one_line())
        sys.exit(2)
    """
)


def test_unreadable_file_names_it_and_leaves_nothing(tmp_path: Path) -> None:
    # In a child process where file permissions apply (root's bypass dropped).
    base = tmp_path / "work"
    src = base / "src"
    (src / "src").mkdir(parents=True)
    (src / "src" / "a.py").write_text("a")
    (src / "src" / "x.py").write_text("x")
    (src / "src" / "x.py").chmod(0)
    dest = base / "out.zip"
    result = subprocess.run(
        [*where_permissions_apply(), sys.executable, "-c", UNREADABLE_SCRIPT, str(src), str(dest)],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(base)},
        cwd=base,
    )
    assert result.returncode == 2, result.stderr
    assert "cannot read src/x.py: Permission denied" in result.stdout
    assert "add it to .mixpeekignore" in result.stdout
    assert sorted(p.name for p in base.iterdir()) == ["src"]


def test_open_error_names_the_file(tmp_path: Path) -> None:
    # Any OSError on open is reported the same way (a directory works even as root).
    (tmp_path / "dir").mkdir()
    odd = BundleFile("src/x.py", tmp_path / "dir", 1, False)
    with pytest.raises(UsageError, match=r"cannot read src/x\.py: Is a directory") as excinfo:
        write_zip([odd], tmp_path / "out.zip", Recorder())
    assert excinfo.value.hint == "fix its permissions or add it to .mixpeekignore"
    assert not (tmp_path / "out.zip").exists()


def test_write_zip_removes_partial_file_on_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    good = BundleFile("a.txt", tmp_path / "a.txt", 1, False)
    gone = BundleFile("b.txt", tmp_path / "missing.txt", 3, False)
    dest = tmp_path / "out.zip"
    with pytest.raises(UsageError, match=r"cannot read b\.txt: No such file or directory"):
        write_zip([good, gone], dest, Recorder())
    assert not dest.exists()


def test_file_changed_while_bundling(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("grown")
    stale = BundleFile("a.txt", tmp_path / "a.txt", 2, False)
    with pytest.raises(UsageError, match="changed while"):
        write_zip([stale], tmp_path / "out.zip", Recorder())
    assert not (tmp_path / "out.zip").exists()


def test_dest_is_replaced_atomically(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "bundle.zip"
    dest.write_bytes(b"previous")
    bundle = build_bundle(src, Recorder(), dest=dest)
    assert bundle.zip_path == dest
    assert sorted(p.name for p in out.iterdir()) == ["bundle.zip"]

    (src / "b.txt").write_text("b")
    os.mkfifo(src / "c.txt")
    # A file that vanishes between listing and writing fails the write half way.
    files = collect_files(src, Recorder())
    (src / "b.txt").unlink()
    with pytest.raises(UsageError):
        write_zip(files, out / "other.zip", Recorder())
    assert sorted(p.name for p in out.iterdir()) == ["bundle.zip"]
    assert zipfile.ZipFile(dest).namelist() == ["a.txt"]


def test_failed_build_leaves_previous_dest(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "bundle.zip"
    dest.write_bytes(b"previous")
    (src / "bad").mkdir()
    (src / "bad" / os.fsdecode(b"\xff.txt")).write_text("")
    with pytest.raises(UsageError):
        build_bundle(src, Recorder(), dest=dest)
    assert dest.read_bytes() == b"previous"
    assert sorted(p.name for p in out.iterdir()) == ["bundle.zip"]


@pytest.mark.timeout(120)
def test_more_than_65535_entries_uses_zip64_end_record(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("1")
    count = 65_600
    files = [BundleFile(f"d/{i:06}.txt", tmp_path / "one.txt", 1, False) for i in range(count)]
    dest = tmp_path / "many.zip"
    write_zip(files, dest, Recorder())
    with zipfile.ZipFile(dest) as zf:
        assert len(zf.infolist()) == count
    assert subprocess.run(["unzip", "-tq", str(dest)], capture_output=True).returncode == 0


def test_path_inside_git_ignored_dir_explains_why_nothing_is_left(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".gitignore").write_text("dist/\n")
    (tmp_path / "dist" / "app").mkdir(parents=True)
    (tmp_path / "dist" / "app" / "main.py").write_text("")
    with pytest.raises(UsageError, match="nothing to deploy") as excinfo:
        collect_files(tmp_path / "dist" / "app", Recorder())
    assert "itself is ignored by 'dist/'" in (excinfo.value.hint or "")
