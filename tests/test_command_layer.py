"""The command layer (mixpeek_cli/commands/layer.py): a command is a function, its options
and its renderer; the layer adds the shared flags, the settings, the client and the one
error map. A command written here, as `mixpeek domains add` would be, runs as a
subprocess against the emulator."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import API_KEY, APP_ID, calls

from mixpeek_cli.emulator import Emulator

# A command on the layer and nothing else: its function, its one option, its renderer.
_NEW_COMMAND = """
from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from mixpeek_cli.commands.layer import Run, command

app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


@app.callback()
def root() -> None:
    pass


@app.command("show")
@command(app=True, render=lambda run, found: f"{found['app_id']} is served as {found['slug']}")
def show(run: Run, shout: Annotated[bool, typer.Option("--shout")] = False) -> dict[str, Any]:
    \"\"\"Show the app's slug.\"\"\"
    app_id, client = run.client()
    with client as api:
        slug = api.get_app(app_id).slug or ""
    return {"app_id": app_id, "slug": slug.upper() if shout else slug}


sys.argv[0] = "mixpeek"
app()
"""


def run_new(
    cli_env: dict[str, str], *args: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _NEW_COMMAND, "show", *args],
        env={**cli_env, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def app_calls(emu: Emulator) -> list[str]:
    return [c["path"] for c in calls(emu) if c["path"].startswith("/v1/apps/")]


def test_a_new_command_is_a_function_its_options_and_its_renderer(
    emu: Emulator, cli_env: dict[str, str], remote_env: dict[str, str], tmp_path: Path
) -> None:
    people = run_new(cli_env, env=remote_env, cwd=tmp_path)
    assert people.returncode == 0, people.stderr
    assert people.stdout.startswith(f"{APP_ID} is served as ")
    slug = people.stdout.removeprefix(f"{APP_ID} is served as ").strip()
    assert slug

    # --json prints what the function returned, and the command's own option still works.
    scripted = run_new(cli_env, "--json", "--shout", env=remote_env, cwd=tmp_path)
    assert scripted.returncode == 0, scripted.stderr
    assert json.loads(scripted.stdout) == {"app_id": APP_ID, "slug": slug.upper()}


def test_the_layer_resolves_flag_over_env_over_project_file(
    emu: Emulator, cli_env: dict[str, str], remote_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "mixpeek.toml").write_text('app_id = "app_from_toml"\n')
    no_env_app = {k: v for k, v in remote_env.items() if k != "MIXPEEK_APP_ID"}

    assert run_new(cli_env, "--json", env=no_env_app, cwd=tmp_path).returncode == 0
    assert run_new(cli_env, "--json", env=remote_env, cwd=tmp_path).returncode == 0
    flagged = run_new(cli_env, "--json", "-a", "app_from_flag", env=remote_env, cwd=tmp_path)
    assert flagged.returncode == 0, flagged.stderr

    assert app_calls(emu) == [
        "/v1/apps/app_from_toml",
        f"/v1/apps/{APP_ID}",
        "/v1/apps/app_from_flag",
    ]


def test_a_failure_is_one_line_its_exit_code_and_the_json_document_without_the_key(
    emu: Emulator, cli_env: dict[str, str], remote_env: dict[str, str], tmp_path: Path
) -> None:
    emu.state.configure(api_keys=["another-key-entirely-0123456789"])
    env = {k: v for k, v in remote_env.items() if k != "MIXPEEK_API_KEY"}

    failed = run_new(cli_env, "--json", "-v", "--api-key", API_KEY, env=env, cwd=tmp_path)

    assert failed.returncode == 4, failed.stderr  # a refused key: docs/exit-codes.md
    document = json.loads(failed.stdout)
    assert set(document) == {"error", "exit_code", "deploy_id", "maybe_created"}
    assert document["exit_code"] == 4
    assert "Traceback" not in failed.stderr
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert API_KEY not in failed.stdout + failed.stderr
    assert "http: " in failed.stderr  # -v traced the exchange (with the key masked)

    missing = run_new(cli_env, "--json", env=env, cwd=tmp_path)  # no key anywhere
    assert missing.returncode == 2
    assert json.loads(missing.stdout)["exit_code"] == 2


def test_the_client_is_bound_by_the_commands_timeout(
    emu: Emulator, cli_env: dict[str, str], remote_env: dict[str, str], tmp_path: Path
) -> None:
    emu.state.add_fault(method="GET", path=f"/v1/apps/{APP_ID}$", status=None, delay=4)

    started = time.monotonic()
    slow = run_new(cli_env, "--timeout", "1", env=remote_env, cwd=tmp_path)

    assert time.monotonic() - started < 3.5  # it did not wait for the answer
    assert slow.returncode == 5, slow.stderr  # no answer from the API: docs/exit-codes.md
    assert "no answer before --timeout (1s) ran out" in slow.stderr


def test_a_command_cannot_declare_a_shared_flag_itself() -> None:
    from mixpeek_cli.commands.layer import Run, command

    def twice(run: Run, quiet: bool = False) -> int:
        return 0

    with pytest.raises(TypeError, match="quiet"):
        command()(twice)


def test_rollback_is_versions_restore_with_the_version_optional() -> None:
    from mixpeek_cli.cli import build_command

    def options_of(command: object) -> list[tuple[str, ...]]:
        params = getattr(command, "params", [])
        return [(*p.opts, p.help) for p in params if p.param_type_name == "option"]

    rollback = build_command("rollback")
    restore = build_command("versions").commands["restore"]
    assert options_of(rollback) == options_of(restore)
    assert options_of(rollback)  # the comparison compares something
    [optional] = [p for p in rollback.params if p.param_type_name == "argument"]
    [required] = [p for p in restore.params if p.param_type_name == "argument"]
    assert not optional.required and required.required


def test_every_summary_is_written_once() -> None:
    """A command's one-line summary lives in cli.COMMANDS: its docstring says the rest."""
    from mixpeek_cli.cli import COMMANDS, build_command

    for name, (_, _, summary) in COMMANDS.items():
        help_text = " ".join(inspect.cleandoc(build_command(name).help or "").split())
        assert help_text.startswith(summary), name
        assert help_text.count(summary) == 1, name
