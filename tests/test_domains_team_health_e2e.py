"""Domains, git, team and health (issue 22): the real CLI as a subprocess against the
emulator, whose ``/_emulator`` controls settle DNS checks, uninstall the GitHub App,
accept invitations and record errors and vitals; pageviews are pages its sites served."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import git, spawn_cli

from mixpeek_cli.emulator import Emulator
from mixpeek_cli.emulator.sites import app_slug, site_url

TOKEN_IN_REMOTE = "ghp_remote_token_0123456789"


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class App:
    """An app of its own for one test, and the CLI pointed at it."""

    def __init__(self, emu: Emulator, run_cli: Any, remote_env: dict[str, str]) -> None:
        self.emu = emu
        self.run_cli = run_cli
        self.app_id = f"adm_{uuid.uuid4().hex[:10]}"
        self.env = {**remote_env, "MIXPEEK_APP_ID": self.app_id}

    def cli(self, *args: str, cwd: Path | None = None) -> Any:
        return self.run_cli(*args, env=self.env, cwd=cwd)

    def json(self, *args: str, code: int = 0, cwd: Path | None = None) -> dict[str, Any]:
        """The one JSON document ``--json`` prints (errors included), checking the code."""
        result = self.cli(*args, "--json", cwd=cwd)
        assert result.code == code, result.stderr
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    def calls(self, method: str | None = None, tail: str = "") -> list[dict[str, Any]]:
        """This app's API requests (method, path ending), oldest first."""
        return [
            r
            for r in self.emu.state.requests
            if r["path"].startswith(f"/v1/apps/{self.app_id}")
            and r["path"].endswith(tail)
            and (method is None or r["method"] == method)
        ]

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.emu.base_url}/_emulator/apps/{self.app_id}{path}"
        answer = httpx.request(method, url, json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
def app(emu: Emulator, run_cli, remote_env) -> App:  # type: ignore[no-untyped-def]
    return App(emu, run_cli, remote_env)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


# -- domains ------------------------------------------------------------------------------


def test_domains_add_prints_both_records_and_verify_wait_follows_to_live(
    app: App, cli_env: dict[str, str]
) -> None:
    added = app.json("domains", "add", "Shop.Example.com.", "--primary")
    token = added["verification_token"]
    assert added["records"] == [
        {
            "type": "TXT",
            "name": "_mixpeek-verify.shop.example.com",
            "value": f"mixpeek-site-verification={token}",
        },
        {"type": "CNAME", "name": "shop.example.com", "value": f"{app_slug(app.app_id)}.mxp.co"},
    ]
    assert (added["domain"], added["status"], added["is_primary"]) == (
        "shop.example.com",
        "pending",
        True,
    )
    [posted] = app.calls("POST", "/domains")
    assert posted["json"] == {"domain": "shop.example.com", "is_primary": True}

    people = app.cli("domains", "add", "www.example.com")
    assert people.code == 0, people.stderr
    www = json.loads(app.cli("domains", "list", "--json").stdout)["domains"][1]
    assert people.stdout.splitlines() == [
        f"TXT\t_mixpeek-verify.www.example.com\tmixpeek-site-verification={www['verification_token']}",
        f"CNAME\twww.example.com\t{www['cname_target']}",
    ]
    assert "mixpeek domains verify www.example.com --wait" in people.stderr

    # verify --wait follows the status the service reports until the domain is live.
    follower = spawn_cli(
        "domains", "verify", "shop.example.com", "--wait", "--json", env={**cli_env, **app.env}
    )

    def polled_seeing(status: str) -> Callable[[], bool]:
        def seen() -> bool:
            return any(
                d["status"] == status
                for r in app.calls("GET", "/domains")
                for d in (r.get("response") or {}).get("domains", [])
                if d["domain"] == "shop.example.com"
            )

        return seen

    wait_for(polled_seeing("verifying"), "the CLI to poll the verifying domain")
    app.control("POST", "/domains/shop.example.com", {"outcome": "provisioning_tls"})
    wait_for(polled_seeing("provisioning_tls"), "the CLI to poll the verified domain")
    app.control("POST", "/domains/shop.example.com", {"outcome": "active"})
    out, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    done = json.loads(out)
    assert (done["status"], done["live"], done["failed"], done["timed_out"]) == (
        "active",
        True,
        False,
        False,
    )
    assert done["verified_at"] is not None
    assert "every 30 minutes for up to 72 hours" in err
    told = [line for line in err.splitlines() if line.startswith("shop.example.com: ")]
    assert told == [
        "shop.example.com: verifying",
        "shop.example.com: provisioning_tls",
        "shop.example.com: active",
    ]
    assert len(app.calls("POST", "/verify")) == 1


def test_domain_verification_that_gives_up_fails_and_one_that_lasts_times_out(
    app: App, cli_env: dict[str, str]
) -> None:
    for name in ("a.example.com", "b.example.com"):
        assert app.cli("domains", "add", name).code == 0

    follower = spawn_cli("domains", "verify", "a.example.com", "--wait", env={**cli_env, **app.env})
    wait_for(lambda: len(app.calls("GET", "/domains")) >= 1, "the CLI to poll")
    app.control("POST", "/domains/a.example.com", {"outcome": "failed"})
    out, err = follower.communicate(timeout=30)
    assert follower.returncode == 1, err
    assert out == "pending\n"
    assert "stopped checking" in one_error_line(err)

    timed = app.cli("domains", "verify", "b.example.com", "--wait", "--timeout", "1")
    assert timed.code == 3, timed.stderr
    assert timed.stdout == "verifying\n"
    line = one_error_line(timed.stderr)
    assert "still verifying" in line and "72 hours" in line
    assert "mixpeek domains verify b.example.com --wait" in line


def test_domain_errors_are_one_line_and_rm_asks_first(app: App, remote_env) -> None:  # type: ignore[no-untyped-def]
    # Every refused form is checked in process (test_domains_team_health_logic.py).
    refused = app.cli("domains", "add", "https://shop.example.com/")
    assert refused.code == 2
    assert "is not a domain name" in one_error_line(refused.stderr)
    document = app.json("domains", "add", "exa mple.com", code=2)
    assert document["exit_code"] == 2 and "is not a domain name" in document["error"]
    assert app.calls() == []  # nothing was sent

    assert app.cli("domains", "add", "taken.example.com").code == 0
    other = app.run_cli(
        "domains", "add", "taken.example.com", env={**remote_env, "MIXPEEK_APP_ID": "adm_other"}
    )
    assert other.code == 5
    assert "taken.example.com is attached to another app" in one_error_line(other.stderr)

    unknown = app.json("domains", "verify", "nope.example.com", code=5)
    assert "HTTP 404" in unknown["error"] and unknown["code"] == "domain_not_found"

    refused = app.json("domains", "rm", "taken.example.com", code=2)
    assert "asks first" in refused["error"] and "--yes" in refused["error"]
    assert app.calls("DELETE") == []
    removed = app.cli("domains", "rm", "taken.example.com", "--yes")
    assert (removed.code, removed.stdout) == (0, "taken.example.com\n")
    assert [r["path"] for r in app.calls("DELETE")] == [
        f"/v1/apps/{app.app_id}/domains/taken.example.com"
    ]
    assert app.json("domains", "list")["domains"] == []


# -- git ----------------------------------------------------------------------------------


def test_git_connect_from_the_local_repo_status_and_disconnect(
    app: App, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    repo = tmp_path / "site"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "release/2", env=cli_env)
    remote = f"https://ada:{TOKEN_IN_REMOTE}@github.com/acme/site.git"
    git(repo, "remote", "add", "origin", remote, env=cli_env)

    connected = app.cli("git", "connect", cwd=repo)
    assert connected.code == 0, connected.stderr
    assert connected.stdout == "https://github.com/acme/site\n"
    [posted] = app.calls("POST", "/connect-repo")
    assert posted["json"] == {"repo_url": "https://github.com/acme/site", "branch": "release/2"}
    assert "from the local repository's origin" in connected.stderr
    assert TOKEN_IN_REMOTE not in connected.stdout + connected.stderr

    status = app.json("git", "status")
    assert status == {
        "app_id": app.app_id,
        "repo_url": "https://github.com/acme/site",
        "branch": "release/2",
        "connected": True,
    }

    refused = app.cli("git", "disconnect")
    assert refused.code == 2
    assert "asks first" in one_error_line(refused.stderr)
    assert app.calls("DELETE") == []
    done = app.json("git", "disconnect", "--yes")
    assert (done["disconnected"], done["repo_url"]) == (True, "https://github.com/acme/site")
    assert len(app.calls("DELETE", "/connect-repo")) == 1
    assert app.json("git", "status")["connected"] is False


def test_git_connect_without_the_github_app_prints_its_install_url(app: App) -> None:
    app.control("PUT", "/github", {"installed": False})

    document = app.json("git", "connect", "git@github.com:acme/other.git", "-b", "prod", code=5)
    assert (
        document["install_url"]
        == f"https://github.com/apps/mixpeek/installations/new?state={app.app_id}"
    )
    assert document["connected"] is False and document["exit_code"] == 5
    assert document["install_url"] in document["error"]
    [posted] = app.calls("POST", "/connect-repo")
    assert posted["json"] == {"repo_url": "https://github.com/acme/other", "branch": "prod"}
    assert len(app.calls("GET", "/github/install-url")) == 1

    people = app.cli("git", "connect", "https://github.com/acme/other")
    assert people.code == 5
    assert people.stdout == document["install_url"] + "\n"
    assert "GitHub App is not installed" in one_error_line(people.stderr)

    not_github = app.cli("git", "connect", "https://gitlab.com/acme/other")
    assert not_github.code == 2
    assert "not a GitHub repository URL" in one_error_line(not_github.stderr)


# -- team ---------------------------------------------------------------------------------


def test_team_invite_list_role_and_rm(app: App) -> None:
    sent = app.json("team", "invite", "ada@example.com", "--admin")
    assert (sent["email_address"], sent["role"], sent["status"]) == (
        "ada@example.com",
        "org:admin",
        "pending",
    )
    [posted] = app.calls("POST", "/users/invite")
    assert posted["json"] == {"email_address": "ada@example.com", "role": "org:admin"}
    listed = app.json("team", "invitations")["invitations"]
    assert [(i["invitation_id"], i["status"]) for i in listed] == [
        (sent["invitation_id"], "pending")
    ]

    members = app.cli("team", "list")
    assert members.code == 0
    [owner] = members.stdout.splitlines()
    assert owner.split("\t")[1:4] == ["owner@example.com", "App Owner", "admin"]

    joined = app.control("POST", f"/invitations/{sent['invitation_id']}/accept")
    changed = app.json("team", "role", "ADA@example.com", "member")
    assert (changed["user_id"], changed["role"], changed["previous_role"]) == (
        joined["user_id"],
        "org:member",
        "org:admin",
    )
    assert app.calls("PATCH")[0]["json"] == {"role": "org:member"}

    refused = app.cli("team", "rm", "ada@example.com")
    assert refused.code == 2 and "asks first" in one_error_line(refused.stderr)
    unknown = app.json("team", "rm", "nobody@example.com", "--yes", code=2)
    assert "no member of app" in unknown["error"]
    assert app.calls("DELETE") == []
    removed = app.cli("team", "rm", "ada@example.com", "--yes")
    assert (removed.code, removed.stdout) == (0, f"{joined['user_id']}\n")
    assert [r["path"] for r in app.calls("DELETE")] == [
        f"/v1/apps/{app.app_id}/users/{joined['user_id']}"
    ]

    again = app.json("team", "invite", "bob@example.com")
    assert app.calls("POST", "/users/invite")[-1]["json"]["role"] == "org:member"
    revoked = app.cli("team", "invitations", "--revoke", again["invitation_id"])
    assert (revoked.code, revoked.stdout) == (0, f"{again['invitation_id']}\n")
    statuses = {
        i["email_address"]: i["status"] for i in app.json("team", "invitations")["invitations"]
    }
    assert statuses == {"ada@example.com": "accepted", "bob@example.com": "revoked"}

    bad = app.cli("team", "invite", "not-an-email")
    assert bad.code == 2 and "is not an email address" in one_error_line(bad.stderr)
    last = app.cli("team", "role", "owner@example.com", "member")
    assert last.code == 5 and "last_admin" in one_error_line(last.stderr)


# -- health -------------------------------------------------------------------------------


def test_stats_reports_the_pages_served_errors_and_vitals(app: App, emu: Emulator) -> None:
    page = b"<!doctype html><html><head><title>t</title></head><body>hi</body></html>"
    emu.state.sites.publish(app.app_id, "production", {"index.html": page}, deploy_id="dep_stats")
    url = site_url(emu.base_url, app_slug(app.app_id), "production")
    assert url is not None
    host = urlsplit(url).netloc
    with httpx.Client(base_url=f"http://127.0.0.1:{urlsplit(url).port}") as site:
        statuses = [
            site.get(path, headers={"Host": host}).status_code
            for path in ("/", "/about", "/", "/x.png")
        ]
    assert statuses == [200, 200, 200, 404]  # three pages, one missing file
    app.control(
        "POST",
        "/errors",
        {"error_type": "TypeError", "error_message": "x is undefined", "url": "/about"},
    )
    app.control(
        "POST", "/errors", {"error_message": "old", "timestamp": "2020-01-01T00:00:00+00:00"}
    )
    for value in (1200, 2600, 4500):
        app.control("POST", "/vitals", {"metric_name": "LCP", "value": value})
    app.control("POST", "/vitals", {"metric_name": "CLS", "value": 0.3})

    shown = app.json("stats", "--hours", "6")
    assert (shown["hours"], shown["pageviews"], shown["errors"]) == (6, 3, 1)
    assert shown["events"] == 3 + 1 + 4
    assert [b["count"] for b in shown["errors_over_time"]] == [1]
    lcp, cls = shown["vitals"]
    assert (lcp["metric"], lcp["p50"], lcp["p75"], lcp["p95"], lcp["samples"]) == (
        "LCP",
        2600,
        4500,
        4500,
        3,
    )
    assert lcp["rating"] == {"p50": "needs-improvement", "p75": "poor", "p95": "poor"}
    assert cls["rating"]["p75"] == "poor"
    assert shown["recent_errors"] == [
        {
            "timestamp": shown["recent_errors"][0]["timestamp"],
            "error_type": "TypeError",
            "error_message": "x is undefined",
            "url": "/about",
        }
    ]
    assert shown["error_rate"] == {"minutes": 5, "errors": 1, "per_minute": 0.2}
    assert [r["query"] for r in app.calls("GET", "/analytics")] == [{"hours": "6"}]
    assert [r["query"] for r in app.calls("GET", "/error-rate")] == [{"minutes": "5"}]

    plain = app.cli("stats")
    assert plain.code == 0, plain.stderr
    assert "pageviews\t3" in plain.stdout.splitlines()
    assert (
        "vital\tLCP\tp50 2.60 s (needs-improvement)\tp75 4.50 s (poor)\tp95 4.50 s (poor)"
        "\tsamples 3" in plain.stdout
    )

    too_far = app.cli("stats", "--hours", "721")
    assert too_far.code == 2


def test_a_deleted_apps_domain_is_free_for_another_app(app: App, emu: Emulator) -> None:
    headers = {"Authorization": "Bearer k"}
    with httpx.Client(base_url=emu.base_url, headers=headers, timeout=30) as api:
        body = {"domain": "moving.example.com", "is_primary": False}
        assert api.post(f"/v1/apps/{app.app_id}/domains", json=body).status_code == 200
        assert api.delete(f"/v1/apps/{app.app_id}").status_code == 200
        moved = api.post("/v1/apps/adm_heir/domains", json=body)
        assert moved.status_code == 200, moved.text
        assert api.delete("/v1/apps/adm_heir/domains/moving.example.com").status_code == 200
