"""`mixpeek apps create`, `delete` and `rename`: making, removing and renaming an app
(registered on the ``apps`` group by commands/apps.py; `apps show` is app_show.py).

The slug is checked against its published pattern before anything is sent. Deleting and
renaming are destructive: on a terminal delete asks for the slug to be typed and rename
for a yes; elsewhere they need --yes, and without it nothing is sent (exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mixpeek_cli.commands.confirm import refuse_without_terminal
from mixpeek_cli.commands.layer import Run, command
from mixpeek_cli.printable import printable

if TYPE_CHECKING:
    from mixpeek_cli.service.client import ApiClient

Yes = Annotated[bool, typer.Option("-y", "--yes", help="Do it without asking first.")]
Target = Annotated[
    str | None,
    typer.Argument(
        help="The app's id [default: -a, MIXPEEK_APP_ID, mixpeek.toml].", metavar="[APP]"
    ),
]
SLUG_RULE = "3-60 characters: lower-case letters, digits and hyphens, a letter or digit at each end"


def check_slug(slug: str) -> None:
    """Exit 2, nothing sent, for a slug outside the published pattern."""
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.service.urls import valid_slug

    if not valid_slug(slug):
        raise UsageError(f"invalid slug {slug!r}: {SLUG_RULE}", hint="e.g. my-search-app")


def app_and_client(run: Run, target: str | None) -> tuple[str, ApiClient]:
    """The app named by APP, else by -a / MIXPEEK_APP_ID / mixpeek.toml, and a client."""
    app_id, client = run.client(app=target is None)
    return target or app_id, client


def slug_refusal(exc: Exception, slug: str) -> Exception:
    """A taken slug or the plan's app limit as one clear line; anything else as it is."""
    from mixpeek_cli.errors import ApiError

    if not isinstance(exc, ApiError):
        return exc
    said: tuple[str, str] | None = None
    limit, count = exc.details.get("limit"), exc.details.get("count")
    if exc.status_code == 409:
        said = (
            f"the slug {slug!r} is taken: slugs are unique across all of Mixpeek",
            "pick another slug",
        )
    elif exc.status_code == 400 and isinstance(limit, int) and isinstance(count, int):
        said = (
            f"your plan allows {limit} app{'s' if limit != 1 else ''} and you have {count}",
            "delete one (mixpeek apps delete APP) or upgrade the plan",
        )
    if said is None:
        return exc
    refused = ApiError(
        said[0],
        hint=said[1],
        status_code=exc.status_code,
        error_type=exc.error_type,
        code=exc.code,
        details=exc.details,
    )
    return refused


def _show_created(run: Run, made: dict[str, Any]) -> str:
    return str(made["app_id"])


@command(remote=True, render=_show_created)
def create(
    run: Run,
    slug: Annotated[str, typer.Argument(help=f"The app's slug, its URL's name ({SLUG_RULE}).")],
    title: Annotated[
        str | None, typer.Option("--title", help="The app's title [default: the slug].")
    ] = None,
    link: Annotated[
        bool, typer.Option("--link", help="Write its id to ./mixpeek.toml (as mixpeek link).")
    ] = False,
) -> dict[str, Any]:
    """Create an app: its id on stdout, its URL on stderr.

    SLUG becomes its URL (https://SLUG.mxp.co) and is unique across all of Mixpeek; a
    taken one, or the plan's limit of apps, is one line (exit 5). --link points ./ at it.
    """
    from mixpeek_cli.commands.linking import link_directory
    from mixpeek_cli.deploy.request import check_directory
    from mixpeek_cli.errors import MixpeekError
    from mixpeek_cli.service.app_admin import create_app
    from mixpeek_cli.service.urls import app_site_url

    check_slug(slug)
    root = check_directory(Path(".")) if link else None  # before anything is sent
    body = {"slug": slug, "meta": {"title": title if title is not None else slug}}
    with run.api(app=False) as (_, api):
        try:
            created = create_app(api, body)
        except MixpeekError as exc:
            raise slug_refusal(exc, slug) from None
    app = created.app
    if created.found_after_loss:
        run.reporter.warn(f"the create's answer was lost; app {app.app_id} has the slug {slug}")
    url = app_site_url(run.settings.base_url, app.slug, app.url, "production")
    run.reporter.info(f"created app {app.app_id}: {url or 'no URL (unexpected slug)'}")
    linked = link_directory(run, root, app.app_id)["path"] if root is not None else None
    return {
        "app_id": app.app_id,
        "slug": app.slug,
        "title": app.title,
        "url": url,
        "linked": linked,
    }


@command(remote=True, app=True)
def delete(run: Run, target: Target = None, yes: Yes = False) -> dict[str, Any]:
    """Delete the app, its versions and its sites; its slug is free again at once.

    On a terminal it asks for the app's slug to be typed; elsewhere it needs --yes (else
    exit 2, nothing sent). Its custom domains stop resolving.
    """
    from mixpeek_cli.config.settings import read_project_file
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.service.app_admin import delete_app

    refuse_without_terminal(yes, "delete removes the app, its versions and its sites for good")
    app_id, client = app_and_client(run, target)
    with client as api:
        app = api.get_app(app_id)
        name = app.slug or app_id
        if not yes:
            # Shown as text: the slug is the service's.
            typed = typer.prompt(
                printable(
                    f"This deletes app {app_id} ({name}), its versions and its sites for good."
                )
                + f"\nType {printable(name)} to confirm",
                err=True,
            )
            if typed.strip() != name:
                raise UsageError(f"{typed.strip()!r} is not {name!r}: nothing was deleted")
        delete_app(api, app_id)
    run.reporter.info(f"deleted app {app_id}; the slug {name} is free again")
    if read_project_file(Path(".")).get("app_id") == app_id:
        run.reporter.warn("./mixpeek.toml still names it: link another app (mixpeek link)")
    return {"app_id": app_id, "slug": app.slug, "deleted": True}


@command(remote=True, app=True, render=lambda run, renamed: renamed["url"])
def rename(
    run: Run,
    new_slug: Annotated[str, typer.Argument(help=f"The new slug ({SLUG_RULE}).")],
    yes: Yes = False,
) -> Any:
    """Change the app's slug, and so its URL: the old URL stops working at once.

    The service checks the new slug first (PATCH ?dry_run=true), then it changes. On a
    terminal it asks; elsewhere it needs --yes (else exit 2, nothing sent). Prints the new
    URL.
    """
    from mixpeek_cli.errors import ApiError, MixpeekError, UsageError
    from mixpeek_cli.service.app_admin import update_app
    from mixpeek_cli.service.urls import app_site_url

    check_slug(new_slug)
    refuse_without_terminal(yes, "rename changes the app's URL")
    app_id, client = run.client()
    base = run.settings.base_url
    with client as api:
        app = api.get_app(app_id)
        if app.slug == new_slug:
            raise UsageError(f"the app's slug is {new_slug!r} already: nothing to rename")
        try:
            update_app(api, app_id, {"slug": new_slug}, dry_run=True)
        except MixpeekError as exc:
            raise slug_refusal(exc, new_slug) from None
        old_url = app_site_url(base, app.slug, app.url, "production")
        run.reporter.warn(
            f"the old URL {old_url or app.slug} stops working at once (staging's too): "
            "links and bookmarks to it break"
        )
        asked = printable(f"Rename {app.slug} to {new_slug}?")
        if not yes and not typer.confirm(asked, err=True):
            run.reporter.info("nothing was renamed")
            return 0
        try:
            changed = update_app(api, app_id, {"slug": new_slug})
        except MixpeekError as exc:
            raise slug_refusal(exc, new_slug) from None
    if changed.slug != new_slug:
        raise ApiError(f"the service's answer names the slug {changed.slug!r}, not {new_slug!r}")
    run.reporter.info(f"renamed {app.slug} to {new_slug}")
    return {
        "app_id": app_id,
        "slug": new_slug,
        "previous_slug": app.slug,
        "url": app_site_url(base, new_slug, changed.url, "production"),
    }
