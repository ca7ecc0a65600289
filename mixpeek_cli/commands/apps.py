"""`mixpeek apps list` and `mixpeek open`: the apps the key can see, and where one is served.

Ids, slugs and titles are the service's text: shown through
:func:`~mixpeek_cli.printable.printable`, and in a table as plain text, never as markup.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from mixpeek_cli.commands import options
from mixpeek_cli.commands.common import api_client, key_redactor, remote_settings
from mixpeek_cli.output.runner import Output, run_command
from mixpeek_cli.printable import printable, printable_json

if TYPE_CHECKING:
    from mixpeek_cli.output.console import Console
    from mixpeek_cli.output.reporter import Reporter
    from mixpeek_cli.service.models import AppInfo

apps_app = typer.Typer(help="The apps your key can see.", no_args_is_help=True)
COLUMNS = ("app_id", "slug", "title", "url")


def app_row(app: AppInfo, base_url: str) -> dict[str, str | None]:
    from mixpeek_cli.service.urls import site_url

    return {
        "app_id": app.app_id,
        "slug": app.slug,
        "title": app.title,
        "url": site_url(base_url, app.slug, "production") if app.slug else None,
    }


@apps_app.command("list")
def list_apps(
    api_key: options.ApiKey = None,
    base_url: options.BaseUrl = None,
    namespace: options.Namespace = None,
    timeout: options.Timeout = None,
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """List the apps: id, slug, title and production URL (a table on a terminal)."""
    output = Output(json=json_output, quiet=quiet, verbose=verbose, redact=key_redactor(api_key))

    def body(console: Console, reporter: Reporter) -> int:
        rows = fetch_apps(reporter, output, console, api_key, base_url, namespace, timeout)
        if output.json:
            output.result(printable_json({"apps": rows}))
        elif not rows:
            reporter.info("no apps yet: create one in the Mixpeek dashboard (Canvas)")
        elif sys.stdout.isatty():
            from rich.console import Console as Out
            from rich.table import Table
            from rich.text import Text

            table = Table(box=None, header_style="bold", pad_edge=False)
            for column in ("APP ID", "SLUG", "TITLE", "URL"):
                table.add_column(column)
            for row in rows:
                # Text, not a str: a str cell is read as markup ("[link=...]" makes a link).
                table.add_row(*(Text(cell(row[k])) for k in COLUMNS))
            Out(highlight=False).print(table)
        else:
            output.result("\n".join("\t".join(cell(row[k]) for k in COLUMNS) for row in rows))
        return 0

    raise typer.Exit(run_command(output, body))


def cell(value: str | None) -> str:
    """A value as one table cell: one line, no tab (the plain listing is tab-separated)."""
    return printable(" ".join(value.split())) if value else "-"


def fetch_apps(
    reporter: Reporter,
    output: Output,
    console: Console,
    api_key: str | None,
    base_url: str | None,
    namespace: str | None,
    timeout: float | None = None,
) -> list[dict[str, str | None]]:
    """Every app the key can see, as rows (no app id is needed for this call)."""
    settings = remote_settings(
        reporter,
        app=None,
        api_key=api_key,
        base_url=base_url,
        namespace=namespace,
        timeout=timeout,
    )
    _, client = api_client(settings, output, console, app=False)
    with client as api:
        rows = [app_row(app, settings.base_url) for app in api.list_apps()]
    for row in rows:
        if row["slug"] is not None and row["url"] is None:
            reporter.warn(unexpected_slug(row["app_id"]))
    return rows


def unexpected_slug(app_id: str | None) -> str:
    """The one-line warning (or error) for an app whose slug gives no URL."""
    from mixpeek_cli.service.urls import UNEXPECTED_SLUG

    return UNEXPECTED_SLUG.format(app_id=app_id)


def open_app(
    environment: options.Environment = None,
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the URL instead of opening it.")
    ] = False,
    app: options.AppId = None,
    api_key: options.ApiKey = None,
    base_url: options.BaseUrl = None,
    namespace: options.Namespace = None,
    timeout: options.Timeout = None,
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Open the app's URL in the browser (production, or -e staging); print it when there
    is no display, with --print, or with --json."""
    output = Output(json=json_output, quiet=quiet, verbose=verbose, redact=key_redactor(api_key))

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.errors import ApiError
        from mixpeek_cli.service.urls import site_url

        settings = remote_settings(
            reporter,
            app=app,
            api_key=api_key,
            base_url=base_url,
            namespace=namespace,
            environment=environment,
            timeout=timeout,
        )
        app_id, client = api_client(settings, output, console)
        with client as api:
            slug = api.get_app(app_id).slug
        if slug is None:
            raise ApiError(f"the API's answer for app {app_id} has no slug to build its URL from")
        url = site_url(settings.base_url, slug, settings.environment)
        if url is None:  # nothing to open or print: a URL built from it could lead anywhere
            raise ApiError(unexpected_slug(app_id))
        opened = False
        if not (print_only or output.json) and _has_display():
            import webbrowser

            opened = webbrowser.open(url)
            if opened:
                reporter.info(f"opened {url}")
        if output.json:
            output.result(
                printable_json({"app_id": app_id, "environment": settings.environment, "url": url})
            )
        elif not opened:
            output.result(url)
        return 0

    raise typer.Exit(run_command(output, body))


def _has_display() -> bool:
    """Whether a browser could show anything: a desktop session, or macOS/Windows."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
