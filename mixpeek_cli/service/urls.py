"""Where a deployed app is served; no endpoint returns it, so it is built from the slug.

Mixpeek serves production at ``https://{slug}.mxp.co`` and staging at
``https://staging-{slug}.mxp.co``. A base URL on loopback is the local emulator,
which serves the same host names under ``.localhost`` on its own port (browsers send
``*.localhost`` to loopback), so the printed URL opens the site there too.

The slug comes from the service's answer, and it becomes the host name of a URL the user
is told to open: a slug outside the published pattern (``evil.example/login?x=``) would
make that URL point anywhere. Such a slug gives no URL at all (:func:`site_url` is None),
and the command says so with :data:`UNEXPECTED_SLUG`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from mixpeek_cli.loopback import is_loopback

SITE_DOMAIN = "mxp.co"
# The published form of a slug: 3-60 characters, ^[a-z0-9][a-z0-9-]*[a-z0-9]$ (ASCII only).
SLUG_MIN, SLUG_MAX = 3, 60
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*[a-z0-9]")
UNEXPECTED_SLUG = "the service returned an unexpected slug for app {app_id}: no URL is shown"


def valid_slug(slug: str) -> bool:
    """Whether ``slug`` is of the published pattern, so a host name can be built from it."""
    return SLUG_MIN <= len(slug) <= SLUG_MAX and _SLUG.fullmatch(slug) is not None


def host_label(slug: str, environment: str) -> str:
    return slug if environment == "production" else f"{environment}-{slug}"


def site_url(base_url: str, slug: str, environment: str) -> str | None:
    """Where ``environment`` of the app ``slug`` is served; None for a slug outside the
    published pattern, which no URL is built from."""
    if not valid_slug(slug):
        return None
    label = host_label(slug, environment)
    parts = urlsplit(base_url)
    if parts.hostname and is_loopback(parts.hostname):
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{label}.localhost{port}"
    return f"https://{label}.{SITE_DOMAIN}"
