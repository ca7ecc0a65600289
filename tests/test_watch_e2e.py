"""`deploy --watch` / `promote --watch` (issue 24): the real CLI against the emulator, whose
`error-rate` counts the errors an app meets, with real timestamps.

The first test's errors are a server function's: v2's `api/hello.js` throws, and a traffic
loop calls it (the emulator runs it in Node and counts each 500). The others report a
page's errors through the emulator's control, which needs no Node."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import API_KEY, calls, spawn_cli

from mixpeek_cli.cli import with_watch_default
from mixpeek_cli.commands.watching import parse_duration
from mixpeek_cli.emulator import Emulator

FAST = ("--watch-interval", "0.4")


def page(n: int) -> str:
    return f"<!doctype html><html><head><title>v{n}</title></head><body>v{n}</body>\n"


class App:
    def __init__(self, run_cli: Any, remote_env: dict[str, str], root: Path) -> None:
        self.run_cli = run_cli
        self.app_id = f"watch_{uuid.uuid4().hex[:10]}"
        self.env = {**remote_env, "MIXPEEK_APP_ID": self.app_id}
        self.root = root
        self.count = 0

    def deploy(self, *flags: str) -> tuple[Any, dict[str, Any]]:
        self.count += 1
        (self.root / "index.html").write_text(page(self.count))
        result = self.run_cli(
            "deploy", str(self.root), "-m", f"release {self.count}", "--json", *flags, env=self.env
        )
        return result, json.loads(result.stdout)

    def live(self) -> dict[str, int]:
        result = self.run_cli("versions", "list", "--json", env=self.env)
        assert result.code == 0, result.stderr
        return json.loads(result.stdout)["live"]  # type: ignore[no-any-return]


@pytest.fixture
def app(run_cli, remote_env, tmp_path) -> App:  # type: ignore[no-untyped-def]
    root = tmp_path / "site"
    root.mkdir()
    return App(run_cli, remote_env, root)


class Traffic:
    """Visits the app's page every few milliseconds while running; whenever the page served
    is ``broken`` (a version's title), the visit fails, and the failure is reported through
    the emulator's control, as a page's uncaught error is counted."""

    def __init__(self, emu: Emulator, app: App, url: str, broken: str = "v2") -> None:
        self.errors_url = f"{emu.base_url}/_emulator/apps/{app.app_id}/errors"
        parts = urlsplit(url)
        self.page_url = f"http://127.0.0.1:{parts.port}/"
        self.host = parts.netloc
        self.broken = f"<title>{broken}</title>"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        body = {"error_type": "TypeError", "error_message": "x is undefined", "url": "/"}
        with httpx.Client(timeout=10) as client:
            while not self.stop.wait(0.05):
                if self.broken in client.get(self.page_url, headers={"Host": self.host}).text:
                    assert client.post(self.errors_url, json=body).status_code == 200

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def site_text(url: str) -> str:
    parts = urlsplit(url)
    return httpx.get(f"http://127.0.0.1:{parts.port}/", headers={"Host": parts.netloc}).text


def error_rate_calls(emu: Emulator, app_id: str) -> list[dict[str, Any]]:
    return [r for r in calls(emu) if r["path"] == f"/v1/apps/{app_id}/error-rate"]


HANDLER = """export default async function handler(ctx) {
  %s
  return { status: 200, body: { ok: true } };
}
"""


class Calls:
    """Calls the production site's `/functions/hello` every few milliseconds while running."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.url = f"http://127.0.0.1:{parts.port}/functions/hello"
        self.host = parts.netloc
        self.statuses: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.wait(0.05):
                self.statuses.append(client.get(self.url, headers={"Host": self.host}).status_code)

    def __enter__(self) -> Calls:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)


def function_status(url: str) -> int:
    parts = urlsplit(url)
    target = f"http://127.0.0.1:{parts.port}/functions/hello"
    return httpx.get(target, headers={"Host": parts.netloc}, timeout=30).status_code


def test_a_version_whose_function_throws_is_rolled_back_and_a_healthy_one_stays(emu, app):
    handler = app.root / "api" / "hello.js"
    handler.parent.mkdir()
    handler.write_text(HANDLER % "")
    first, v1 = app.deploy()  # v1, healthy: nothing watched
    assert first.code == 0, first.stderr

    handler.write_text(HANDLER % 'throw new TypeError("x is undefined");')
    with Calls(v1["url"]) as calls_made:
        broken, data = app.deploy(
            "--watch", "40s", "--watch-interval", "2", "--rollback-on-failure"
        )
    assert 200 in calls_made.statuses and 500 in calls_made.statuses  # v1, then v2 throwing

    assert broken.code == 6, broken.stderr
    assert data["healthy"] is False and data["rolled_back"] is True
    assert data["baseline"] == 0 and data["error_rate"] > data["watch"]["max_error_rate"] == 1
    assert data["watch"]["version"] == 2 and data["watch"]["previous_version"] == 1
    assert data["watch"]["rollback"]["status"] == "complete"
    assert data["watch"]["seconds"] < 20  # two polls above the limit, not the whole 40 s
    assert function_status(data["url"]) == 200  # v1's function answers again
    assert "error: v2 is unhealthy" in broken.stderr
    assert "rolled back: production serves v1 again" in broken.stderr
    assert app.live()["production"] == 1
    assert "v1" in site_text(data["url"])
    restores = [r for r in calls(emu) if r["path"].endswith("/versions/1/restore")]
    assert [r["json"] for r in restores] == [{"environment": "production"}]
    asked = {int(r["query"]["minutes"]) for r in error_rate_calls(emu, app.app_id)}
    assert asked == {1, 5}  # the baseline's windows, then each poll's minute

    # v3 right after the incident: the errors of the last minute are in its baseline too.
    healthy, data = app.deploy("--watch", "2s", *FAST, "--rollback-on-failure")
    assert healthy.code == 0, healthy.stderr
    assert data["healthy"] is True and data["rolled_back"] is False
    assert data["baseline"] > 0 and data["watch"]["max_error_rate"] == 3 * data["baseline"]
    assert len(data["watch"]["polls"]) >= 3
    assert "v3 stayed healthy" in healthy.stderr
    assert app.live()["production"] == 3


def test_without_rollback_an_unhealthy_version_exits_6_and_stays_live(emu, app):
    first, v1 = app.deploy()
    assert first.code == 0, first.stderr
    with Traffic(emu, app, v1["url"]):
        result, data = app.deploy("--watch", "30s", *FAST)

    assert result.code == 6, result.stderr
    assert (data["healthy"], data["rolled_back"]) == (False, False)
    assert "v2 stays live (no --rollback-on-failure); put v1 back with: mixpeek rollback 1" in (
        result.stderr
    )
    assert app.live()["production"] == 2
    assert not [r for r in calls(emu) if r["path"].endswith("/restore")]


def test_a_failing_smoke_test_rolls_back_at_once(emu, app):
    assert app.deploy()[0].code == 0
    emu.state.configure(smoke_test_errors=["Uncaught TypeError: x is undefined"])
    result, data = app.deploy("--watch", "1m", *FAST, "--rollback-on-failure")

    assert result.code == 6, result.stderr
    assert data["rolled_back"] is True and data["watch"]["polls"] == []
    assert "smoke test did not pass: Uncaught TypeError" in data["watch"]["reason"]
    assert app.live()["production"] == 1


def test_promote_watch_rolls_production_back(emu, app):
    first, v1 = app.deploy()  # v1 in production
    staged, _ = app.deploy("-e", "staging")  # v2 in staging
    assert first.code == 0 and staged.code == 0, staged.stderr

    with Traffic(emu, app, v1["url"]):  # production's page, once it is v2
        result = app.run_cli(
            "promote", "--yes", "--json", "--watch", "30s", *FAST, "--rollback-on-failure",
            env=app.env,
        )  # fmt: skip
    data = json.loads(result.stdout)
    assert result.code == 6, result.stderr
    assert data["rolled_back"] is True and data["watch"]["environment"] == "production"
    assert app.live() == {"production": 1, "staging": 2}


def test_the_timeout_covers_the_deploy_and_the_watch(app):
    assert app.deploy()[0].code == 0
    started = time.monotonic()
    result, data = app.deploy("--watch", "5m", *FAST, "--timeout", "4")

    assert result.code == 3, result.stderr
    assert time.monotonic() - started < 4 + 4
    assert "--timeout (4s) ran out while watching v2" in result.stderr
    assert data["exit_code"] == 3 and data["deploy_id"] is None
    assert app.live()["production"] == 2  # left in place


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_ctrl_c_while_watching_leaves_the_version_live(app, cli_env):
    assert app.deploy()[0].code == 0
    (app.root / "index.html").write_text(page(2))
    proc = spawn_cli(
        "deploy", str(app.root), "-m", "r2", "--watch", "5m", *FAST, "--rollback-on-failure",
        env={**cli_env, **app.env},
    )  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("watching v2"):
            break
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)

    assert proc.returncode == 130, err
    assert "stopped watching; the new version stays live" in err
    assert out.strip().startswith("dep_")  # the deploy's id, to follow it
    assert app.live()["production"] == 2


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--rollback-on-failure"], "--rollback-on-failure works with --watch only"),
        (["--watch", "--no-wait"], "--watch needs the deploy followed until it is live"),
        (["--watch", "--dry-run"], "--watch needs the deploy followed until it is live"),
        (["--watch=soon"], "invalid --watch duration"),
        (["--watch", "5x"], "invalid --watch duration '5x'"),
        (["--watch", "5m", "--watch-interval", "0"], "--watch-interval must be above zero"),
    ],
)
def test_watch_flags_that_cannot_be_met_exit_2_before_anything_is_sent(emu, app, flags, message):
    result, data = app.deploy(*flags)
    assert result.code == 2, result.stderr
    assert message in result.stderr and data["exit_code"] == 2
    assert [r for r in calls(emu) if app.app_id in r["path"]] == []


def test_a_bare_watch_takes_the_default_duration() -> None:
    assert with_watch_default(["deploy", "--watch"]) == ["deploy", "--watch", "5m"]
    assert with_watch_default(["deploy", "--watch", "--json"]) == [
        "deploy", "--watch", "5m", "--json"
    ]  # fmt: skip
    assert with_watch_default(["deploy", "--watch", "./app"])[2] == "5m"
    assert with_watch_default(["deploy", "--watch", "90", "."])[2:] == ["90", "."]
    assert with_watch_default(["deploy", "--watch", "5x"]) == ["deploy", "--watch", "5x"]
    assert with_watch_default(["deploy", "--", "--watch"]) == ["deploy", "--", "--watch"]
    assert [parse_duration(t) for t in ("90", "40s", "5m", "1h", "1m30s", "1.5m")] == [
        90, 40, 300, 3600, 90, 90
    ]  # fmt: skip


def test_hooks_install_passes_the_watch_to_each_deploy(run_cli, tmp_path, cli_env):
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=cli_env)
    result = run_cli(
        "hooks", "install", str(repo), "--watch", "--rollback-on-failure", "--json", cwd=repo
    )
    assert result.code == 0, result.stderr
    hook = Path(json.loads(result.stdout)["hook"]).read_text()
    assert "--watch 5m --rollback-on-failure" in hook
    assert json.loads(result.stdout)["watch"] == ["--watch", "5m", "--rollback-on-failure"]
    bad = run_cli("hooks", "install", str(repo), "--max-error-rate", "2", cwd=repo)
    assert bad.code == 2 and "--max-error-rate works with --watch only" in bad.stderr
    assert API_KEY not in hook
