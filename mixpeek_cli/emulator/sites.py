"""Where a deployed app lives: its slug and the emulator's stand-in for ``{slug}.mxp.co``.

The real service publishes production at ``https://{slug}.mxp.co`` and staging at
``https://staging-{slug}.mxp.co``. The emulator keeps the same host labels under
``*.localhost`` on its own API port, because every ``*.localhost`` name resolves to
loopback without any DNS set-up; serving the sites there can grow in this module.
"""

from __future__ import annotations

import re

# The one rule for where a deploy is served, shared with the CLI: what it prints is where
# the emulator serves.
from mixpeek_cli.service.urls import site_url

__all__ = ["app_slug", "site_url"]

SLUG_MIN, SLUG_MAX = 3, 60
# Appended to a too-short slug: keeps the published pattern (a letter or digit at each end).
_SLUG_PAD = "app"


def app_slug(app_id: str) -> str:
    """The published slug form of ``app_id`` (3-60 chars, ``^[a-z0-9][a-z0-9-]*[a-z0-9]$``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", app_id.lower()).strip("-")
    if len(slug) < SLUG_MIN:
        slug = f"{slug}-{_SLUG_PAD}" if slug else _SLUG_PAD
    return slug[:SLUG_MAX].rstrip("-")
