"""Version, help, and the stdout/stderr contract of the plainest calls."""

from __future__ import annotations

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
