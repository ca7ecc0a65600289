"""`mixpeek init` and `mixpeek link APP_ID`: write the app id, and how to build, to mixpeek.toml."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mixpeek_cli.commands import options
from mixpeek_cli.commands.layer import Run, command
from mixpeek_cli.printable import printable

if TYPE_CHECKING:
    from mixpeek_cli.config.frontends import Frontend
    from mixpeek_cli.output.reporter import Reporter

ProjectDir = Annotated[
    Path, typer.Argument(help="The app's directory (where mixpeek.toml goes).", metavar="PATH")
]


def _validate(root: Path, app_id: str, environment: str | None) -> None:
    from mixpeek_cli.config.settings import resolve_settings

    # The same checks a deploy applies, so a file init writes is one deploy accepts.
    resolve_settings(root=root, env={}, app_id=app_id, environment=environment)


BuildCommand = Annotated[
    str | None,
    typer.Option(
        "--build-command",
        help='Written as build_command: run in PATH before bundling ("" for none) '
        "[default: detected].",
        show_default=False,
    ),
]
OutputDir = Annotated[
    str | None,
    typer.Option(
        "--output-dir",
        help="Written as output_dir: the directory, relative to PATH, whose contents "
        "are the bundle [default: detected].",
        show_default=False,
    ),
]
NoDetect = Annotated[
    bool,
    typer.Option(
        "--no-detect",
        help="Do not detect the frontend (package.json, index.html); write only what is given.",
    ),
]


def _check_output_dir(value: str) -> None:
    from pathlib import PurePosixPath, PureWindowsPath

    from mixpeek_cli.errors import UsageError

    posix = PurePosixPath(value.replace("\\", "/"))
    if posix.is_absolute() or PureWindowsPath(value).drive or ".." in posix.parts:
        raise UsageError(
            f"invalid output directory {value!r}: it must be inside the app's directory",
            hint="give it relative to PATH, e.g. --output-dir dist",
        )


def _describe(values: dict[str, str]) -> str:
    return " and ".join(f"{key} = {value!r}" for key, value in values.items())


def _explicit_keys(
    given: dict[str, str | None], existing: dict[str, Any], reporter: Reporter
) -> dict[str, str]:
    """The --build-command and --output-dir to write: as given, an empty one none."""
    from mixpeek_cli.config.settings import PROJECT_FILE

    keys: dict[str, str] = {}
    for key, value in given.items():
        if value is None:
            continue
        if value.strip():
            if key == "output_dir":
                _check_output_dir(value)
            keys[key] = value
        elif key in existing:
            reporter.warn(
                f"{PROJECT_FILE} already sets {key} = {existing[key]!r} and init keeps it: "
                f"delete that line for no {key}"
            )
    return keys


def _detected_keys(
    frontend: Frontend | None,
    given: dict[str, str | None],
    existing: dict[str, Any],
    reporter: Reporter,
) -> dict[str, str]:
    """What detection would write: never a key given as a flag or already in the file."""
    from mixpeek_cli.config.settings import PROJECT_FILE

    if frontend is None:
        if any(value is None for value in given.values()):
            reporter.info(
                "no frontend detected: if the app needs a build, pass --build-command "
                "and --output-dir"
            )
        return {}
    reporter.info(f"detected {frontend.name}: {frontend.reason}")
    if frontend.note:
        reporter.warn(f"{frontend.name}: {frontend.note}")
    found = {"build_command": frontend.build_command, "output_dir": frontend.output_dir}
    if not any(found.values()):
        reporter.info("nothing to build: the directory ships as it is")
    # What `mixpeek dev` starts and proxies pages to (it adds the framework's port flags).
    found["dev_command"] = frontend.dev_command
    keys: dict[str, str] = {}
    for key, value in found.items():
        if value is None or given.get(key) is not None:
            continue
        if key in existing:
            reporter.info(
                f"keeping {key} = {existing[key]!r} from {PROJECT_FILE} (detected {value!r})"
            )
        else:
            keys[key] = value
    return keys


@command(render=lambda run, written: written["path"])
def init(
    run: Run,
    path: ProjectDir = Path("."),
    app: options.AppId = None,
    environment: options.Environment = None,
    build_command: BuildCommand = None,
    output_dir: OutputDir = None,
    no_detect: NoDetect = False,
    yes: Annotated[
        bool,
        typer.Option("-y", "--yes", help="Ask nothing; take flags, then what is detected."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the app id of an existing mixpeek.toml.")
    ] = False,
) -> dict[str, Any]:
    """The build command, output directory and dev command (what mixpeek dev starts) are
    detected from PATH's package.json (Next.js static export, Astro, SvelteKit, Vue CLI,
    Create React App, Vite) or its index.html (plain HTML: nothing to build). On a
    terminal it asks for the app id and environment and before writing what it detected;
    elsewhere, or with --yes, it asks nothing and writes the flags and what it detected.
    --build-command and --output-dir win over detection, and detection never replaces a
    value mixpeek.toml already holds.
    """
    from mixpeek_cli.config.frontends import detect_frontend
    from mixpeek_cli.config.project_file import set_keys
    from mixpeek_cli.config.settings import DEFAULT_ENVIRONMENT, PROJECT_FILE, read_project_file
    from mixpeek_cli.deploy.request import check_directory
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.output.runner import can_prompt

    reporter = run.reporter
    root = check_directory(path)
    existing = read_project_file(root)
    if existing.get("app_id") and not force:
        raise UsageError(
            f"{root / PROJECT_FILE} already names app {existing['app_id']!r}",
            hint="change it with mixpeek link APP_ID, or pass --force",
        )
    ask = can_prompt() and not yes
    app_id = app
    if app_id is None and ask:
        app_id = typer.prompt("App id (from the Mixpeek dashboard)", err=True).strip()
    if not app_id:
        raise UsageError(
            "no app id", hint="pass --app APP_ID (nothing is asked without a terminal)"
        )
    chosen_env = environment
    if chosen_env is None and ask:
        chosen_env = typer.prompt(
            "Environment (staging or production)",
            default=existing.get("environment", DEFAULT_ENVIRONMENT),
            err=True,
        ).strip()
    _validate(root, app_id, chosen_env)
    values = {"app_id": app_id}
    if chosen_env:
        values["environment"] = chosen_env
    given = {"build_command": build_command, "output_dir": output_dir}
    values.update(_explicit_keys(given, existing, reporter))
    frontend = None if no_detect else detect_frontend(root)
    detected = {} if no_detect else _detected_keys(frontend, given, existing, reporter)
    if detected and (
        not ask
        or typer.confirm(f"Write {_describe(detected)} to {PROJECT_FILE}?", default=True, err=True)
    ):
        values.update(detected)
    written = set_keys(root, values)
    for key, old in written.previous.items():
        reporter.info(f"{key} was {old!r}, now {values[key]!r}")
    reporter.info(f"{'wrote' if written.created else 'updated'} {written.path}")
    return {
        "path": str(written.path),
        "created": written.created,
        "app_id": app_id,
        "environment": chosen_env,
        "build_command": values.get("build_command"),
        "output_dir": values.get("output_dir"),
        "dev_command": values.get("dev_command"),
        "frontend": frontend.name if frontend is not None else None,
    }


@command(remote=True, render=lambda run, written: written["path"])
def link(
    run: Run,
    app_id: Annotated[
        str | None,
        typer.Argument(
            help="The app to deploy PATH to [on a terminal: chosen from your apps].",
            metavar="[APP_ID]",
        ),
    ] = None,
    path: ProjectDir = Path("."),
) -> dict[str, Any]:
    """Without APP_ID (run it in the app's directory), on a terminal, it lists your apps
    (mixpeek apps list) to choose from.
    """
    from mixpeek_cli.commands.linking import link_directory
    from mixpeek_cli.deploy.request import check_directory

    root = check_directory(path)
    return link_directory(run, root, app_id or _pick_app(run))


def _pick_app(run: Run) -> str:
    """Ask which of the key's apps to link (a terminal only)."""
    from mixpeek_cli.commands.apps import fetch_apps
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.output.runner import can_prompt

    if not can_prompt():
        raise UsageError(
            "no APP_ID", hint="pass it: mixpeek link APP_ID (mixpeek apps list shows them)"
        )
    rows = fetch_apps(run)
    if not rows:
        raise UsageError(
            "your key sees no apps yet", hint="create one: mixpeek apps create SLUG --link"
        )
    for number, row in enumerate(rows, start=1):
        title = f" ({row['title']})" if row["title"] and row["title"] != row["app_id"] else ""
        line = f"{number:>3}. {row['app_id']}{title}  {row['url'] or ''}".rstrip()
        typer.echo(printable(line), err=True)  # titles are the server's text
    while True:
        answer = typer.prompt("Link which app? (number)", err=True).strip()
        if answer.isdigit() and 1 <= int(answer) <= len(rows):
            picked = rows[int(answer) - 1]["app_id"]
            assert picked is not None
            return picked
        typer.echo(f"give a number from 1 to {len(rows)}", err=True)
