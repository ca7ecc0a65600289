"""Where a deployed app is served: the app's canonical ``url`` for production when it is
trustworthy, else built from the slug.

Mixpeek serves production at ``https://{slug}.mxp.co`` and staging at
``https://staging-{slug}.mxp.co``. A base URL on loopback is the local emulator,
which serves the same host names under ``.localhost`` on its own port (browsers send
``*.localhost`` to loopback), so the printed URL opens the site there too.

The slug comes from the service's answer, and it becomes the host name of a URL the user
is told to open: a slug outside the published pattern (``evil.example/login?x=``) would
make that URL point anywhere. Such a slug gives no URL at all (:func:`site_url` is None),
and the command says so with :data:`UNEXPECTED_SLUG`.

The app's ``url`` (AppResponse, v3) is the same kind of text: it is taken only when it
is ``https://{a valid slug}.mxp.co`` (nothing after the host but an optional ``/``), or,
against a loopback base URL (the emulator), a URL on a loopback host; otherwise the URL
is built from the slug as before (:func:`trusted_url`, docs/api.md).
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


def trusted_url(url: str, base_url: str) -> bool:
    """Whether the app's ``url`` may be shown as where production is served."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return False
    if not host or parts.username or parts.password or parts.query or parts.fragment:
        return False
    if parts.path not in ("", "/"):
        return False
    base_host = urlsplit(base_url).hostname
    if base_host and is_loopback(base_host):
        # The emulator: its sites are on loopback (``{label}.localhost:port``).
        return parts.scheme in ("http", "https") and (
            is_loopback(host) or host.endswith(".localhost")
        )
    label, dot, domain = host.partition(".")
    return (
        parts.scheme == "https" and port is None and dot == "." and domain == SITE_DOMAIN
    ) and valid_slug(label)


def app_site_url(base_url: str, slug: str | None, url: str | None, environment: str) -> str | None:
    """Where ``environment`` is served: the app's own ``url`` for production when
    :func:`trusted_url`, else built from ``slug`` (None: neither gives one). An app whose
    slug is outside the published pattern gets no URL at all: its answer is not to be
    trusted for where to send a user, whatever its ``url`` says."""
    if slug is not None and not valid_slug(slug):
        return None
    if environment == "production" and url and trusted_url(url, base_url):
        return url.rstrip("/")
    return site_url(base_url, slug, environment) if slug else None
