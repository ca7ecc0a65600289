"""Text from the service or the file system never drives the user's terminal (issue 19
row 6), and a slug outside the published pattern never becomes a URL (row 10).

Hostile text is put where the service's words end up (a build log line, a failed
build's reason, a smoke-test error, an error answer, a runtime log entry, an app title, a
version message, a file name) and the CLI is run as a subprocess, into pipes and on a
pseudo-terminal, where rich renders. No control character may come out raw, and the
text around it must still be there, with the controls shown as escapes.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import APP_ID
from hypothesis import given
from hypothesis import strategies as st
from netfaults import forward, relay, serve
from rich.console import Console

from mixpeek_cli.errors import ApiError
from mixpeek_cli.output.console import PlainConsole
from mixpeek_cli.output.display import PlainReporter, RichReporter
from mixpeek_cli.output.runner import Output, _fail
from mixpeek_cli.printable import printable, printable_json
from mixpeek_cli.service.urls import site_url, valid_slug

# A clipboard write (OSC 52), a hyperlink (OSC 8), clear screen, a bare CR and a
# backspace that overwrite, an 8-bit CSI, a right-to-left override, a newline.
HOSTILE = (
    "boom \x1b]52;c;aGk=\x07 \x1b]8;;https://evil.example\x07click\x1b]8;;\x07 "
    "\x1b[2Jcleared \rover\x08 \x9b31m \u202eesrever end"
)
# What must still be read, as escapes, where HOSTILE was shown (an error message is made
# one line with its whitespace, the CR included, collapsed: so not "\\rover").
SHOWN = ("boom", "\\x1b]52;c;aGk=\\x07", "\\x1b[2Jcleared", "over\\x08", "\\x9b31m", "\\u202e")
# Every character class that must never come out raw (the tab is kept, so not listed).
RAW = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
HOSTILE_SLUG = "evil.example/login?x="


def raw_controls(text: str) -> list[str]:
    """The control characters in ``text``, line breaks between lines excepted."""
    return RAW.findall(text.replace("\n", ""))


def assert_shown_not_obeyed(text: str) -> None:
    assert raw_controls(text) == [], repr(text)
    for part in SHOWN:
        assert part in text, (part, text)


def without_rich_styles(text: str) -> str:
    """Terminal output less what rich itself writes: SGR styles, and the live display's
    cursor moves (hide/show cursor, erase line, cursor up), each ending a CSI."""
    return re.sub(r"\x1b\[(?:[0-9;]*[mAK]|\?25[lh])", "", text).replace("\r\n", "\n")


def assert_safe_on_a_terminal(text: str) -> None:
    # rich redraws its live status with a bare CR: the one control it may write itself.
    rest = without_rich_styles(text).replace("\r", "")
    assert raw_controls(rest) == [], repr(rest)
    for part in SHOWN:
        assert part in rest, (part, rest)


# --- the sanitizer ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("char", "shown"),
    [
        ("\x1b", "\\x1b"),
        ("\x07", "\\x07"),
        ("\x00", "\\x00"),
        ("\x08", "\\x08"),
        ("\r", "\\r"),
        ("\n", "\\n"),
        ("\x7f", "\\x7f"),
        ("\x85", "\\x85"),
        ("\x9b", "\\x9b"),
        ("\u202e", "\\u202e"),
        ("\u2066", "\\u2066"),
        ("\u200f", "\\u200f"),
        ("\u2028", "\\u2028"),
        ("\ud800", "\\ud800"),
    ],
)
def test_each_control_character_is_shown_as_an_escape(char, shown):
    assert printable(f"a{char}b") == f"a{shown}b"


def test_colour_codes_are_dropped_and_other_sequences_shown():
    assert printable("\x1b[1;32mok\x1b[0m done") == "ok done"
    # Dropping a colour code cannot assemble a live sequence out of what surrounds it.
    assert printable("\x1b\x1b[0m[2J") == "\\x1b[2J"
    assert printable("\x1b[2J\x1b[H") == "\\x1b[2J\\x1b[H"


def test_ordinary_text_is_left_as_it_is():
    text = "héllo\tworld 日本語 👨\u200d👩\u200d👧 [bold]not markup[/] \\x1b"
    assert printable(text) is text


def test_newlines_are_kept_only_when_asked():
    assert printable("one\ntwo\x1b") == "one\\ntwo\\x1b"
    assert printable("one\ntwo\x1b", keep_newlines=True) == "one\ntwo\\x1b"


@given(st.text())
def test_nothing_raw_survives_and_a_second_pass_changes_nothing(text):
    shown = printable(text)
    assert RAW.search(shown) is None
    assert not re.search("[\ud800-\udfff]", shown)
    shown.encode("utf-8")  # a lone surrogate could not be written to any stream
    assert printable(shown) == shown


def test_json_escapes_c0_itself_but_not_c1_or_bidi():
    """Why --json goes through printable_json: json.dumps leaves these raw."""
    plain = json.dumps({"line": HOSTILE}, ensure_ascii=False)
    assert "\x1b" not in plain
    assert "\x9b" in plain and "\u202e" in plain


@given(st.recursive(st.text(), lambda inner: st.dictionaries(st.text(), inner, max_size=3)))
def test_printable_json_keeps_the_data_and_writes_no_control_raw(data):
    text = printable_json({"value": data})
    assert json.loads(text) == {"value": data}
    assert RAW.search(text) is None
    text.encode("utf-8")


# --- the reporters and consoles -----------------------------------------------------


def rich_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=400, highlight=False, emoji=False), out


def test_the_rich_reporter_shows_server_text_as_text():
    console, out = rich_console()
    reporter = RichReporter(console)
    reporter.log_lines([HOSTILE, "[link=https://evil.example]tag[/link] :smile:"])
    reporter.warn(f"file {HOSTILE}")
    reporter.info(HOSTILE)
    reporter.status(HOSTILE + " [bold]x[/]")
    reporter.close()

    text = out.getvalue()
    assert "\x1b]" not in text  # no OSC at all: no link, no clipboard, not even rich's own
    assert_safe_on_a_terminal(text)
    assert "[link=https://evil.example]tag[/link] :smile:" in text
    assert "[bold]x[/]" in text


def test_the_plain_reporter_and_console_write_no_control_character():
    stream = io.StringIO()
    reporter = PlainReporter(stream)
    reporter.log_lines([HOSTILE])
    reporter.warn(f"skipped {HOSTILE}.js")
    reporter.status("failed", HOSTILE)
    PlainConsole(stream).print(f"[red]error:[/] {HOSTILE}\nsecond line")

    text = stream.getvalue()
    assert_shown_not_obeyed(text)
    assert text.count("\n") == 5  # four reporter lines, and the console's two lines
    assert "\nsecond line\n" in text


@pytest.mark.parametrize("terminal", [True, False], ids=["rich", "plain"])
def test_a_server_error_message_is_rendered_as_text(terminal, capsys):
    out = io.StringIO()
    console = (
        Console(file=out, force_terminal=True, width=400, highlight=False, emoji=False)
        if terminal
        else PlainConsole(out)
    )
    error = ApiError(f"the API answered 400: {HOSTILE}")
    error.deploy_id = "dep_\x1b[2J1"

    code = _fail(Output(verbose=True), console, error)

    assert code == 5
    assert_safe_on_a_terminal(out.getvalue())
    assert capsys.readouterr().out == "dep_\\x1b[2J1\n"


# --- a slug is a host name, or nothing ----------------------------------------------


@pytest.mark.parametrize(
    "slug", ["app-e2e", "a1b", "abc", "x" * 60, "0-0", "my-app-2024", "a--b"], ids=str
)
def test_slugs_of_the_published_pattern_give_a_url(slug):
    assert valid_slug(slug)
    assert site_url("https://api.mixpeek.com", slug, "production") == f"https://{slug}.mxp.co"


@pytest.mark.parametrize(
    "slug",
    [
        HOSTILE_SLUG,
        "ab",
        "x" * 61,
        "-abc",
        "abc-",
        "ABC",
        "a_b",
        "a.b",
        "evil.com#",
        "app\n",
        "app@evil.com",
        "\uff41\uff42\uff43",  # fullwidth letters: not [a-z]
        "",
    ],
    ids=repr,
)
def test_any_other_slug_gives_no_url(slug):
    assert not valid_slug(slug)
    assert site_url("https://api.mixpeek.com", slug, "production") is None
    assert site_url("http://127.0.0.1:8787", slug, "staging") is None


# --- end to end: the CLI as a subprocess -------------------------------------------


def on_a_terminal(
    env: dict[str, str], *args: str, stdout_too: bool = False, cwd: Path | None = None
) -> tuple[int, str, str]:
    """Run the CLI with stderr (and with ``stdout_too``, stdout) on a pseudo-terminal;
    return (code, stdout, terminal output). The terminal is read until the child closes it."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mixpeek_cli", *args],
            # Wide enough that no table cell wraps in the middle of an escape.
            env={**env, "TERM": "xterm-256color", "COLUMNS": "400"},
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=slave if stdout_too else subprocess.PIPE,
            stderr=slave,
        )
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every holder of the terminal has closed it
                break
            if not chunk:
                break
            seen += chunk
        stdout = proc.stdout.read().decode() if proc.stdout else ""
        proc.wait(timeout=60)
    finally:
        os.close(master)
    return proc.returncode, stdout, seen.decode("utf-8", "replace")


def test_a_failed_build_with_control_sequences_is_shown_not_obeyed(
    emu, run_cli, remote_env, app_dir
):
    emu.state.configure(fail_builds_with=HOSTILE)

    result = run_cli("deploy", str(app_dir), "-m", "hostile", env=remote_env)

    assert result.code == 1, result.stderr
    assert raw_controls(result.stdout) == []
    assert_shown_not_obeyed(result.stderr)
    log = [line for line in result.stderr.splitlines() if line.startswith("  | Deploy failed:")]
    error = [line for line in result.stderr.splitlines() if line.startswith("error: deploy")]
    assert len(log) == 1 and len(error) == 1  # one line each: the CR and newline are text
    assert log[0].endswith("\\rover\\x08 \\x9b31m \\u202eesrever end")


def test_json_keeps_the_hostile_text_as_data_with_nothing_raw(emu, run_cli, remote_env, app_dir):
    emu.state.configure(fail_builds_with=HOSTILE)

    result = run_cli("deploy", str(app_dir), "-m", "hostile", "--json", env=remote_env)

    assert result.code == 1, result.stderr
    assert RAW.search(result.stdout.rstrip("\n")) is None
    document = json.loads(result.stdout)
    assert document["error"] == HOSTILE
    assert document["log_tail"][-1] == f"Deploy failed: {HOSTILE}"
    assert_shown_not_obeyed(result.stderr)


def test_a_failed_build_on_a_terminal_is_shown_not_obeyed(emu, cli_env, remote_env, app_dir):
    emu.state.configure(fail_builds_with=HOSTILE)

    code, stdout, terminal = on_a_terminal(
        {**cli_env, **remote_env}, "deploy", str(app_dir), "-m", "hostile"
    )

    assert code == 1, terminal
    assert stdout.startswith("dep_")
    assert "\x1b]" not in terminal
    assert_safe_on_a_terminal(terminal)
    assert "Deploy failed: boom" in terminal


def test_a_replayed_build_log_and_status_are_shown_not_obeyed(emu, run_cli, remote_env, app_dir):
    emu.state.configure(fail_builds_with=HOSTILE)
    deploy_id = run_cli("deploy", str(app_dir), "-m", "hostile", env=remote_env).stdout.strip()
    assert deploy_id.startswith("dep_")

    log = run_cli("deploys", "logs", deploy_id, env=remote_env)
    status = run_cli("deploys", "status", deploy_id, "--json", env=remote_env)

    assert log.code == 0, log.stderr
    assert log.stdout.splitlines()[-1] == f"Deploy failed: {printable(HOSTILE)}"
    assert raw_controls(log.stdout) == [] and raw_controls(log.stderr) == []
    assert status.code == 1, status.stderr  # a failed deploy, as `deploy` exits
    assert RAW.search(status.stdout.rstrip("\n")) is None  # C1 and U+202E as \\uXXXX
    assert json.loads(status.stdout)["error"] == HOSTILE


def test_smoke_test_errors_are_shown_not_obeyed(emu, run_cli, remote_env, app_dir):
    emu.state.configure(smoke_test_errors=[HOSTILE])

    result = run_cli("deploy", str(app_dir), "-m", "smoke", env=remote_env)

    assert result.code == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if "smoke test" in line]
    assert len(warning) == 1 and warning[0].startswith("warning: the smoke test")
    assert_shown_not_obeyed(warning[0])
    assert raw_controls(result.stderr) == []


def error_server(message: str):  # type: ignore[no-untyped-def]
    """An API whose every answer is a 404 ``NotFoundError`` saying ``message``."""

    def handle(request):  # type: ignore[no-untyped-def]
        body = json.dumps(
            {
                "success": False,
                "status": 404,
                "error": {"message": message, "type": "NotFoundError", "details": None},
            }
        ).encode()
        request.send_response(404)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return serve(handle)


def test_a_server_error_message_is_shown_not_obeyed(run_cli, cli_env, remote_env):
    with error_server(HOSTILE) as base:
        env = {**remote_env, "MIXPEEK_BASE_URL": base}
        plain = run_cli("deploys", "status", "dep_1", env=env)
        as_json = run_cli("deploys", "status", "dep_1", "--json", env=env)
        code, _, terminal = on_a_terminal({**cli_env, **env}, "deploys", "status", "dep_1")

    assert plain.code == 5, plain.stderr
    assert_shown_not_obeyed(plain.stderr)
    assert len(plain.stderr.strip().splitlines()) == 1
    assert as_json.code == 5
    assert RAW.search(as_json.stdout.rstrip("\n")) is None
    assert "boom \x1b]52;c;aGk=\x07" in json.loads(as_json.stdout)["error"]
    assert code == 5
    assert_safe_on_a_terminal(terminal)


def test_runtime_log_entries_are_shown_not_obeyed(emu, run_cli, remote_env):
    emu.state.add_runtime_log(APP_ID, "error", HOSTILE, route_path="/api/\x1b]8;;x\x07")

    plain = run_cli("logs", env=remote_env)
    as_json = run_cli("logs", "--json", env=remote_env)

    assert plain.code == 0, plain.stderr
    lines = plain.stdout.splitlines()
    assert len(lines) == 1
    assert_shown_not_obeyed(lines[0])
    assert "[/api/\\x1b]8;;x\\x07]" in lines[0]
    assert as_json.code == 0, as_json.stderr
    assert RAW.search(as_json.stdout.rstrip("\n")) is None
    assert json.loads(as_json.stdout)["entries"][0]["message"] == HOSTILE


def test_version_messages_are_shown_not_obeyed(emu, run_cli, cli_env, remote_env, app_dir):
    # A version keeps its message's first line: a CR would end it.
    message = HOSTILE.replace("\r", "")
    deployed = run_cli("deploy", str(app_dir), "-m", message, env=remote_env)
    assert deployed.code == 0, deployed.stderr

    # The newest only: the session's emulator keeps the versions of earlier tests.
    plain = run_cli("versions", "list", "-n", "1", env=remote_env)
    code, _, terminal = on_a_terminal(
        {**cli_env, **remote_env}, "versions", "list", "-n", "1", stdout_too=True
    )

    assert plain.code == 0, plain.stderr
    assert_shown_not_obeyed(plain.stdout)
    assert len(plain.stdout.splitlines()) == 1  # one version, one line
    assert code == 0, terminal
    assert "\x1b]" not in terminal
    assert_safe_on_a_terminal(terminal)


def test_file_names_are_shown_not_obeyed(run_cli, remote_env, app_dir):
    # "invoice<RLO>gnp.js" reads "invoicesj.png" when the override is obeyed.
    # The largest file: the dry run lists the five largest.
    (app_dir / "invoice\u202egnp.js").write_text("x" * 100_000)

    listed = run_cli("deploy", str(app_dir), "-m", "names", "--dry-run", env=remote_env)

    assert listed.code == 0, listed.stderr
    assert "  invoice\\u202egnp.js\n" in listed.stdout  # the dry run's file list
    assert raw_controls(listed.out_and_err) == []

    # A name with control characters: whether it is left out, refused or shipped, no
    # part of it drives the terminal.
    (app_dir / f"{HOSTILE.replace('/', '_')}.js").write_text("x\n")
    result = run_cli("deploy", str(app_dir), "-m", "names", "--dry-run", env=remote_env)
    assert raw_controls(result.stdout) == [], result.stdout
    assert raw_controls(result.stderr) == [], result.stderr
    assert "\\x1b]52;c;aGk=\\x07" in result.out_and_err


# --- end to end: an unexpected slug -----------------------------------------------


def app_rewriting_proxy(upstream: str, slug: str, title: str):  # type: ignore[no-untyped-def]
    """The emulator behind a proxy that answers every app read with ``slug`` and
    ``title``; everything else goes through untouched."""

    def handle(request):  # type: ignore[no-untyped-def]
        answer = forward(request, upstream)
        path = request.path.split("?", 1)[0]
        if request.command != "GET" or not re.fullmatch(r"/v1/apps(/[^/]+)?", path):
            relay(request, answer)
            return
        data = answer.json()
        for app in data.get("results", [data]):
            app["slug"] = slug
            app["meta"] = {**(app.get("meta") or {}), "title": title}
        body = json.dumps(data).encode()
        request.send_response(answer.status_code)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return serve(handle)


def unexpected_slug_warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "unexpected slug" in line]


def test_apps_list_shows_no_url_for_an_unexpected_slug(emu, run_cli, cli_env, remote_env):
    with app_rewriting_proxy(emu.base_url, HOSTILE_SLUG, HOSTILE) as base:
        env = {**remote_env, "MIXPEEK_BASE_URL": base}
        assert run_cli("deploys", "status", "dep_x", env=env).code != 0  # names app_e2e
        plain = run_cli("apps", "list", env=env)
        as_json = run_cli("apps", "list", "--json", env=env)
        code, _, terminal = on_a_terminal({**cli_env, **env}, "apps", "list", stdout_too=True)

    # The emulator lists every app id named so far in the session: all get the slug.
    assert plain.code == 0, plain.stderr
    rows = {row[0]: row for row in (line.split("\t") for line in plain.stdout.splitlines())}
    row = rows[APP_ID]
    assert row[1] == HOSTILE_SLUG and row[3] == "-"
    assert_shown_not_obeyed(row[2])
    warning = f"warning: the service returned an unexpected slug for app {APP_ID}: no URL is shown"
    assert warning in unexpected_slug_warnings(plain.stderr)
    assert len(unexpected_slug_warnings(plain.stderr)) == len(rows)
    assert "mxp.co" not in plain.out_and_err and "localhost" not in plain.out_and_err
    listed = {app["app_id"]: app for app in json.loads(as_json.stdout)["apps"]}
    assert listed[APP_ID] == {"app_id": APP_ID, "slug": HOSTILE_SLUG, "title": HOSTILE, "url": None}
    assert RAW.search(as_json.stdout.rstrip("\n")) is None
    assert code == 0, terminal
    assert "\x1b]" not in terminal  # the title's OSC 8 link is not made
    assert_safe_on_a_terminal(terminal)
    assert len(unexpected_slug_warnings(terminal)) == len(rows)


def test_open_opens_nothing_for_an_unexpected_slug(emu, run_cli, remote_env, tmp_path):
    opened = tmp_path / "opened"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\necho "$@" >> {opened}\n')
    browser.chmod(0o755)
    display = {"DISPLAY": ":0", "BROWSER": str(browser)}

    with app_rewriting_proxy(emu.base_url, HOSTILE_SLUG, "t") as base:
        env = {**remote_env, "MIXPEEK_BASE_URL": base, **display}
        opening = run_cli("open", env=env)
        printing = run_cli("open", "--print", "--json", env=env)
    # The same browser does open a good slug: the test would see an opened URL.
    good = run_cli("open", env={**remote_env, **display})

    assert opening.code == 5, opening.out_and_err
    assert opening.stdout == ""
    assert unexpected_slug_warnings(opening.stderr) == [
        f"error: the service returned an unexpected slug for app {APP_ID}: no URL is shown"
    ]
    assert printing.code == 5
    assert json.loads(printing.stdout)["exit_code"] == 5
    assert "evil" not in printing.out_and_err
    assert good.code == 0, good.stderr
    assert opened.read_text().split() == [
        "http://app-e2e.localhost:" + emu.base_url.rsplit(":", 1)[1]
    ]


def test_a_deploy_prints_no_url_for_an_unexpected_slug(emu, run_cli, remote_env, app_dir):
    with app_rewriting_proxy(emu.base_url, HOSTILE_SLUG, "t") as base:
        env = {**remote_env, "MIXPEEK_BASE_URL": base}
        plain = run_cli("deploy", str(app_dir), "-m", "slug", env=env)
        as_json = run_cli("deploy", str(app_dir), "-m", "slug json", "--json", env=env)

    assert plain.code == 0, plain.stderr
    done = [line for line in plain.stderr.splitlines() if " complete" in line and "deploy" in line]
    assert done == [f"deploy {plain.stdout.strip()} complete"]  # no ": URL" after it
    assert len(unexpected_slug_warnings(plain.stderr)) == 1
    assert "evil" not in plain.stdout + plain.stderr
    assert as_json.code == 0, as_json.stderr
    assert json.loads(as_json.stdout)["url"] is None
    assert len(unexpected_slug_warnings(as_json.stderr)) == 1


def test_a_download_is_not_named_after_an_unexpected_slug(
    emu, run_cli, remote_env, app_dir, tmp_path
):
    assert run_cli("deploy", str(app_dir), "-m", "v1", env=remote_env).code == 0
    here = tmp_path / "here"
    here.mkdir()

    with app_rewriting_proxy(emu.base_url, "../escaped", "t") as base:
        env = {**remote_env, "MIXPEEK_BASE_URL": base}
        result = run_cli("versions", "download", "1", env=env, cwd=here)

    assert result.code == 0, result.stderr
    assert result.stdout.strip() == f"{APP_ID}-v1.zip"
    assert (here / f"{APP_ID}-v1.zip").is_file()
    assert not (tmp_path / "escaped-v1.zip").exists()
