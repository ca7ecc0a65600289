"""`mixpeek apps create/show/rename/delete`, `mixpeek env` and `mixpeek secrets`: the real
CLI as a subprocess against the emulator, as a script or a CI job would run it."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import API_KEY, CliRun
from netfaults import drop, forward, relay, serve
from terminal import run_on_a_terminal

from mixpeek_cli.emulator import Emulator

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hello"
STRIPE = "sk_live_4eC39HqLyjWDarjtT1zdp7dcQxyz"  # a secret's value: never to be seen again
SEARCH = "srch-9f8e7d6c5b4a-private"
PROXY_KEY = "sk_proxyproxyproxyproxyproxy42"


class Cli:
    """The CLI in a directory, with stdin when a test gives one (else none)."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.outputs: list[str] = []

    def __call__(self, *args: str, stdin: str | None = None) -> CliRun:
        proc = subprocess.run(
            [sys.executable, "-m", "mixpeek_cli", *args],
            cwd=self.cwd,
            env=self.env,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.outputs.append(proc.stdout + proc.stderr)
        return CliRun(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "hello"
    shutil.copytree(EXAMPLE, copy)
    return copy


@pytest.fixture
def cli(emu: Emulator, cli_env: dict[str, str], project: Path) -> Cli:
    # No MIXPEEK_APP_ID: the app is the one mixpeek.toml names once `apps create --link` ran.
    env = {
        **cli_env,
        "MIXPEEK_BASE_URL": emu.base_url,
        "MIXPEEK_API_KEY": API_KEY,
        "MIXPEEK_POLL_INTERVAL": "0.1",
    }
    return Cli(env, project)


def new_slug() -> str:
    return f"review-{uuid.uuid4().hex[:8]}"


def page(url: str) -> httpx.Response:
    parts = urlsplit(url)
    return httpx.get(f"http://127.0.0.1:{parts.port}/", headers={"Host": parts.netloc})


def mixpeek_globals(html: str) -> dict[str, Any]:
    found = re.search(r"window\.__MIXPEEK__ = (\{.*?\});</script>", html)
    assert found, html[:300]
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def patches(emu: Emulator) -> list[dict[str, Any]]:
    return [r for r in emu.state.requests if r["method"] == "PATCH"]


def test_a_script_creates_an_app_sets_its_env_and_secrets_deploys_and_deletes_it(
    emu: Emulator, cli: Cli, project: Path
) -> None:
    slug = new_slug()
    created = cli("apps", "create", slug, "--title", "Review app", "--link")
    assert created.code == 0, created.stderr
    app_id = created.stdout.strip()
    assert re.fullmatch(r"app_[0-9a-f]+", app_id)
    assert f"http://{slug}.localhost:" in created.stderr  # the URL on stderr
    assert f'app_id = "{app_id}"' in (project / "mixpeek.toml").read_text()
    assert 'environment = "staging"' in (project / "mixpeek.toml").read_text()  # kept
    [post] = [r for r in emu.state.requests if r["method"] == "POST"]
    assert post["json"] == {"slug": slug, "meta": {"title": "Review app"}}

    assert cli("env", "set", "THEME=dark", "SEARCH_URL=https://search.example/v1").code == 0
    # The proxy's key and the secrets come from stdin, as a CI job gives them.
    proxy = cli("env", "set", "MIXPEEK_API_KEY", stdin=PROXY_KEY + "\n")
    assert proxy.code == 0, proxy.stderr
    assert cli("secrets", "set", "STRIPE_KEY", stdin=STRIPE + "\n").code == 0
    assert cli("secrets", "set", "SEARCH_TOKEN", "-v", stdin=SEARCH).code == 0
    # Each change sends its one map within build_config, nothing else; a secret kept is
    # sent masked, never its value.
    assert [p["json"] for p in patches(emu)] == [
        {
            "build_config": {
                "env_vars": {"THEME": "dark", "SEARCH_URL": "https://search.example/v1"}
            }
        },
        {
            "build_config": {
                "env_vars": {
                    "THEME": "dark",
                    "SEARCH_URL": "https://search.example/v1",
                    "MIXPEEK_API_KEY": PROXY_KEY,
                }
            }
        },
        {"build_config": {"secrets": {"STRIPE_KEY": STRIPE}}},
        {"build_config": {"secrets": {"STRIPE_KEY": "***", "SEARCH_TOKEN": SEARCH}}},
    ]

    deployed = cli("deploy", "-m", "review", "--json")
    assert deployed.code == 0, deployed.stderr
    url = json.loads(deployed.stdout)["url"]
    assert url.startswith(f"http://staging-{slug}.localhost:")
    served = page(url)
    assert served.status_code == 200
    assert mixpeek_globals(served.text) == {
        "THEME": "dark",
        "SEARCH_URL": "https://search.example/v1",
        "apiBaseUrl": "/api",
        "appId": app_id,
        "slug": slug,
        "environment": "staging",
    }

    listed = cli("env", "list")
    assert listed.stdout.splitlines() == [
        "THEME=dark",
        "SEARCH_URL=https://search.example/v1",
        "MIXPEEK_API_KEY=***",
    ]
    shown = cli("apps", "show", "--json")
    assert shown.code == 0, shown.stderr
    summary = json.loads(shown.stdout)
    assert (summary["slug"], summary["env_vars"], summary["secrets"]) == (slug, 3, 2)
    assert summary["live"] == {"production": None, "staging": 1}

    removed = cli("secrets", "rm", "STRIPE_KEY", "--yes")
    assert removed.code == 0, removed.stderr
    assert patches(emu)[-1]["json"] == {"build_config": {"secrets": {"SEARCH_TOKEN": "***"}}}
    assert json.loads(cli("secrets", "list", "--json").stdout)["secrets"] == ["SEARCH_TOKEN"]
    assert emu.state._apps[app_id].secrets == {"SEARCH_TOKEN": SEARCH}  # kept, not "***"

    renamed = cli("apps", "rename", f"{slug}-v2", "--yes")
    assert renamed.code == 0, renamed.stderr
    assert renamed.stdout.strip().startswith(f"http://{slug}-v2.localhost:")
    assert "stops working" in renamed.stderr
    renames = patches(emu)[-2:]
    assert [(r["query"], r["json"]) for r in renames] == [
        ({"dry_run": "true"}, {"slug": f"{slug}-v2"}),
        ({}, {"slug": f"{slug}-v2"}),
    ]
    assert page(url).status_code == 404  # the old URL stops working
    assert page(url.replace(slug, f"{slug}-v2")).status_code == 200

    deleted = cli("apps", "delete", "--yes", "--json")
    assert deleted.code == 0, deleted.stderr
    assert json.loads(deleted.stdout) == {"app_id": app_id, "slug": f"{slug}-v2", "deleted": True}
    again = cli("apps", "create", f"{slug}-v2")
    assert again.code == 0, again.stderr
    assert again.stdout.strip() != app_id

    # The secrets' values were sent once each, in their PATCH, and are in no answer, no
    # page and no output. The proxy key is in the app's answers (an env var, unmasked, as
    # the service answers it) but in no page and no output.
    answers = json.dumps([r.get("response") for r in emu.state.requests])
    for value in (STRIPE, SEARCH, PROXY_KEY):
        assert value not in served.text
        assert not any(value in output for output in cli.outputs)
    assert STRIPE not in answers and SEARCH not in answers


def test_destructive_commands_refuse_without_a_terminal_and_without_yes(
    emu: Emulator, cli: Cli, project: Path
) -> None:
    (project / "vars.env").write_text("A=1\n")
    for args in (
        ("apps", "delete"),
        ("apps", "rename", new_slug()),
        ("env", "rm", "THEME"),
        ("env", "push", "vars.env"),
        ("secrets", "rm", "STRIPE_KEY", "--json"),
    ):
        result = cli(*args)
        assert result.code == 2, (args, result.stderr)
        assert "pass --yes" in result.stderr and len(result.stderr.splitlines()) == 1
        assert emu.state.requests == [], f"{args}: nothing may be sent"
    assert json.loads(result.stdout)["exit_code"] == 2  # --json: one document


def test_a_taken_slug_and_the_plans_limit_are_one_line_each(emu: Emulator, cli: Cli) -> None:
    slug = new_slug()
    assert cli("apps", "create", slug).code == 0

    taken = cli("apps", "create", slug)
    assert taken.code == 5 and taken.stdout == ""
    assert taken.stderr.splitlines() == [
        f"error: the slug '{slug}' is taken: slugs are unique across all of Mixpeek. "
        "pick another slug"
    ]

    emu.state.configure(max_apps=len(emu.state.app_ids()))
    limited = cli("apps", "create", new_slug(), "--json")
    assert limited.code == 5
    [line] = limited.stderr.splitlines()
    count = len(emu.state.app_ids())
    apps = f"{count} app{'s' if count != 1 else ''}"
    assert line == (
        f"error: your plan allows {apps} and you have {count}. "
        "delete one (mixpeek apps delete APP) or upgrade the plan"
    )
    document = json.loads(limited.stdout)
    assert (document["exit_code"], document["code"]) == (5, "app_limit_reached")

    bad = cli("apps", "create", "Not_A_Slug", "--json")
    assert bad.code == 2 and json.loads(bad.stdout)["exit_code"] == 2
    assert len([r for r in emu.state.requests if r["method"] == "POST"]) == 3  # not the bad one


def test_env_values_that_look_secret_are_refused_and_files_go_both_ways(
    emu: Emulator, cli: Cli, project: Path
) -> None:
    app_id = cli("apps", "create", new_slug(), "--link").stdout.strip()
    token = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
    refused = cli("env", "set", f"GH_TOKEN={token}")
    assert refused.code == 2
    assert "this looks like a secret (a GitHub token): use `mixpeek secrets set GH_TOKEN`" in (
        refused.stderr
    )
    assert token not in refused.stderr
    on_argv = cli("env", "set", "MIXPEEK_API_KEY=sk_whatever_it_is_0000000000")
    assert on_argv.code == 2 and "never taken from the command line" in on_argv.stderr
    assert patches(emu) == []
    assert cli("env", "set", f"GH_TOKEN={token}", "--force").code == 0

    (project / "vars.env").write_text('export THEME=light\nGREETING="hello\\nworld"\n')
    pushed = cli("env", "push", "vars.env", "--yes", "--json")
    assert pushed.code == 0, pushed.stderr
    assert "+ THEME=light" in pushed.stderr and "+ GREETING=hello\\nworld" in pushed.stderr
    assert json.loads(pushed.stdout)["added"] == ["THEME", "GREETING"]
    assert patches(emu)[-1]["json"] == {
        "build_config": {
            "env_vars": {"GH_TOKEN": token, "THEME": "light", "GREETING": "hello\nworld"}
        }
    }

    pulled = cli("env", "pull")
    assert pulled.code == 0 and pulled.stdout.strip() == ".env.mixpeek"
    written = project / ".env.mixpeek"
    if os.name == "posix":
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert f'GH_TOKEN="{token}"' in written.read_text()
    assert 'GREETING="hello\\nworld"' in written.read_text()

    removed = cli("env", "rm", "GH_TOKEN", "NOT_SET", "--yes")
    assert removed.code == 0 and "NOT_SET is not set" in removed.stderr
    assert patches(emu)[-1]["json"] == {
        "build_config": {"env_vars": {"THEME": "light", "GREETING": "hello\nworld"}}
    }
    assert app_id


def test_a_change_the_answer_does_not_hold_is_exit_5_naming_what_was_lost(
    emu: Emulator, cli: Cli
) -> None:
    app_id = cli("apps", "create", new_slug(), "--link").stdout.strip()
    assert cli("env", "set", "KEEP=1").code == 0
    # A server that merges otherwise: its answer to the next change has lost KEEP.
    app = emu.state.app(app_id)
    assert app is not None
    merged_otherwise = app.model_dump(mode="json")
    merged_otherwise["build_config"]["env_vars"] = {"NEW": "2"}
    emu.state.add_fault(method="PATCH", path="/v1/apps/", status=200, body=merged_otherwise)

    result = cli("env", "set", "NEW=2", "--json")

    assert result.code == 5
    assert "lost the env var KEEP" in result.stderr and len(result.stderr.splitlines()) == 1
    assert json.loads(result.stdout)["exit_code"] == 5

    # A server whose error echoes the secret sent: the CLI never shows it, in any form.
    echo = {
        "success": False,
        "status": 400,
        "error": {"message": f"cannot store {STRIPE!r} ({json.dumps(STRIPE)})", "type": "X"},
    }
    emu.state.add_fault(method="PATCH", path="/v1/apps/", status=400, body=echo)
    refused = cli("secrets", "set", "STRIPE_KEY", "--json", "-v", stdin=STRIPE)
    assert refused.code == 5
    assert "cannot store" in refused.stderr and STRIPE not in refused.stdout + refused.stderr


def test_a_lost_create_answer_is_settled_by_the_slug_and_never_sent_again(
    emu: Emulator, cli: Cli
) -> None:
    slug = new_slug()

    def handle(request: BaseHTTPRequestHandler) -> None:
        response = forward(request, emu.base_url)  # the emulator makes the app
        if request.command == "POST":
            drop(request)
        else:
            relay(request, response)

    with serve(handle) as proxy:
        cli.env = {**cli.env, "MIXPEEK_BASE_URL": proxy}
        found = cli("apps", "create", slug)

    assert found.code == 0, found.stderr
    assert "the create's answer was lost" in found.stderr
    posts = [r for r in emu.state.requests if r["method"] == "POST"]
    assert len(posts) == 1
    lookup = emu.state.requests[-1]
    assert (lookup["method"], lookup["query"]["slug"]) == ("GET", slug)
    assert found.stdout.strip() == lookup["response"]["results"][0]["app_id"]

    # Refused before it was made (a 502 from a proxy): the lookup finds nothing, exit 5.
    cli.env["MIXPEEK_BASE_URL"] = emu.base_url
    emu.state.add_fault(method="POST", path=r"^/v1/apps$", status=502, times=1)
    lost = cli("apps", "create", new_slug(), "--json")
    assert lost.code == 5
    assert "it was not created. run the command again" in lost.stderr
    assert len([r for r in emu.state.requests if r["method"] == "POST"]) == 2  # one each


def on_a_terminal(cli: Cli, answers: list[str], *args: str) -> tuple[int, str]:
    return run_on_a_terminal(cli.env, answers, *args, cwd=cli.cwd)


@pytest.mark.skipif(os.name != "posix", reason="a pseudo-terminal")
def test_on_a_terminal_it_asks_without_echo_and_for_the_slug(emu: Emulator, cli: Cli) -> None:
    slug = new_slug()
    app_id = cli("apps", "create", slug, "--link").stdout.strip()

    code, stderr = on_a_terminal(cli, [STRIPE], "secrets", "set", "STRIPE_KEY")
    assert code == 0, stderr
    assert "Value of STRIPE_KEY (not shown)" in stderr and STRIPE not in stderr
    assert emu.state._apps[app_id].secrets == {"STRIPE_KEY": STRIPE}

    code, stderr = on_a_terminal(cli, ["n"], "apps", "rename", f"{slug}-new")
    assert code == 0 and "nothing was renamed" in stderr
    assert [p["query"] for p in patches(emu)[1:]] == [{"dry_run": "true"}]  # checked only

    code, stderr = on_a_terminal(cli, ["not-it"], "apps", "delete")
    assert code == 2 and f"Type {slug} to confirm" in stderr and "nothing was deleted" in stderr
    code, stderr = on_a_terminal(cli, [slug], "apps", "delete")
    assert code == 0, stderr
    assert [r["method"] for r in emu.state.requests].count("DELETE") == 1
