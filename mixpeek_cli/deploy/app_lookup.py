"""Read the app once per deploy, beside the upload, for the URL the deploy is served at.

No deploy answer carries the URL; the app's ``url`` (production, when trustworthy) or its
``slug`` gives it (:mod:`mixpeek_cli.service.urls`).
The read runs on a thread started after the local stages have passed, so it overlaps the
upload instead of adding to it; when it fails, the URL is unknown and the deploy goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from mixpeek_cli.errors import MixpeekError

if TYPE_CHECKING:
    from mixpeek_cli.service.client import ApiClient, Trace
    from mixpeek_cli.service.models import AppInfo

# The URL is a courtesy: the result is not held back long for it.
WAIT_SECONDS = 10.0


class AppLookup:
    def __init__(self, api: ApiClient, app_id: str, base_url: str, trace: Trace | None) -> None:
        self._api = api
        self._app_id = app_id
        self._base_url = base_url
        self._trace = trace
        self._app: AppInfo | None = None
        self._thread = threading.Thread(target=self._run, name="mixpeek-app-read", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._app = self._api.get_app(self._app_id, quiet=True)
        except MixpeekError as exc:
            if self._trace is not None:
                self._trace(f"cannot read the app for its URL: {exc.one_line()}")
        except RuntimeError:
            # httpx's "the client has been closed": the deploy ended first (a failure,
            # Ctrl-C), and nobody will ask for the URL.
            pass

    def url(self, environment: str, warn: Callable[[str], None] | None = None) -> str | None:
        """The URL ``environment`` is served at, or None when the app could not be read or
        neither its ``url`` nor its slug gives one (a slug outside the published pattern:
        then ``warn`` is told so)."""
        from mixpeek_cli.service.urls import UNEXPECTED_SLUG, app_site_url

        self._thread.join(WAIT_SECONDS)
        app = self._app
        if app is None:
            return None
        url = app_site_url(self._base_url, app.slug, app.url, environment)
        if app.slug is None:
            return url
        if url is None and warn is not None:
            warn(UNEXPECTED_SLUG.format(app_id=self._app_id))
        return url
