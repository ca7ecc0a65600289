"""Version, help, and the stdout/stderr contract of the plainest calls."""

from __future__ import annotations

import json

import pytest

from mixpeek_cli import __version__


def test_version(run_cli):
    result = run_cli("--version")
    assert result.code == 0
    assert result.stdout == f"mixpeek-cli {__version__}\n"


def test_help_lists_the_commands(run_cli):
    result = run_cli("--help")
    assert result.code == 0
    for command in ("deploy", "bundle", "emulator", "deploys"):
        assert command in result.stdout


def test_deploy_help_documents_every_setting(run_cli):
    result = run_cli("deploy", "--help")
    assert result.code == 0
    for flag in (
        "--message",
        "--app",
        "--environment",
        "--api-key",
        "--base-url",
        "--poll-interval",
        "--timeout",
        "--no-wait",
        "--dry-run",
        "--json",
        "--local",
    ):
        assert flag in result.stdout


def test_plain_console_writes_what_rich_would_show() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from rich.markup import escape as rich_escape
    from rich.markup import render

    from mixpeek_cli.output.console import escape, strip_markup

    texts = st.text(alphabet=st.sampled_from(list("ab/[]\\ #@e:1")), max_size=24)

    @settings(max_examples=400, deadline=None)
    @given(text=texts, tag=st.sampled_from(["red", "yellow", "bold", "dim"]))
    def check(text: str, tag: str) -> None:
        assert escape(text) == rich_escape(text)
        markup = f"[{tag}]error:[/] {escape(text)}"
        assert strip_markup(markup) == render(markup, emoji=False).plain

    check()


USAGE_ERROR_KEYS = {"error", "exit_code", "deploy_id", "maybe_created"}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["deploy", "--json", "--mesage", "x"], "No such option: --mesage"),
        (["deploy", "--json", "--timeout", "abc"], "Invalid value for '--timeout'"),
        (["versions", "list", "--nope", "--json"], "No such option: --nope"),
        (["versions", "restore", "--json"], "Missing argument"),
        (["apps", "list", "--json", "extra"], "unexpected extra argument"),
        (["whoami", "--json", "--nope"], "No such option: --nope"),
        (["nope", "--json"], "No such command 'nope'"),
    ],
)
def test_a_usage_error_with_json_is_one_json_document(run_cli, tmp_path, args, says):
    """Scripts parse stdout: a usage error prints the same document as every other failure."""
    result = run_cli(*args, cwd=tmp_path)

    assert result.code == 2
    assert result.stdout.count("\n") == 1  # one document, on one line
    data = json.loads(result.stdout)
    assert set(data) == USAGE_ERROR_KEYS
    assert data["exit_code"] == 2
    assert data["deploy_id"] is None
    assert data["maybe_created"] is False
    assert says in data["error"]
    assert "\n" not in data["error"]
    # People still get the usage and the message on stderr, and no traceback.
    assert result.stderr.startswith("Usage: ")
    assert f"Error: {data['error']}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["deploy", "--mesage", "x"],
        # After "--" a "--json" is an argument, not the flag.
        ["deploy", "--nope", "--", "--json"],
    ],
)
def test_a_usage_error_without_json_prints_nothing_on_stdout(run_cli, tmp_path, args):
    result = run_cli(*args, cwd=tmp_path)

    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Usage: ")
    assert f"Error: No such option: {args[1]}" in result.stderr
