"""Shared fixtures: a real emulator on loopback and a way to run the real CLI as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mixpeek_cli.emulator import Emulator
from mixpeek_cli.output.reporter import NullReporter, ProgressTask, Unit

# Every /v1 exchange of an in-process emulator is checked against the SDK's models.
pytest_plugins = ["sdk_oracle"]

API_KEY = "sk_test_e2e_secret_value_0123456789"
INDEX_HTML = "<!doctype html><html><head><title>t</title></head><body>hi</body></html>\n"
APP_ID = "app_e2e"
BUILD_SECONDS = 0.1


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str

    @property
    def out_and_err(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    # A build of a tenth of a second: most tests deploy, and wait for it. Tests of what
    # happens while a build runs set a longer one themselves.
    with Emulator(build_seconds=BUILD_SECONDS) as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    """The shared emulator, reset to defaults around each test."""
    state = emulator.state
    defaults = {
        "build_seconds": BUILD_SECONDS,
        "fail_builds_with": None,
        "api_keys": None,
        "upload_url_seconds": 3600,
        "stream_enabled": True,
        "stream_cut_after": None,
        "stream_cuts": 1,
        "stream_stall_after": None,
        "smoke_test_errors": None,
        "unknown_apps": None,
        "max_apps": None,
        "expired_urls": 0,
        "bad_signature_urls": 0,
        "client_s3_endpoint_url": None,
    }
    state.configure(**defaults)
    state.clear_faults()
    state.clear_requests()
    yield emulator
    state.clear_faults()
    state.configure(**defaults)


@pytest.fixture
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment with no trace of the developer's own config or keys."""
    home = tmp_path_factory.mktemp("home")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MIXPEEK_", "AWS_", "GIT_")) and key not in ("CI",)
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Ada Lovelace",
        GIT_AUTHOR_EMAIL="ada@example.com",
        GIT_COMMITTER_NAME="Ada Lovelace",
        GIT_COMMITTER_EMAIL="ada@example.com",
        NO_COLOR="1",
        COLUMNS="200",
    )
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str]):  # type: ignore[no-untyped-def]
    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60
    ) -> CliRun:
        proc = subprocess.run(
            [sys.executable, "-m", "mixpeek_cli", *args],
            cwd=cwd,
            env={**cli_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return CliRun(proc.returncode, proc.stdout, proc.stderr)

    return run


def spawn_cli(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """The CLI started in the background (to interrupt or read as it goes), text pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "mixpeek_cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def remote_env(emu: Emulator) -> dict[str, str]:
    return {
        "MIXPEEK_BASE_URL": emu.base_url,
        "MIXPEEK_API_KEY": API_KEY,
        "MIXPEEK_APP_ID": APP_ID,
        "MIXPEEK_POLL_INTERVAL": "0.1",
    }


def git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A small app Canvas serves: its index.html, source files, a binary asset, an ignored
    secret and ignored cache."""
    root = tmp_path / "app"
    (root / "src").mkdir(parents=True)
    (root / "index.html").write_text(INDEX_HTML)
    (root / "main.py").write_text("from src.util import greet\nprint(greet())\n")
    (root / "src" / "util.py").write_text("def greet():\n    return 'hi'\n")
    (root / "src" / "__pycache__").mkdir()
    (root / "src" / "__pycache__" / "util.cpython-311.pyc").write_bytes(b"\x00compiled")
    (root / "logo.bin").write_bytes(bytes(range(256)) * 8)
    (root / ".env").write_text("SECRET=1\n")
    (root / ".gitignore").write_text("*.log\n")
    (root / "debug.log").write_text("noise\n")
    return root


def read_bundle(emu: Emulator, key: str) -> dict[str, bytes]:
    body = emu.s3_client().get_object(Bucket=emu.bucket, Key=key)["Body"].read()
    import io

    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


# The capabilities that let root read and search past file permissions.
DAC_CAPS = "-dac_override,-dac_read_search"


def where_permissions_apply() -> list[str]:
    """The argv prefix that runs a child under file permissions, as any user would.

    Root bypasses them with two capabilities; the child runs as root still (so it can
    reach the clone, its venv and every 0700 directory root owns) but without those.
    Anyone else is under them already.
    """
    if os.geteuid() != 0:
        return []
    import shutil

    setpriv = shutil.which("setpriv")  # util-linux
    if setpriv is None:
        pytest.skip("as root, this test needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
    return [setpriv, "--bounding-set", DAC_CAPS, "--inh-caps", DAC_CAPS]


@pytest.fixture
def run_cli_unprivileged(cli_env: dict[str, str]):  # type: ignore[no-untyped-def]
    """Run the CLI where file permissions apply, whoever runs the suite (see above)."""
    prefix = where_permissions_apply()

    def run(*args: str, cwd: Path) -> CliRun:
        proc = subprocess.run(
            [*prefix, sys.executable, "-m", "mixpeek_cli", *args],
            cwd=cwd,
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        return CliRun(proc.returncode, proc.stdout, proc.stderr)

    return run


class _Task:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def advance(self, amount: int) -> None:
        self.recorder.advanced += amount


class Recorder(NullReporter):
    """A reporter that remembers what it was told (the rest it ignores)."""

    def __init__(self) -> None:
        self.infos: list[str] = []
        self.warnings: list[str] = []
        self.progress_calls: list[tuple[str, int, str]] = []
        self.advanced = 0
        self.finished = 0

    def info(self, message: str) -> None:
        self.infos.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def progress(self, description: str, total: int, unit: Unit) -> ProgressTask:
        self.progress_calls.append((description, total, unit))
        return _Task(self)

    def finish_progress(self) -> None:
        self.finished += 1


@pytest.fixture
def private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """For in-process tests: keep the user's git config, global excludes and caches out."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_CONFIG_GLOBAL", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
    return home


def calls(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    """Every API and S3 request the CLI made, in the order they arrived.

    The emulator's own S3 calls (its HEAD for verify-upload, the build's GET, a test's
    boto3 client) carry its user agent and are left out.
    """
    api = [{**r, "to": "api"} for r in emu.state.requests]
    s3 = [
        {**r, "to": "s3"}
        for r in emu.state.s3_requests
        if "mixpeek-emulator" not in r["headers"].get("user-agent", "")
    ]
    return sorted(api + s3, key=lambda r: r["id"])


def server_log(emu: Emulator, deploy_id: str, app_id: str = APP_ID) -> list[str]:
    """The deploy's whole build log as the server holds it (its stream's replay).

    Reading it is a request too: take ``calls`` first.
    """
    import httpx
    from httpx_sse import connect_sse

    lines: list[str] = []
    headers = {"Authorization": "Bearer test-reader"}
    with httpx.Client(base_url=emu.base_url, headers=headers, timeout=30) as client:
        path = f"/v1/apps/{app_id}/deploys/{deploy_id}/logs/stream"
        with connect_sse(client, "GET", path) as source:
            for event in source.iter_sse():
                if event.event == "done":
                    break
                lines.append(json.loads(event.data)["line"])
    return lines
