"""What each environment of each app serves: the published sites, in memory.

A site is published per (app id, environment): the files of a deploy (path under the site
root -> bytes), which deploy and bundle they came from, and when. Publishing replaces the
environment's site at once, under a lock, and a site is never changed afterwards, so a
request being answered from the old one finishes with the old one. ``publish`` is the one
way in: a complete build calls it, and so can anything that sets an environment back to
earlier files (a version restore).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from mixpeek_cli.emulator.bundles import INDEX
from mixpeek_cli.emulator.records import iso, utc_now

ENVIRONMENTS = ("production", "staging")


@dataclass(frozen=True)
class PublishedSite:
    app_id: str
    environment: str
    deploy_id: str
    bundle_s3_key: str | None
    # Path under the site root ("index.html", "assets/app.js") -> bytes; read-only.
    files: Mapping[str, bytes]
    published_at: datetime

    def summary(self) -> dict[str, Any]:
        return {
            "app_id": self.app_id,
            "environment": self.environment,
            "deploy_id": self.deploy_id,
            "bundle_s3_key": self.bundle_s3_key,
            "published_at": iso(self.published_at),
            "files": sorted(self.files),
        }


class SiteStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sites: dict[tuple[str, str], PublishedSite] = {}

    def publish(
        self,
        app_id: str,
        environment: str,
        files: Mapping[str, bytes],
        *,
        deploy_id: str,
        bundle_s3_key: str | None = None,
    ) -> PublishedSite:
        """Make ``files`` what ``environment`` of ``app_id`` serves, replacing its site.

        ``files`` maps paths under the site root (no leading ``/``, no ``.``/``..`` parts)
        to bytes and must hold ``index.html``; ``bundles.site_from_zip`` gives such a map.
        """
        if environment not in ENVIRONMENTS:
            raise ValueError(f"unknown environment {environment!r}")
        for path in files:
            parts = path.split("/")
            if any(part in ("", ".", "..") for part in parts) or "\\" in path:
                raise ValueError(f"not a path under the site root: {path!r}")
        if INDEX not in files:
            raise ValueError(f"a site needs {INDEX} at its root")
        site = PublishedSite(
            app_id=app_id,
            environment=environment,
            deploy_id=deploy_id,
            bundle_s3_key=bundle_s3_key,
            files=MappingProxyType(dict(files)),
            published_at=utc_now(),
        )
        with self._lock:
            self._sites[(app_id, environment)] = site
        return site

    def current(self, app_id: str, environment: str) -> PublishedSite | None:
        """What ``environment`` of ``app_id`` serves now; None before its first publish."""
        with self._lock:
            return self._sites.get((app_id, environment))

    def all(self) -> list[PublishedSite]:
        """Every environment's current site, oldest publish first."""
        with self._lock:
            sites = list(self._sites.values())
        return sorted(sites, key=lambda site: site.published_at)

    def remove_app(self, app_id: str) -> None:
        """Stop serving every environment of ``app_id`` (the app was deleted)."""
        with self._lock:
            for key in [key for key in self._sites if key[0] == app_id]:
                del self._sites[key]

    def clear(self) -> None:
        with self._lock:
            self._sites.clear()
