"""Where a deployed app lives: its slug, its site URL, and which site a host name means.

The real service publishes production at ``https://{slug}.mxp.co`` and staging at
``https://staging-{slug}.mxp.co``. The emulator keeps the same host labels under
``*.localhost`` on its own API port, because every ``*.localhost`` name resolves to
loopback without any DNS set-up: a request whose Host is ``<label>.localhost[:port]`` is
a site request (``site_server`` answers it), and ``resolve_label`` says whose site.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

# The one rule for where a deploy is served, shared with the CLI: what it prints is where
# the emulator serves.
from mixpeek_cli.service.urls import host_label, site_url

__all__ = ["SiteAddress", "app_slug", "host_label", "resolve_label", "site_label", "site_url"]

SLUG_MIN, SLUG_MAX = 3, 60
# Appended to a too-short slug: keeps the published pattern (a letter or digit at each end).
_SLUG_PAD = "app"
SITE_SUFFIX = ".localhost"
STAGING_PREFIX = "staging-"


def app_slug(app_id: str) -> str:
    """The published slug form of ``app_id`` (3-60 chars, ``^[a-z0-9][a-z0-9-]*[a-z0-9]$``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", app_id.lower()).strip("-")
    if len(slug) < SLUG_MIN:
        slug = f"{slug}-{_SLUG_PAD}" if slug else _SLUG_PAD
    return slug[:SLUG_MAX].rstrip("-")


def site_label(host: str) -> str | None:
    """The label of a ``<label>.localhost[:port]`` Host header (lower-cased), else None."""
    name = host.strip().lower()
    if name.startswith("["):  # an IPv6 literal
        return None
    name = name.partition(":")[0].rstrip(".")
    if not name.endswith(SITE_SUFFIX):
        return None
    return name[: -len(SITE_SUFFIX)] or None


@dataclass(frozen=True)
class SiteAddress:
    """What a host label names: an environment of the app with that slug."""

    label: str
    slug: str
    environment: str
    app_id: str | None  # None: the emulator has seen no app with this slug


def resolve_label(
    label: str,
    app_ids: Iterable[str],
    published_at: Callable[[str, str], datetime | None],
    slug_of: Callable[[str], str] = app_slug,
) -> SiteAddress:
    """The site ``label`` names among ``app_ids`` (the apps seen, first seen first).

    ``staging-<slug>`` is staging of the app whose slug is ``<slug>``, any other label
    production of the app whose slug it is; when no app has the staging reading's slug but
    one has the whole label as its slug, that app's production it is. Two app ids can share
    a slug: the one whose site in that environment was published last wins, else the one
    seen first. ``published_at(app_id, environment)`` tells when a site was published;
    ``slug_of(app_id)`` is the app's slug (its own, for an app created or renamed).
    """
    ids = list(dict.fromkeys(app_ids))
    readings = [("production", label)]
    if label.startswith(STAGING_PREFIX) and len(label) > len(STAGING_PREFIX):
        readings.insert(0, ("staging", label[len(STAGING_PREFIX) :]))
    for environment, slug in readings:
        matches = [app_id for app_id in ids if slug_of(app_id) == slug]
        if matches:
            app_id = _latest(matches, environment, published_at)
            return SiteAddress(label, slug, environment, app_id)
    environment, slug = readings[0]
    return SiteAddress(label, slug, environment, None)


def _latest(
    app_ids: list[str], environment: str, published_at: Callable[[str, str], datetime | None]
) -> str:
    stamped = [(when, app_id) for app_id in app_ids if (when := published_at(app_id, environment))]
    if not stamped:
        return app_ids[0]
    return max(stamped, key=lambda pair: pair[0])[1]
