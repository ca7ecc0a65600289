"""`mixpeek apps list` and `mixpeek open`: the apps the key can see, and where one is served.
The group's other commands (create, delete, rename, show) are in app_admin.py and
app_show.py, registered here.

Ids, slugs and titles are the service's text: shown through
:func:`~mixpeek_cli.printable.printable`, and in a table as plain text, never as markup.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mixpeek_cli.commands import app_admin, app_show
from mixpeek_cli.commands.layer import Run, command

if TYPE_CHECKING:
    from mixpeek_cli.service.models import AppInfo

apps_app = typer.Typer(no_args_is_help=True)
COLUMNS = ("app_id", "slug", "title", "url")


def app_row(app: AppInfo, base_url: str) -> dict[str, str | None]:
    from mixpeek_cli.service.urls import app_site_url

    return {
        "app_id": app.app_id,
        "slug": app.slug,
        "title": app.title,
        # The app's own url when trustworthy, else built from the slug (service/urls.py).
        "url": app_site_url(base_url, app.slug, app.url, "production"),
    }


def _show_apps(run: Run, listed: dict[str, Any]) -> str | None:
    rows = [[app[k] for k in COLUMNS] for app in listed["apps"]]
    empty = "no apps yet: create one with `mixpeek apps create SLUG`"
    return run.rows(("APP ID", "SLUG", "TITLE", "URL"), rows, empty=empty)


@apps_app.command("list")
@command(remote=True, render=_show_apps)
def list_apps(
    run: Run,
    search: Annotated[
        str | None,
        typer.Option("--search", help="Only apps whose name holds TEXT.", metavar="TEXT"),
    ] = None,
) -> dict[str, Any]:
    """List the apps: id, slug, title and production URL (a table on a terminal)."""
    return {"apps": fetch_apps(run, search=search)}


apps_app.command("create")(app_admin.create)
apps_app.command("show")(app_show.show)
apps_app.command("rename")(app_admin.rename)
apps_app.command("delete")(app_admin.delete)


def fetch_apps(run: Run, *, search: str | None = None) -> list[dict[str, str | None]]:
    """Every app the key can see (``search``: whose name holds it), as rows (no app id is
    needed for this call)."""
    with run.api(app=False) as (_, api):
        rows = [app_row(app, run.settings.base_url) for app in api.list_apps(search=search)]
    for row in rows:
        if row["slug"] is not None and row["url"] is None:
            run.reporter.warn(unexpected_slug(row["app_id"]))
    return rows


def unexpected_slug(app_id: str | None) -> str:
    """The one-line warning (or error) for an app whose slug gives no URL."""
    from mixpeek_cli.service.urls import UNEXPECTED_SLUG

    return UNEXPECTED_SLUG.format(app_id=app_id)


@command(app=True, environment=True, render=lambda run, opened: opened["url"])
def open_app(
    run: Run,
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the URL instead of opening it.")
    ] = False,
) -> Any:
    from mixpeek_cli.errors import ApiError
    from mixpeek_cli.service.urls import app_site_url

    with run.api() as (app_id, api):
        app = api.get_app(app_id)
    environment = run.settings.environment
    url = app_site_url(run.settings.base_url, app.slug, app.url, environment)
    if url is None and app.slug is None:
        raise ApiError(f"the API's answer for app {app_id} has no slug to build its URL from")
    if url is None:  # nothing to open or print: a URL built from it could lead anywhere
        raise ApiError(unexpected_slug(app_id))
    if not (print_only or run.output.json) and _has_display():
        import webbrowser

        if webbrowser.open(url):
            run.reporter.info(f"opened {url}")
            return 0
    return {"app_id": app_id, "environment": environment, "url": url}


def _has_display() -> bool:
    """Whether a browser could show anything: a desktop session, or macOS/Windows."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
