"""`mixpeek login`, `logout` and `whoami`: the stored key, and where each setting comes from."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mixpeek_cli.commands.layer import Result, Run, command
from mixpeek_cli.printable import printable


@command(render=lambda run, stored: stored["path"])
def login(
    run: Run,
    api_key_stdin: Annotated[
        bool,
        typer.Option(
            "--api-key-stdin", help="Read the key from stdin (the default when it is not a TTY)."
        ),
    ] = False,
) -> dict[str, Any]:
    """On a terminal the key is asked for without echo; otherwise it is read from stdin:
    `printenv MIXPEEK_KEY | mixpeek login`.
    """
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
    run.reporter.info(f"API key stored in {path}; it is used when no flag or env var sets one")
    return {"stored": True, "path": str(path)}


@command(render=lambda run, done: done["path"] if done["removed"] else "")
def logout(run: Run) -> dict[str, Any]:
    from mixpeek_cli.config.credentials import credentials_path, remove_key

    path = credentials_path()
    removed = remove_key()
    run.reporter.info(f"removed {path}" if removed else f"no stored key at {path}")
    if os.environ.get("MIXPEEK_API_KEY"):
        run.reporter.warn("MIXPEEK_API_KEY is still set in this environment")
    return {"removed": removed, "path": str(path)}


def _whoami_text(run: Run, summary: dict[str, Any]) -> str:
    def row(name: str, value: str, source: str | None) -> str:
        return f"{name + ':':<13}{value}" + (f" (from {source})" if source != "unset" else "")

    key, app, env = summary["api_key"], summary["app_id"], summary["environment"]
    base_url, namespace = summary["base_url"], summary["namespace"]
    lines = [
        row("api key", "set" if key["set"] else "not set", key["source"]),
        row("app id", app["value"] or "not set", app["source"]),
        row("environment", env["value"], env["source"]),
        row("base url", base_url["value"], base_url["source"]),
        row("namespace", namespace["value"] or "not set", namespace["source"]),
        f"{'login file:':<13}{summary['credentials_file']}",
        f"{'check:':<13}{_check_text(summary['check'])}",
    ]
    return "\n".join(lines)


@command(app=True, environment=True, render=_whoami_text)
def whoami(
    run: Run,
    path: Annotated[
        Path, typer.Argument(help="The app's directory (for its mixpeek.toml).", metavar="PATH")
    ] = Path("."),
    check: Annotated[
        bool,
        typer.Option("--check/--no-check", help="Check the key and app id with the API."),
    ] = True,
) -> Result:
    """Sources: flag, env (the variable's name), mixpeek.toml, user config (mixpeek
    login), default. The key itself is never shown, not even in part. A refused key
    exits 4, another failed check 5.
    """
    from mixpeek_cli.config.credentials import credentials_path
    from mixpeek_cli.deploy.request import check_directory

    settings = run.resolve(check_directory(path))
    src = settings.sources
    verdict, code = _check(run) if check else (_unchecked("--no-check"), 0)
    summary = {
        "api_key": {"set": settings.api_key is not None, "source": src.get("api_key")},
        "app_id": {"value": settings.app_id, "source": src.get("app_id")},
        "environment": {"value": settings.environment, "source": src.get("environment")},
        "base_url": {"value": settings.base_url, "source": src.get("base_url")},
        "namespace": {"value": settings.namespace, "source": src.get("namespace")},
        "credentials_file": str(credentials_path()),
        "check": verdict,
    }
    return Result(summary, code, (f"error: {verdict['error']}",) if code else ())


def _unchecked(why: str) -> dict[str, Any]:
    return {"ok": None, "error": f"not checked: {why}", "slug": None, "urls": None}


def _check(run: Run) -> tuple[dict[str, Any], int]:
    """Ask the API for the app: the verdict for the summary, and the exit code it means."""
    from mixpeek_cli.config.settings import ENVIRONMENTS
    from mixpeek_cli.errors import MixpeekError
    from mixpeek_cli.service.urls import site_url

    settings = run.settings
    if not settings.api_key:
        return _unchecked("no API key"), 0
    if not settings.app_id:
        return _unchecked("no app id"), 0
    _, client = run.client()
    try:
        with client as api:
            found = api.get_app(settings.app_id)
    except MixpeekError as exc:
        # Shown in the summary, not through run_command's failure path: redact it here.
        error = run.output.redact(exc.one_line())
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
