"""After a deploy: versions, diff, download, rollback, logs, apps, open, link and whoami,
with the real CLI against the emulator."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import API_KEY, read_bundle, spawn_cli

from mixpeek_cli.emulator import Emulator


@dataclass
class History:
    env: dict[str, str]
    app_id: str
    app_dir: Path
    deploys: list[dict]  # type: ignore[type-arg]  # deploy --json of versions 1, 2, 3


def page(version: int) -> str:
    return f"<!doctype html><html><head><title>v{version}</title></head><body>v{version}</body>\n"


def deploy_version(run_cli, env, app_dir: Path, n: int, environment: str = "production"):  # type: ignore[no-untyped-def]
    (app_dir / "index.html").write_text(page(n))
    (app_dir / "main.py").write_text(f"print('version {n}')\n")
    if n == 3:
        (app_dir / "added.txt").write_text("new in three\n")
    result = run_cli(
        "deploy", str(app_dir), "-m", f"release {n}", "-e", environment, "--json", env=env
    )
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def history(emu, run_cli, remote_env, app_dir) -> History:
    """An app of its own with versions 1 and 3 deployed to production, 2 to staging."""
    app_id = f"hist_{uuid.uuid4().hex[:10]}"
    env = {**remote_env, "MIXPEEK_APP_ID": app_id}
    deploys = [
        deploy_version(run_cli, env, app_dir, 1, "production"),
        deploy_version(run_cli, env, app_dir, 2, "staging"),
        deploy_version(run_cli, env, app_dir, 3, "production"),
    ]
    return History(env, app_id, app_dir, deploys)


def site_text(url: str) -> str:
    parts = urlsplit(url)
    answer = httpx.get(f"http://127.0.0.1:{parts.port}/", headers={"Host": parts.netloc})
    return answer.text


def restores(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    return [r for r in emu.state.requests if r["path"].endswith("/restore")]


# -- versions ------------------------------------------------------------------------


def test_versions_list_newest_first_as_json_and_lines(run_cli, history):
    as_json = run_cli("versions", "list", "--json", env=history.env)
    lines = run_cli("versions", "list", env=history.env)
    staging = run_cli("versions", "list", "-e", "staging", "--json", env=history.env)
    one = run_cli("versions", "list", "--limit", "1", "--json", env=history.env)

    assert as_json.code == 0, as_json.stderr
    versions = json.loads(as_json.stdout)["versions"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert [v["message"] for v in versions] == ["release 3", "release 2", "release 1"]
    assert [v["serving"] for v in versions] == [["production"], ["staging"], []]
    # The live VersionRecord (API.md v3) names no deploy: the JSON says so rather than guess.
    assert versions[0]["deploy_id"] is None
    rows = [line.split("\t") for line in lines.stdout.splitlines()]
    assert [(row[0], row[1], row[-1]) for row in rows] == [
        ("3", "production", "release 3"),
        ("2", "staging", "release 2"),
        ("1", "-", "release 1"),
    ]
    assert [v["version"] for v in json.loads(staging.stdout)["versions"]] == [2]
    assert [v["version"] for v in json.loads(one.stdout)["versions"]] == [3]


def test_versions_diff_files_summary_and_source(run_cli, history, tmp_path):
    files = run_cli("versions", "diff", "1..3", env=history.env)
    spaced = run_cli("versions", "diff", "1", "3", env=history.env)
    source = run_cli("versions", "diff", "1..3", "--source", env=history.env)
    as_json = run_cli("versions", "diff", "1..3", "--json", env=history.env)

    assert files.code == 0, files.stderr
    assert files.stdout == spaced.stdout
    lines = files.stdout.splitlines()
    assert lines[0] == "version 1 -> 3"
    assert any(re.match(r"added\s+added\.txt\s+\+13 B$", line) for line in lines), lines
    assert any(re.match(r"modified\s+index\.html\s+", line) for line in lines), lines
    assert re.fullmatch(r"1 added, 0 removed, 2 modified, \d+ unchanged", lines[-1])
    data = json.loads(as_json.stdout)
    assert data["summary"]["added"] == 1 and data["from_version"] == 1
    # The source diff is a patch: it turns version 1's sources into version 3's.
    assert source.stdout.startswith("--- a/")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "main.py").write_text("print('version 1')\n")
    (tmp_path / "tree" / "index.html").write_text(page(1))
    patched = subprocess.run(
        ["patch", "-p1", "--batch"],
        cwd=tmp_path / "tree",
        input=source.stdout,
        text=True,
        capture_output=True,
    )
    assert patched.returncode == 0, patched.stdout + patched.stderr
    assert (tmp_path / "tree" / "main.py").read_text() == "print('version 3')\n"
    assert (tmp_path / "tree" / "added.txt").read_text() == "new in three\n"


def test_bad_version_arguments_exit_2(emu, run_cli, history):
    emu.state.clear_requests()
    for args in (["versions", "diff", "1"], ["versions", "diff", "a..b"], ["rollback", "0"]):
        result = run_cli(*args, env=history.env)
        assert result.code == 2, (args, result.stderr)
    assert emu.state.requests == []
    missing = run_cli("versions", "restore", "99", "--yes", env=history.env)
    assert missing.code == 2 and "has no version 99" in missing.stderr
    assert "mixpeek versions list" in missing.stderr
    # The same for a diff: versions that do not exist are the user's input, not the API's.
    unknown = run_cli("versions", "diff", "99..100", env=history.env)
    assert unknown.code == 2, unknown.stderr
    assert "has no version 99 or 100" in unknown.stderr and "Traceback" not in unknown.stderr
    one_missing = run_cli("versions", "diff", "1..100", "--json", env=history.env)
    assert (
        one_missing.code == 2 and "has no version 100 " in json.loads(one_missing.stdout)["error"]
    )


def test_download_writes_the_version_zip_and_extracts_it(emu, run_cli, history, tmp_path):
    work = tmp_path / "downloads"
    work.mkdir()
    result = run_cli("versions", "download", "2", cwd=work, env=history.env)

    assert result.code == 0, result.stderr
    slug = history.app_id.replace("_", "-")
    path = work / f"{slug}-v2.zip"
    assert result.stdout == f"{path.name}\n"
    deployed = read_bundle(emu, history.deploys[1]["bundle_s3_key"])
    with zipfile.ZipFile(path) as archive:
        assert {n: archive.read(n) for n in archive.namelist()} == deployed

    again = run_cli("versions", "download", "2", cwd=work, env=history.env)
    assert again.code == 2 and "already exists" in again.stderr and "--force" in again.stderr
    forced = run_cli(
        "versions",
        "download",
        "2",
        "--force",
        "--extract",
        "site",
        "--json",
        cwd=work,
        env=history.env,
    )
    assert forced.code == 0, forced.stderr
    assert json.loads(forced.stdout)["extracted_to"] == "site"
    assert (work / "site" / "index.html").read_text() == page(2)


def test_extract_refuses_an_entry_that_escapes(tmp_path):
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.history.download import extract_safely

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("index.html", "ok")
        archive.writestr("../escaped.txt", "no")
    with pytest.raises(UsageError, match="would land outside"):
        extract_safely(evil, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "out").exists()  # checked before anything is written


# -- rollback ------------------------------------------------------------------------


def test_rollback_to_a_version_serves_it(emu, run_cli, history):
    url = history.deploys[0]["url"]
    assert "v3" in site_text(url)

    result = run_cli("rollback", "1", "-e", "production", "--yes", env=history.env)

    assert result.code == 0, result.stderr
    deploy_id = result.stdout.strip()
    assert deploy_id.startswith("dep_")
    assert f"production now serves version 1: {url}" in result.stderr
    assert "  | " in result.stderr  # the restore's log, followed like a deploy
    assert "v1" in site_text(url)
    [restore] = restores(emu)
    assert restore["json"] == {"environment": "production"}
    status = run_cli("deploys", "status", deploy_id, env=history.env)  # the deploy is real
    assert status.stdout == "complete\n"


def test_rollback_without_a_version_takes_the_one_before(emu, run_cli, history):
    result = run_cli("rollback", "-e", "production", "--json", env=history.env)

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    # Version 3 serves production; 2 went to staging, so before it in production was 1.
    assert (data["version"], data["previous_version"], data["status"]) == (1, 3, "complete")
    assert "v1" in site_text(data["url"])
    staging = run_cli("rollback", "-e", "staging", env=history.env)
    assert staging.code == 2
    assert "version 2 is the first deployed to staging" in staging.stderr
    assert "mixpeek rollback VERSION -e staging" in staging.stderr


def test_versions_restore_is_the_same_call(emu, run_cli, history):
    result = run_cli("versions", "restore", "2", "-e", "production", "--no-wait", env=history.env)

    assert result.code == 0, result.stderr
    assert "mixpeek deploys status" in result.stderr
    [restore] = restores(emu)
    assert restore["path"].endswith("/versions/2/restore")


def on_a_terminal(
    args: list[str],
    env: dict[str, str],
    answer: str | None,
    marker: str = "[y/N]",
    cwd: Path | None = None,
) -> tuple[int, str]:
    """Run the CLI with stdin and stdout on a pseudo-terminal; answer its question."""
    import select

    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mixpeek_cli", *args],
        env=env,
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=subprocess.PIPE,
    )
    os.close(slave)
    try:
        assert proc.stderr is not None
        err = b""
        if answer is not None:
            deadline = time.monotonic() + 60
            while marker.encode() not in err:  # a prompt ends without a newline
                assert time.monotonic() < deadline, err
                ready, _, _ = select.select([proc.stderr], [], [], 1)
                if ready:
                    chunk = os.read(proc.stderr.fileno(), 4096)
                    assert chunk, err
                    err += chunk
            os.write(master, (answer + "\n").encode())
        _, rest = proc.communicate(timeout=60)
        return proc.returncode, (err + rest).decode("utf-8", "replace")
    finally:
        proc.kill()
        os.close(master)


def test_rollback_asks_on_a_terminal_and_never_in_ci(emu, cli_env, history):
    env = {**cli_env, **history.env}
    code, stderr = on_a_terminal(["rollback", "1", "-e", "production"], env, answer="n")

    assert code == 0, stderr
    assert "production of " in stderr and "serves version 3" in stderr
    assert 'Serve version 1 ("release 1"' in stderr
    assert "nothing was restored" in stderr
    assert restores(emu) == []

    ci_code, ci_err = on_a_terminal(["rollback", "1", "-e", "production"], {**env, "CI": "1"}, None)
    assert ci_code == 0, ci_err
    assert "[y/N]" not in ci_err
    assert len(restores(emu)) == 1


# -- the running app: logs, apps, open -------------------------------------------------


def test_request_logs_show_the_get_the_test_made(emu, run_cli, history):
    marker = f"/visited-{uuid.uuid4().hex[:8]}"
    url = history.deploys[2]["url"]
    parts = urlsplit(url)
    httpx.get(f"http://127.0.0.1:{parts.port}{marker}", headers={"Host": parts.netloc})

    lines = run_cli("logs", "--type", "requests", env=history.env)
    as_json = run_cli("logs", "--type", "requests", "--since", "2h", "--json", env=history.env)

    assert lines.code == 0, lines.stderr
    [line] = [line for line in lines.stdout.splitlines() if marker in line]
    assert f"GET {marker} 200" in line  # the SPA fallback answered it
    entries = json.loads(as_json.stdout)["entries"]
    assert any(e["path"] == marker and e["status_code"] == 200 for e in entries)


def log_reads(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    return [r for r in emu.state.requests if r["method"] == "GET" and r["path"].endswith("/logs")]


def test_runtime_logs_filter_by_level_and_follow_without_repeats(emu, cli_env, run_cli, history):
    emu.state.add_runtime_log(
        app_id=history.app_id, level="error", message="boom one", route_path="search"
    )
    emu.state.add_runtime_log(
        app_id=history.app_id, level="info", message="just info", route_path="search"
    )
    errors = run_cli("logs", "--level", "error", env=history.env)
    assert errors.code == 0, errors.stderr
    assert "error [search] boom one" in errors.stdout and "just info" not in errors.stdout

    proc = spawn_cli("logs", "--follow", env={**cli_env, **history.env})
    try:
        assert proc.stdout is not None
        first = [proc.stdout.readline(), proc.stdout.readline()]
        emu.state.add_runtime_log(
            app_id=history.app_id, level="warn", message="boom two", route_path="x"
        )
        third = proc.stdout.readline()
        # Two more polls of the window, then stop: nothing may have been printed twice.
        polls = len(log_reads(emu))
        deadline = time.monotonic() + 30
        while len(log_reads(emu)) < polls + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        rest, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "boom one" in first[0] and "just info" in first[1]
    assert "warn [x] boom two" in third
    assert rest == ""
    assert proc.returncode == 0, stderr


def test_bad_log_flags_exit_2(emu, run_cli, history):
    emu.state.clear_requests()
    for args in (
        ["--type", "build"],
        ["--since", "9d"],
        ["--since", "soon"],
        ["--level", "loud"],
        ["--type", "requests", "--level", "error"],
        ["--follow", "--json"],
    ):
        result = run_cli("logs", *args, env=history.env)
        assert result.code == 2, (args, result.stderr)
    assert emu.state.requests == []


def test_apps_list_and_open_print_the_urls(emu, run_cli, history):
    apps = run_cli("apps", "list", "--json", env=history.env)
    lines = run_cli("apps", "list", env=history.env)
    production = run_cli("open", "--print", env=history.env)
    staging = run_cli("open", "-e", "staging", env={**history.env, "DISPLAY": ""})

    assert apps.code == 0, apps.stderr
    [mine] = [a for a in json.loads(apps.stdout)["apps"] if a["app_id"] == history.app_id]
    slug = history.app_id.replace("_", "-")
    port = urlsplit(emu.base_url).port
    assert mine["slug"] == slug and mine["url"] == f"http://{slug}.localhost:{port}"
    assert f"{history.app_id}\t{slug}\t" in lines.stdout
    assert production.stdout == f"http://{slug}.localhost:{port}\n"
    assert staging.stdout == f"http://staging-{slug}.localhost:{port}\n"  # no display: printed


def test_whoami_checks_the_key_and_the_app(emu, run_cli, history):
    good = run_cli("whoami", "--json", env=history.env)
    emu.state.configure(api_keys=["sk_another_key"])
    refused = run_cli("whoami", env=history.env)
    refused_json = run_cli("whoami", "--json", env=history.env)

    assert good.code == 0, good.stderr
    check = json.loads(good.stdout)["check"]
    assert check["ok"] is True and check["slug"] == history.app_id.replace("_", "-")
    assert set(check["urls"]) == {"production", "staging"}
    assert refused.code == 4
    assert "check:       failed: the API refused the request (HTTP 403)" in refused.stdout
    assert refused.stderr.startswith("error: the API refused the request (HTTP 403)")
    assert json.loads(refused_json.stdout)["check"]["ok"] is False
    assert API_KEY not in refused.stdout + refused.stderr


def test_link_without_an_app_id_offers_the_apps_on_a_terminal(
    emu, cli_env, run_cli, history, tmp_path
):
    project = tmp_path / "to-link"
    project.mkdir()
    no_terminal = run_cli("link", cwd=project, env=history.env)
    assert no_terminal.code == 2 and "mixpeek apps list" in no_terminal.stderr

    rows = json.loads(run_cli("apps", "list", "--json", env=history.env).stdout)["apps"]
    number = [r["app_id"] for r in rows].index(history.app_id) + 1
    code, stderr = on_a_terminal(
        ["link"], {**cli_env, **history.env}, str(number), "(number)", cwd=project
    )

    assert code == 0, stderr
    assert f"{number:>3}. {history.app_id}" in stderr
    assert f'app_id = "{history.app_id}"' in (project / "mixpeek.toml").read_text()


# -- every printed hint names a command that runs --------------------------------------


HINT = re.compile(
    r"mixpeek (deploys (?:status|logs) \S+(?: --wait| --follow)?|versions list|apps list"
    r"|rollback VERSION -e \w+)"
)


def test_every_hint_of_these_commands_runs(emu, run_cli, history):
    outputs = [
        run_cli("versions", "restore", "1", "--no-wait", "--yes", env=history.env).stderr,
        run_cli("rollback", "-e", "staging", env=history.env).stderr,
        run_cli("versions", "restore", "99", "--yes", env=history.env).stderr,
        run_cli("link", env=history.env).stderr,
    ]
    hinted = [shlex.split(m) for text in outputs for m in HINT.findall(text)]
    assert {args[0] for args in hinted} >= {"deploys", "versions", "apps", "rollback"}, outputs
    for args in hinted:
        args = ["1" if a == "VERSION" else a for a in args]
        extra = ["--yes"] if args[0] == "rollback" else []
        result = run_cli(*args, *extra, "--json", env=history.env)
        assert result.code == 0, (args, result.stderr)
