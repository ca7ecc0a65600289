"""Start-up imports only what it uses: --version, --help and deploy --help load no stage library.

This checks which modules are imported (a correctness property), not how long it takes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mixpeek_cli.emulator import Emulator

# Libraries only a stage (bundle, git, upload, API, emulator, rich output) needs.
HEAVY = (
    "httpx",
    "sse_starlette",
    "boto3",
    "botocore",
    "s3transfer",
    "git",
    "rich",
    "fastapi",
    "starlette",
    "uvicorn",
    "moto",
    "pathspec",
)


# Runs the CLI's real entry point, then writes sys.modules at exit to the file named in
# argv[1]: every module loaded, however it was loaded (importlib.import_module's imports
# escape -X importtime's list). A None entry is an import blocked on purpose, not loaded.
_LIST_MODULES = """
import atexit, sys
out = sys.argv.pop(1)
loaded = lambda: sorted(name for name, module in sys.modules.items() if module is not None)
atexit.register(lambda: open(out, "w").write("\\n".join(loaded())))
sys.argv[0] = "mixpeek"
from mixpeek_cli.entry import main
main()
"""


def imported_modules(*args: str, env: dict[str, str] | None = None, rc: int = 0) -> set[str]:
    with tempfile.TemporaryDirectory() as scratch:
        listing = Path(scratch) / "modules.txt"
        result = subprocess.run(
            [sys.executable, "-c", _LIST_MODULES, str(listing), *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        assert result.returncode == rc, result.stderr
        return set(listing.read_text().split("\n"))


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("deploy", "--help")])
def test_no_heavy_import(args: tuple[str, ...]) -> None:
    modules = imported_modules(*args)
    assert "mixpeek_cli" in modules  # the listing is real: our own package shows up
    loaded = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert loaded == []


def test_version_does_not_load_typer() -> None:
    modules = imported_modules("--version")
    assert not any(m.split(".")[0] in ("typer", "click") for m in modules)


def test_version_output() -> None:
    from mixpeek_cli import __version__

    result = subprocess.run(
        [sys.executable, "-m", "mixpeek_cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout == f"mixpeek-cli {__version__}\n"
    assert result.stderr == ""


def test_the_listing_says_what_each_command_says_of_itself() -> None:
    """The root lists commands from a table, without building them: it must not drift."""
    import inspect

    from mixpeek_cli.cli import COMMANDS, build_command

    for name, (_, _, listed) in COMMANDS.items():
        command = build_command(name)
        own = inspect.cleandoc(command.help or "").split("\n\n")[0]
        assert " ".join(own.split()) == listed, name


def test_help_builds_no_command_and_a_command_only_itself() -> None:
    from mixpeek_cli.cli import COMMANDS

    command_modules = {module for module, _, _ in COMMANDS.values()}
    listing = imported_modules("--help")
    assert not command_modules & listing
    one = imported_modules("logs", "--help")
    assert command_modules & one == {"mixpeek_cli.commands.logs"}
    # pydantic (installed here by the SDK) would cost ~100 ms a command: typer 0.29
    # coerces through it, the typers pyproject.toml allows do not, nor does anything of ours.
    for args in (("--help",), ("logs", "--help"), ("deploy", "--help")):
        assert "pydantic" not in imported_modules(*args), args


def test_an_api_command_loads_httpx_without_its_command_line_client() -> None:
    """httpx imports its own CLI (click, pygments) on import unless told not to."""
    import os

    from mixpeek_cli.errors import ExitCode

    # Nothing listens on port 1: the command fails to connect, after importing httpx
    # (its retries stop at the one-second timeout).
    env = {
        **os.environ,
        "MIXPEEK_BASE_URL": "http://127.0.0.1:1",
        "MIXPEEK_API_KEY": "k",
        "MIXPEEK_APP_ID": "app",
        "MIXPEEK_TIMEOUT": "1",
    }
    modules = imported_modules("versions", "list", env=env, rc=ExitCode.API)
    assert "httpx" in modules  # the command really reached for the network
    assert not {"httpx._main", "pygments", "click"} & modules


def test_a_deploy_that_does_not_wait_loads_no_follow_or_versions_module(
    emu: Emulator, app_dir: Path, cli_env: dict[str, str], remote_env: dict[str, str]
) -> None:
    """--no-wait never follows a build, and no deploy reads the version records."""
    env = {**cli_env, **remote_env}
    follow_only = {
        "mixpeek_cli.deploy.follow",
        "mixpeek_cli.service.log_stream",
        "mixpeek_cli.service.sse",
    }
    no_wait = imported_modules("deploy", str(app_dir), "-m", "m", "--no-wait", env=env)
    assert "mixpeek_cli.deploy.create" in no_wait  # the deploy really was created
    assert not follow_only & no_wait
    assert "mixpeek_cli.service.versions" not in no_wait
    waited = imported_modules("deploy", str(app_dir), "-m", "m", env=env)
    assert follow_only <= waited  # the same listing does show them when a deploy follows
    assert "mixpeek_cli.service.versions" not in waited
