"""Where POSIX-only calls are missing (Windows), the CLI falls back instead of crashing.

Each test takes the call away, as Windows lacks it, and runs the real code: the bundle
writer without ``os.pwrite``/``os.pread``, the build step without ``os.killpg``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shlex
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from mixpeek_cli.deploy import build_step
from mixpeek_cli.deploy.build_step import STOP_SECONDS

MIB = 1024 * 1024


def cli_without(names: list[str], *args: str) -> list[str]:
    """The command line of the CLI run with ``os.<name>`` deleted before anything imports."""
    code = (
        "import os, runpy, sys\n"
        f"for name in {names!r}:\n"
        "    delattr(os, name)\n"
        "runpy.run_module('mixpeek_cli', run_name='__main__', alter_sys=True)\n"
    )
    return [sys.executable, "-c", code, *args]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def big_tree(tmp_path: Path) -> dict[str, bytes]:
    """Files over the writer's 1 MiB chunk, deflated and stored, among small ones."""
    rng = random.Random(20)
    words = [b"canvas", b"deploy", b"bundle", b"vite", b"asset", b"chunk", b"index"]
    files = {
        "index.html": b"<!doctype html><title>big</title>\n",
        "assets/app.js": b"console.log('hi')\n" * 300,
        # Compressible: deflated in chunks, its header patched once its CRC is known.
        "assets/data.json": b" ".join(rng.choice(words) for _ in range(600_000)),
        # Incompressible: stored in chunks, patched all the same.
        "assets/photo.bin": rng.randbytes(2 * MIB + 12_345),
        "assets/one-chunk-and-a-byte.bin": rng.randbytes(MIB + 1),
        "assets/empty.txt": b"",
    }
    root = tmp_path / "site"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    assert len(files["assets/data.json"]) > 3 * MIB
    return files


def bundle(cmd: list[str], tmp_path: Path, cli_env: dict[str, str], label: str) -> bytes:
    out = tmp_path / f"{label}.zip"
    # A cache of its own per run: a bundle taken from the cache would prove nothing.
    env = {**cli_env, "XDG_CACHE_HOME": str(tmp_path / f"cache-{label}")}
    proc = subprocess.run(
        [*cmd, "bundle", str(tmp_path / "site"), "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    return out.read_bytes()


def test_the_bundle_is_written_where_pwrite_and_pread_are_missing(
    tmp_path: Path, cli_env: dict[str, str], big_tree: dict[str, bytes]
) -> None:
    without = bundle(cli_without(["pwrite", "pread"]), tmp_path, cli_env, "without")
    with_them = bundle([sys.executable, "-m", "mixpeek_cli"], tmp_path, cli_env, "with")

    # The same bytes either way: the fallback only changes how the headers are patched.
    assert hashlib.sha256(without).hexdigest() == hashlib.sha256(with_them).hexdigest()
    with zipfile.ZipFile(tmp_path / "without.zip") as zf:
        assert zf.testzip() is None
        assert {name: zf.read(name) for name in zf.namelist()} == big_tree
        methods = {info.filename: info.compress_type for info in zf.infolist()}
    assert methods["assets/data.json"] == zipfile.ZIP_DEFLATED
    assert methods["assets/photo.bin"] == zipfile.ZIP_STORED
    tested = subprocess.run(
        ["unzip", "-t", str(tmp_path / "without.zip")], capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout
    assert "No errors detected" in tested.stdout


def test_ctrl_c_stops_the_build_where_killpg_is_missing(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    build = (
        "import os, signal, sys, time\n"
        "signal.signal(signal.SIGINT, lambda *_: sys.exit('build-got-int'))\n"
        "open('build.pid', 'w').write(str(os.getpid()))\n"
        "print('started', file=sys.stderr, flush=True)\n"
        "time.sleep(60)\n"
        "os.makedirs('dist', exist_ok=True)\n"
    )
    # exec: the shell becomes the build, so the process the CLI started is the one to stop.
    command = f"exec {shlex.quote(sys.executable)} -c {shlex.quote(build)}"
    args = ["bundle", str(app), "-o", str(tmp_path / "out.zip"), "--build-command", command]
    proc = subprocess.Popen(
        cli_without(["killpg"], *args, "--output-dir", "dist"),
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stderr is not None
    try:
        seen = ""
        while not seen.endswith("\nstarted\n"):  # the line, not the command echoed
            line = proc.stderr.readline()
            assert line, seen
            seen += line
        build_pid = int((app / "build.pid").read_text())
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=20)
    finally:  # checked below; this only keeps a failed run from leaving processes behind
        proc.kill()
        if (app / "build.pid").exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int((app / "build.pid").read_text()), signal.SIGKILL)

    assert proc.returncode == 130, seen + rest
    assert "build-got-int" in rest  # the Ctrl-C was passed on to the build
    assert time.monotonic() - sent < STOP_SECONDS - 1  # which it stopped, not a kill
    assert "interrupted during the build" in rest and "nothing was sent" in rest
    assert "Traceback" not in rest
    assert gone(build_pid)  # the CLI waited for it: stopped and reaped
    assert not (tmp_path / "out.zip").exists()


def test_a_build_that_ignores_ctrl_c_is_killed_where_killpg_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The build step's stop logic with the fallback it chooses where os.killpg is missing,
    # on a build that only notes each Ctrl-C: passed on twice, then killed.
    monkeypatch.setattr(build_step, "_STOPPER", build_step._ProcessStop())
    monkeypatch.setattr(build_step, "AGAIN_SECONDS", 0.2)
    monkeypatch.setattr(build_step, "STOP_SECONDS", 1.0)
    child = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGINT, lambda *_: print('int', flush=True))\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    time.sleep(0.05)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child],
        stdout=subprocess.PIPE,
        text=True,
        **build_step._STOPPER.popen_args(),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        build_step._STOPPER.interrupt(proc)  # what the Ctrl-C handler does first
        build_step._stop(proc)
        out = proc.stdout.read()
    finally:
        proc.kill()
        proc.wait()

    assert proc.returncode == -signal.SIGKILL
    assert gone(proc.pid)
    assert out.split() == ["int", "int"]  # the Ctrl-C, then once more before the kill
