"""Apps made, changed and deleted: ``POST /v1/apps``, ``GET /v1/apps?slug=``, ``PATCH``
and ``DELETE /v1/apps/{app_id}`` (docs/api.md, "Apps made, changed and deleted").

Creating an app is a creating write: its lost answer is never sent again blindly. The
slug is unique across the service, so ``GET /v1/apps?slug=`` tells whether it was made:
found, it is the answer; not found, nothing was made and the failure says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mixpeek_cli.errors import ApiError, MixpeekError
from mixpeek_cli.service.models import AppInfo, parse_app, parse_apps

if TYPE_CHECKING:
    from mixpeek_cli.service.client import ApiClient

APP_MAYBE = "the app may have been created: look for its slug in `mixpeek apps list`"


@dataclass(frozen=True)
class Created:
    app: AppInfo
    # True: the POST's answer was lost and the app was found by its slug afterwards.
    found_after_loss: bool = False


def create_app(api: ApiClient, body: Mapping[str, Any]) -> Created:
    """``POST /v1/apps``; a lost answer is settled by looking the slug up."""
    slug = str(body["slug"])
    try:
        data = api.call("POST", "/v1/apps", json_body=dict(body), creates=APP_MAYBE)
    except MixpeekError as exc:
        if not exc.maybe_created:
            raise
        return _settle(api, slug, exc)
    try:
        return Created(_app_of(data, "create answer"))
    except ApiError as exc:  # made, but its answer is unreadable: as good as lost
        exc.maybe_created = True
        return _settle(api, slug, exc)


def _settle(api: ApiClient, slug: str, lost: MixpeekError) -> Created:
    """The app the lost create made, found by its slug; else a failure saying none was."""
    try:
        found = find_app_by_slug(api, slug)
    except MixpeekError:
        raise lost from None  # cannot tell: its message says how to check
    if found is not None:
        return Created(found, found_after_loss=True)
    raise ApiError(
        f"the answer to POST /v1/apps was lost, and no app has the slug {slug!r}: "
        "it was not created",
        hint="run the command again",
        status_code=getattr(lost, "status_code", None),
    ) from None


def find_app_by_slug(api: ApiClient, slug: str) -> AppInfo | None:
    """The app whose slug is ``slug`` (``GET /v1/apps?slug=``, an exact match), or None."""
    data = api.call("GET", "/v1/apps", params={"slug": slug, "limit": 1})
    return next((app for app in parse_apps(data) if app.slug == slug), None)


def update_app(
    api: ApiClient, app_id: str, body: Mapping[str, Any], *, dry_run: bool = False
) -> AppInfo:
    """``PATCH /v1/apps/{app_id}`` with ``body`` (only the keys to change); ``dry_run``:
    the service only checks it. The same body twice changes nothing more, so a lost
    answer may be sent again."""
    params = {"dry_run": "true"} if dry_run else None
    data = api.call("PATCH", f"/v1/apps/{app_id}", json_body=dict(body), params=params)
    return parse_app(data, app_id=app_id)


def delete_app(api: ApiClient, app_id: str) -> str | None:
    """``DELETE /v1/apps/{app_id}``; the service's message, if any."""
    data = api.call("DELETE", f"/v1/apps/{app_id}")
    message = data.get("message")
    return message if isinstance(message, str) else None


def _app_of(data: dict[str, Any], what: str) -> AppInfo:
    app_id = data.get("app_id")
    if not isinstance(app_id, str) or not app_id:
        raise ApiError(f"the API's {what} has no valid 'app_id'")
    return parse_app(data, app_id=app_id)
