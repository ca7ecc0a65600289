"""Start-up imports only what it uses: --version, --help and deploy --help load no stage library.

This checks which modules are imported (a correctness property), not how long it takes.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

# Libraries only a stage (bundle, git, upload, API, emulator, rich output) needs.
HEAVY = (
    "httpx",
    "httpx_sse",
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


def imported_modules(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mixpeek_cli", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    return names


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
