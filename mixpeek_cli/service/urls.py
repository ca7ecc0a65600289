"""Where a deployed app is served; no endpoint returns it, so it is built from the slug.

Mixpeek serves production at ``https://{slug}.mxp.co`` and staging at
``https://staging-{slug}.mxp.co``. A base URL on loopback is the local emulator,
which serves the same host names under ``.localhost`` on its own port (browsers send
``*.localhost`` to loopback), so the printed URL opens the site there too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mixpeek_cli.loopback import is_loopback

SITE_DOMAIN = "mxp.co"


def host_label(slug: str, environment: str) -> str:
    return slug if environment == "production" else f"{environment}-{slug}"


def site_url(base_url: str, slug: str, environment: str) -> str:
    label = host_label(slug, environment)
    parts = urlsplit(base_url)
    if parts.hostname and is_loopback(parts.hostname):
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{label}.localhost{port}"
    return f"https://{label}.{SITE_DOMAIN}"
