"""`mixpeek dev [PATH]`: the app on this machine, shaped like Canvas (docs/dev.md)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mixpeek_cli.commands.layer import Run, command

if TYPE_CHECKING:
    from collections.abc import Callable

    from mixpeek_cli.config.frontends import Frontend
    from mixpeek_cli.config.settings import Settings

Port = Annotated[
    int | None,
    typer.Option(
        "--port",
        help="Serve on this port of localhost (0: any free one) [default: 3000, or the next "
        "free one].",
        show_default=False,
    ),
]
DevCommand = Annotated[
    str | None,
    typer.Option(
        "--dev-command",
        help="Start this and proxy pages to it ('' for none: serve the files) "
        "[mixpeek.toml dev_command].",
        show_default=False,
    ),
]
EnvFile = Annotated[
    Path | None,
    typer.Option(
        "--env-file",
        help="Dotenv file of public values for window.__MIXPEEK__ and ctx.env "
        "[default: PATH/.env.local].",
        show_default=False,
    ),
]
SecretsFile = Annotated[
    Path | None,
    typer.Option(
        "--secrets-file",
        help="Dotenv file of secrets, for ctx.env only [default: PATH/.env.secrets].",
        show_default=False,
    ),
]
Offline = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Call no Mixpeek API: no env vars read from the app, /api answers 503.",
    ),
]


@command(app=True)
def dev(
    run: Run,
    path: Annotated[
        Path, typer.Argument(help="The app's directory.", metavar="PATH", show_default=False)
    ] = Path("."),
    port: Port = None,
    dev_command: DevCommand = None,
    env_file: EnvFile = None,
    secrets_file: SecretsFile = None,
    offline: Offline = False,
) -> int:
    """Pages come from the dev command (dev_command in mixpeek.toml, which mixpeek init
    writes for the frameworks it detects) through a proxy, WebSocket hot reload included,
    or else from the output directory (or PATH) as Canvas serves a deploy; every HTML page
    gets window.__MIXPEEK__ (environment "development"). /functions/<path> runs
    api/<path>.ts or .js in Node, with ctx.env, ctx.kv (kept in PATH/.mixpeek/) and fetch;
    a saved change runs on the next request. /api/* goes to the Mixpeek API with your key
    and namespace added: the browser never sees the key. One line per request on stderr;
    the URL on stdout. Ctrl-C stops everything it started.
    """
    from mixpeek_cli.config.frontends import detect_frontend
    from mixpeek_cli.deploy.request import check_directory
    from mixpeek_cli.runtime.api_forward import ApiTarget
    from mixpeek_cli.runtime.dev_session import DEFAULT_PORT, DevOptions, Started, run_dev

    root = check_directory(path)
    settings = run.resolve(root)
    remote_env, slug = ({}, None) if offline else _remote(run, settings)
    app_id = settings.app_id or ""
    lock = threading.Lock()

    def say(line: str) -> None:  # from the server's, the functions' and the output's threads
        # A function may print ctx.env.MIXPEEK_API_KEY: the key is masked, as everywhere.
        masked = run.output.redact(line)
        with lock:
            run.say(masked)

    def ready(started: Started) -> None:
        run.output.emit(
            {"url": started.url, "port": started.port, "dev_command": started.dev_command},
            started.url,
        )
        say(f"mixpeek dev: {root} at {started.url} ({started.serving}). Press Ctrl-C to stop.")

    frontend = detect_frontend(root)
    chosen = _dev_command(root, dev_command, frontend, run.reporter.info)
    options = DevOptions(
        root=root,
        port=DEFAULT_PORT if port is None else port,
        port_given=port is not None,
        dev_command=chosen,
        frontend=frontend,
        output_dir=settings.output_dir,
        env_file=env_file or root / ".env.local",
        env_file_given=env_file is not None,
        secrets_file=secrets_file or root / ".env.secrets",
        secrets_file_given=secrets_file is not None,
        remote_env=remote_env,
        app_id=app_id,
        slug=slug or app_id,
        api=ApiTarget(settings.base_url, settings.api_key, settings.namespace, offline),
        namespace=settings.namespace,
        quiet=run.output.quiet,
    )
    return run_dev(options, say, ready)


def _dev_command(
    root: Path, flag: str | None, frontend: Frontend | None, tell: Callable[[str], None]
) -> str | None:
    """--dev-command, else mixpeek.toml's dev_command, else the detected frontend's (as a
    deploy builds a detected frontend without a build setting); "": serve the files."""
    from mixpeek_cli.config.settings import PROJECT_FILE, read_project_file
    from mixpeek_cli.errors import UsageError

    if flag is not None:
        return flag.strip() or None
    value = read_project_file(root).get("dev_command")
    if value is None:
        if frontend is None or not frontend.dev_command:
            return None
        tell(
            f"no dev_command set: running {frontend.name}'s `{frontend.dev_command}` "
            f"(mixpeek init writes it to {PROJECT_FILE}; --dev-command '' serves the files)"
        )
        return frontend.dev_command
    if not isinstance(value, str):
        raise UsageError(
            f"{root / PROJECT_FILE}: dev_command must be a string",
            hint='write it in quotes, e.g. dev_command = "npm run dev"',
        )
    return value.strip() or None


def _remote(run: Run, settings: Settings) -> tuple[dict[str, str], str | None]:
    """The app's env vars and slug from the API, when there is an app id and a key;
    ({}, None) otherwise or when the API cannot be read (said, and the run goes on)."""
    from mixpeek_cli.errors import MixpeekError
    from mixpeek_cli.service.build_config import env_vars_of

    if not settings.app_id or not settings.api_key:
        missing = "an app id" if not settings.app_id else "an API key"
        run.reporter.info(f"no {missing}: the app's env vars are not read (local files only)")
        return {}, None
    try:
        with run.api() as (app_id, api):
            info = api.get_app(app_id, quiet=True)
    except MixpeekError as exc:
        run.reporter.warn(
            f"the app's env vars could not be read ({exc.one_line()}): going on without them"
        )
        return {}, None
    return env_vars_of(info), info.slug
