"""What is live where, `rollback` from it, `versions show` and `promote`: the real CLI
against the emulator, whose apps say what each environment serves (``environments``) and
whose versions say where they are live (``is_active``)."""

from __future__ import annotations

import json
import re
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import API_KEY, calls
from netfaults import drop, forward, relay, serve

from mixpeek_cli.emulator import Emulator

RESTORE_KEYS = {
    "app_id",
    "version",
    "environment",
    "previous_version",
    "deploy_id",
    "status",
    "error",
    "url",
    "timed_out",
    "smoke_test",
    "log_tail",
}


def page(n: int) -> str:
    return f"<!doctype html><html><head><title>v{n}</title></head><body>v{n}</body>\n"


class App:
    """An app of its own, deployed to as a test says."""

    def __init__(self, run_cli: Any, remote_env: dict[str, str], app_dir: Path) -> None:
        self.run_cli = run_cli
        self.app_id = f"live_{uuid.uuid4().hex[:10]}"
        self.env = {**remote_env, "MIXPEEK_APP_ID": self.app_id}
        self.app_dir = app_dir
        self.count = 0

    def deploy(self, environment: str) -> dict[str, Any]:
        self.count += 1
        n = self.count
        (self.app_dir / "index.html").write_text(page(n))
        result = self.cli("deploy", str(self.app_dir), "-m", f"release {n}", "-e", environment)
        assert result.code == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    def cli(self, *args: str, json_output: bool = True) -> Any:
        return self.run_cli(*args, *(["--json"] if json_output else []), env=self.env)


@pytest.fixture
def app(run_cli, remote_env, app_dir) -> App:  # type: ignore[no-untyped-def]
    return App(run_cli, remote_env, app_dir)


def site_text(url: str) -> str:
    parts = urlsplit(url)
    return httpx.get(f"http://127.0.0.1:{parts.port}/", headers={"Host": parts.netloc}).text


def read_app(emu: Emulator, app_id: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    answer = httpx.get(f"{emu.base_url}/v1/apps/{app_id}", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def posts(emu: Emulator, path_end: str) -> list[dict[str, Any]]:
    return [r for r in calls(emu) if r["method"] == "POST" and r["path"].endswith(path_end)]


# -- rollback without a version -------------------------------------------------------


def test_rollback_restores_the_one_before_what_serves_now(emu, app):
    app.deploy("production")  # 1
    app.deploy("staging")  # 2
    app.deploy("production")  # 3
    app.deploy("production")  # 4

    first = app.cli("rollback", "-e", "production", "--yes")
    assert first.code == 0, first.stderr
    done = json.loads(first.stdout)
    assert (done["version"], done["previous_version"], done["status"]) == (3, 4, "complete")
    assert 'from version 4 ("release 4"' in first.stderr
    assert 'to version 3 ("release 3"' in first.stderr

    # Production serves 3 now (an earlier rollback): before 3 in production was 1, not 2.
    second = app.cli("rollback", "-e", "production", "--yes")
    assert second.code == 0, second.stderr
    again = json.loads(second.stdout)
    assert (again["version"], again["previous_version"]) == (1, 3)
    assert set(again) == RESTORE_KEYS
    assert "v1" in site_text(again["url"])
    restores = [r for r in posts(emu, "/restore")]
    assert [r["path"].rsplit("/", 2)[-2] for r in restores] == ["3", "1"]
    assert all(r["json"] == {"environment": "production"} for r in restores)


def test_rollback_of_an_environment_serving_its_first_version_asks_for_one(emu, app):
    app.deploy("production")
    app.deploy("staging")

    result = app.cli("rollback", "-e", "staging", "--yes")

    assert result.code == 2, result.stderr
    assert "version 2 is the first deployed to staging" in result.stderr
    assert json.loads(result.stdout)["exit_code"] == 2
    assert posts(emu, "/restore") == []


# -- versions list / show -------------------------------------------------------------


def test_versions_list_marks_what_each_environment_serves(emu, app):
    app.deploy("production")
    app.deploy("staging")
    app.deploy("production")

    listed = app.cli("versions", "list")
    assert listed.code == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert data["live"] == {"production": 3, "staging": 2}
    assert data["live_from"] == "app"
    assert {v["version"]: v["serving"] for v in data["versions"]} == {
        3: ["production"],
        2: ["staging"],
        1: [],
    }

    lines = app.cli("versions", "list", json_output=False)
    assert lines.code == 0, lines.stderr
    serving = [line.split("\t")[:2] for line in lines.stdout.splitlines()]
    assert serving == [["3", "production"], ["2", "staging"], ["1", "-"]]

    only_staging = app.cli("versions", "list", "-e", "staging")
    assert [v["version"] for v in json.loads(only_staging.stdout)["versions"]] == [2]


def test_versions_show_prints_one_version_and_where_it_is_live(emu, app):
    app.deploy("production")
    app.deploy("staging")

    text = app.cli("versions", "show", "2", "--files", json_output=False)
    assert text.code == 0, text.stderr
    out = text.stdout
    assert out.startswith("version 2\n")
    assert "message:      release 2" in out
    assert "environment:  staging" in out
    assert "live in:      staging" in out
    assert re.search(r"^files: +5 \([\d.]+ KiB\)$", out, re.M), out
    assert re.search(r"^ +\d+ B  index\.html$", out, re.M), out
    assert "source files:" in out and "src/util.py" in out

    shown = app.cli("versions", "show", "1")
    assert shown.code == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert (data["version"], data["live_in"], data["environment"]) == (
        1,
        ["production"],
        "production",
    )
    manifest = data["detail"]["asset_manifest"]
    assert data["file_count"] == len(manifest) >= 2
    assert data["total_bytes"] == sum(entry["size"] for entry in manifest.values())
    assert manifest["index.html"]["size"] == len(page(1))
    assert data["files"] is None  # listed with --files only
    assert "src/util.py" in data["source_files"]
    assert data["detail"]["is_active"] == {"production": True, "staging": False}
    gets = [r["path"] for r in calls(emu) if r["method"] == "GET"]
    assert f"/v1/apps/{app.app_id}/versions/1" in gets

    missing = app.cli("versions", "show", "99")
    assert missing.code == 2, missing.stderr
    assert "has no version 99" in missing.stderr


# -- promote ---------------------------------------------------------------------------


def test_promote_makes_production_serve_stagings_version(emu, app):
    app.deploy("production")  # 1
    staged = app.deploy("staging")  # 2

    result = app.run_cli("promote", "--yes", env=app.env)

    assert result.code == 0, result.stderr
    deploy_id = result.stdout.strip()
    assert deploy_id.startswith("dep_")
    assert 'staging:    version 2 ("release 2"' in result.stderr
    assert 'production: version 1 ("release 1"' in result.stderr
    production_url = read_app(emu, app.app_id)["url"]
    assert f"production now serves version 2: {production_url}" in result.stderr
    assert "v2" in site_text(production_url)
    [promote] = posts(emu, "/promote")
    assert promote["body"] == "" and promote["query"] == {}
    # The app and the version agree on what is live where.
    environments = read_app(emu, app.app_id)["environments"]
    assert environments["production"]["asset_prefix"] == environments["staging"]["asset_prefix"]
    shown = json.loads(app.cli("versions", "show", "2").stdout)
    assert shown["live_in"] == ["production", "staging"]
    assert json.loads(app.cli("versions", "list").stdout)["live"] == {
        "production": 2,
        "staging": 2,
    }
    assert staged["deploy_id"] != deploy_id


def test_promote_json_is_the_restore_document(emu, app):
    app.deploy("staging")

    result = app.cli("promote", "--yes")

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == RESTORE_KEYS
    assert (data["version"], data["environment"], data["status"]) == (1, "production", "complete")
    assert data["previous_version"] is None
    assert data["url"] == read_app(emu, app.app_id)["url"]


def test_promote_with_nothing_on_staging_sends_nothing(emu, app):
    app.deploy("production")

    result = app.cli("promote", "--yes")

    assert result.code == 2, result.stderr
    assert "staging serves nothing" in result.stderr
    assert "mixpeek deploy -e staging" in result.stderr
    assert json.loads(result.stdout)["exit_code"] == 2
    assert posts(emu, "/promote") == []


def test_promote_of_the_version_production_serves_sends_nothing(emu, app):
    app.deploy("staging")
    assert app.cli("promote", "--yes").code == 0

    again = app.cli("promote", "--yes", json_output=False)

    assert again.code == 2, again.stderr
    assert "production already serves version 1, as staging does" in again.stderr
    assert len(posts(emu, "/promote")) == 1


def test_promote_without_a_terminal_needs_yes_and_sends_nothing(emu, app):
    app.deploy("staging")
    emu.state.clear_requests()

    result = app.run_cli("promote", env=app.env)

    assert result.code == 2, result.stderr
    assert "pass --yes" in result.stderr
    assert result.stdout == ""
    assert calls(emu) == []


def test_a_lost_promote_answer_is_not_sent_again(emu, app):
    app.deploy("staging")

    def handle(request: BaseHTTPRequestHandler) -> None:
        response = forward(request, emu.base_url)  # the emulator does the promote
        if request.command == "POST" and request.path.endswith("/promote"):
            drop(request)
        else:
            relay(request, response)

    with serve(handle) as proxy:
        result = app.run_cli(
            "promote", "--yes", "--json", env={**app.env, "MIXPEEK_BASE_URL": proxy}
        )

    assert result.code == 5, result.stderr
    assert "the promote may have been made: check `mixpeek versions list`" in result.stderr
    assert "Traceback" not in result.stderr and API_KEY not in result.out_and_err
    assert json.loads(result.stdout)["maybe_created"] is True
    assert len(posts(emu, "/promote")) == 1, "sent once, never again"


# -- small alignments -----------------------------------------------------------------


def test_an_errors_code_is_shown_beside_its_type_and_in_json(emu, app):
    app.deploy("production")
    body = {
        "success": False,
        "status": 400,
        "error": {"message": "Slow down", "type": "BadRequestError", "code": "too_soon"},
    }
    emu.state.add_fault(method="GET", path="/versions$", status=400, body=body, times=1)

    result = app.cli("versions", "list")

    assert result.code == 5, result.stderr
    assert "Slow down (BadRequestError: too_soon)" in result.stderr
    document = json.loads(result.stdout)
    assert document["code"] == "too_soon"
    assert set(document) == {"error", "exit_code", "deploy_id", "maybe_created", "code"}


def test_apps_list_searches_and_takes_the_apps_url(emu, app):
    app.deploy("production")  # the emulator's app is titled by its id: live_<hex>

    result = app.run_cli("apps", "list", "--search", app.app_id[5:].upper(), "--json", env=app.env)

    assert result.code == 0, result.stderr
    [listed] = [r for r in calls(emu) if r["path"] == "/v1/apps"]
    assert listed["query"]["search"] == app.app_id[5:].upper()
    [row] = json.loads(result.stdout)["apps"]
    assert row["app_id"] == app.app_id
    assert row["url"] == read_app(emu, app.app_id)["url"]


def test_promote_asks_on_a_terminal(emu, cli_env, app):
    from test_history_e2e import on_a_terminal

    app.deploy("production")
    app.deploy("staging")
    env = {**cli_env, **app.env}

    code, stderr = on_a_terminal(["promote"], env, answer="n")

    assert code == 0, stderr
    assert 'staging:    version 2 ("release 2"' in stderr
    assert "Serve version 2 in production? [y/N]" in stderr
    assert "nothing was promoted" in stderr
    assert posts(emu, "/promote") == []

    in_ci, ci_err = on_a_terminal(["promote"], {**env, "CI": "1"}, None)
    assert in_ci == 2, ci_err
    assert "pass --yes" in ci_err and "[y/N]" not in ci_err
    assert posts(emu, "/promote") == []

    code, stderr = on_a_terminal(["promote"], env, answer="y")
    assert code == 0, stderr
    assert "production now serves version 2" in stderr
    assert len(posts(emu, "/promote")) == 1
