"""Flags shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

PathArg = Annotated[
    Path,
    # readable=False: our own check says what to do, in one line, with the documented exit code.
    typer.Argument(
        help="Directory of the app to deploy.", metavar="PATH", show_default=True, readable=False
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="API key (prefer MIXPEEK_API_KEY: flags show in `ps`).",
        show_default=False,
    ),
]
BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url", help="API base URL [env MIXPEEK_BASE_URL; default https://api.mixpeek.com]."
    ),
]
AppId = Annotated[
    str | None,
    typer.Option("-a", "--app", help="App id [env MIXPEEK_APP_ID; mixpeek.toml app_id]."),
]
Environment = Annotated[
    str | None,
    typer.Option(
        "-e",
        "--environment",
        help="staging or production [env MIXPEEK_ENVIRONMENT; mixpeek.toml; default production].",
    ),
]
Namespace = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        help="Send X-Namespace on API calls [env MIXPEEK_NAMESPACE; mixpeek.toml namespace].",
    ),
]
PollInterval = Annotated[
    float | None,
    typer.Option(
        "--poll-interval",
        help="First status poll interval, seconds [env MIXPEEK_POLL_INTERVAL; default 1.0].",
    ),
]
Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        help="End the command after this many seconds, every wait included [default 900].",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="Print errors only.")]
Verbose = Annotated[
    bool, typer.Option("-v", "--verbose", help="Show HTTP exchanges and error details.")
]
IncludeSecret = Annotated[
    list[str] | None,
    typer.Option(
        "--include-secret",
        help="Ship this secret-bearing file anyway (repeat per file; it is said in the output).",
        metavar="PATH",
    ),
]
BuildCommand = Annotated[
    str | None,
    typer.Option(
        "--build-command",
        help="Run this in PATH before bundling, e.g. 'npm run build' "
        "[env MIXPEEK_BUILD_COMMAND; mixpeek.toml build_command].",
    ),
]
OutputDir = Annotated[
    str | None,
    typer.Option(
        "--output-dir",
        help="Bundle this directory of PATH (the build output, e.g. dist) "
        "[env MIXPEEK_OUTPUT_DIR; mixpeek.toml output_dir].",
    ),
]
NoBuild = Annotated[bool, typer.Option("--no-build", help="Skip the build command for this run.")]
NoBundleCheck = Annotated[
    bool,
    typer.Option(
        "--no-bundle-check",
        help="Skip the check that the bundle holds an index.html Canvas can serve.",
    ),
]
