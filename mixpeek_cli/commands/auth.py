"""`mixpeek login`, `logout` and `whoami`: the stored key, and where each setting comes from."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mixpeek_cli.commands import options
from mixpeek_cli.commands.common import key_redactor
from mixpeek_cli.output.runner import Output, run_command
from mixpeek_cli.printable import printable

if TYPE_CHECKING:
    from mixpeek_cli.config.settings import Settings
    from mixpeek_cli.output.console import Console
    from mixpeek_cli.output.reporter import Reporter


def login(
    api_key_stdin: Annotated[
        bool,
        typer.Option(
            "--api-key-stdin", help="Read the key from stdin (the default when it is not a TTY)."
        ),
    ] = False,
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Store an API key in your user config dir (file mode 0600), used when no other is set.

    On a terminal the key is asked for without echo; otherwise it is read from stdin:
    `printenv MIXPEEK_KEY | mixpeek login`.
    """
    output = Output(json=json_output, quiet=quiet, verbose=verbose)

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.config.credentials import check_key, store_key
        from mixpeek_cli.errors import UsageError
        from mixpeek_cli.output.runner import can_prompt

        if api_key_stdin or not sys.stdin.isatty():
            # One line: a key piped with a trailing newline must not store the newline.
            raw, source = sys.stdin.readline(), "stdin"
        elif can_prompt():
            raw = typer.prompt("Mixpeek API key", hide_input=True, err=True)
            source = "the prompt"
        else:
            raise UsageError(
                "no terminal to ask for the key on",
                hint="pipe it in: printenv MIXPEEK_API_KEY | mixpeek login --api-key-stdin",
            )
        path = store_key(check_key(raw, source))
        reporter.info(f"API key stored in {path}; it is used when no flag or env var sets one")
        output.emit({"stored": True, "path": str(path)}, str(path))
        return 0

    raise typer.Exit(run_command(output, body))


def logout(
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Remove the key `mixpeek login` stored."""
    output = Output(json=json_output, quiet=quiet, verbose=verbose)

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.config.credentials import credentials_path, remove_key

        path = credentials_path()
        removed = remove_key()
        reporter.info(f"removed {path}" if removed else f"no stored key at {path}")
        if os.environ.get("MIXPEEK_API_KEY"):
            reporter.warn("MIXPEEK_API_KEY is still set in this environment")
        output.emit({"removed": removed, "path": str(path)}, str(path) if removed else "")
        return 0

    raise typer.Exit(run_command(output, body))


def whoami(
    path: Annotated[
        Path, typer.Argument(help="The app's directory (for its mixpeek.toml).", metavar="PATH")
    ] = Path("."),
    app: options.AppId = None,
    environment: options.Environment = None,
    api_key: options.ApiKey = None,
    base_url: options.BaseUrl = None,
    namespace: options.Namespace = None,
    timeout: options.Timeout = None,
    check: Annotated[
        bool,
        typer.Option("--check/--no-check", help="Check the key and app id with the API."),
    ] = True,
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Show the settings a deploy from PATH would use, where each comes from, and whether
    the API takes the key for the app (GET /v1/apps/{app_id}): its slug and URLs.

    Sources: flag, env (the variable's name), mixpeek.toml, user config (mixpeek
    login), default. The key itself is never shown, not even in part. A refused key
    exits 4, another failed check 5.
    """
    output = Output(json=json_output, quiet=quiet, verbose=verbose, redact=key_redactor(api_key))

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.commands.common import remote_settings
        from mixpeek_cli.config.credentials import credentials_path
        from mixpeek_cli.deploy.request import check_directory

        settings = remote_settings(
            reporter,
            app=app,
            api_key=api_key,
            base_url=base_url,
            namespace=namespace,
            environment=environment,
            timeout=timeout,
            root=check_directory(path),
        )
        src = settings.sources
        verdict, code = (
            _check(settings, output, console) if check else (_unchecked("--no-check"), 0)
        )
        summary = {
            "api_key": {"set": settings.api_key is not None, "source": src.get("api_key")},
            "app_id": {"value": settings.app_id, "source": src.get("app_id")},
            "environment": {"value": settings.environment, "source": src.get("environment")},
            "base_url": {"value": settings.base_url, "source": src.get("base_url")},
            "namespace": {"value": settings.namespace, "source": src.get("namespace")},
            "credentials_file": str(credentials_path()),
            "check": verdict,
        }
        if output.json:
            output.result(json.dumps(summary))
        else:
            key_state = "set" if settings.api_key else "not set"
            rows = [
                ("api key", key_state, src.get("api_key")),
                ("app id", settings.app_id or "not set", src.get("app_id")),
                ("environment", settings.environment, src.get("environment")),
                ("base url", settings.base_url, src.get("base_url")),
                ("namespace", settings.namespace or "not set", src.get("namespace")),
            ]
            lines = [
                f"{name + ':':<13}{value}" + (f" (from {source})" if source != "unset" else "")
                for name, value, source in rows
            ]
            lines.append(f"{'login file:':<13}{summary['credentials_file']}")
            lines.append(f"{'check:':<13}{_check_text(verdict)}")
            output.result("\n".join(lines))
        if code:
            console.print(f"error: {verdict['error']}", markup=False, highlight=False)
        return code

    raise typer.Exit(run_command(output, body))


def _unchecked(why: str) -> dict[str, Any]:
    return {"ok": None, "error": f"not checked: {why}", "slug": None, "urls": None}


def _check(settings: Settings, output: Output, console: Console) -> tuple[dict[str, Any], int]:
    """Ask the API for the app: the verdict for the summary, and the exit code it means."""
    from mixpeek_cli.commands.common import api_client
    from mixpeek_cli.config.settings import ENVIRONMENTS
    from mixpeek_cli.errors import MixpeekError
    from mixpeek_cli.service.urls import site_url

    if not settings.api_key:
        return _unchecked("no API key"), 0
    if not settings.app_id:
        return _unchecked("no app id"), 0
    _, client = api_client(settings, output, console)
    try:
        with client as api:
            found = api.get_app(settings.app_id)
    except MixpeekError as exc:
        # Shown in the summary, not through run_command's failure path: redact it here.
        error = output.redact(exc.one_line())
        failed = {"ok": False, "error": error, "slug": None, "urls": None}
        return failed, int(exc.exit_code)
    urls = None
    if found.slug:
        urls = {env: site_url(settings.base_url, found.slug, env) for env in ENVIRONMENTS}
    return {"ok": True, "error": None, "slug": found.slug, "urls": urls}, 0


def _check_text(verdict: dict[str, Any]) -> str:
    if not verdict["ok"]:
        return str(verdict["error"] if verdict["ok"] is None else f"failed: {verdict['error']}")
    # A slug outside the published pattern has no URL (None): only real URLs are listed.
    urls = {env: url for env, url in (verdict["urls"] or {}).items() if url}
    served = ", ".join(f"{url} ({env})" for env, url in urls.items())
    slug = printable(str(verdict["slug"]))
    return f"ok: the key can reach app {slug}" + (f"; {served}" if served else "")
