"""``window.__MIXPEEK__``: what Canvas puts in every HTML answer, and where.

A ``<script>`` right after the ``<head ...>`` tag (at the very start when there is no
head, after a byte-order mark) sets it to the app's env vars overlaid by the system
values: ``apiBaseUrl`` (``"/api"``, the proxy that adds the key), ``appId``, ``slug`` and
``environment``. ``MIXPEEK_API_KEY`` is never in it, whoever set it as an env var, and no
secret ever reaches this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

# What the injected window.__MIXPEEK__.apiBaseUrl says: Canvas proxies it.
API_BASE_URL = "/api"
# Never shown to a page, even when set as an env var (it enables the /api proxy).
HIDDEN_ENV = frozenset({"MIXPEEK_API_KEY"})
HTML = "text/html; charset=utf-8"
_HEAD_TAG = re.compile(rb"<head(?=[\s>/])[^>]*>", re.IGNORECASE)
_BOM = b"\xef\xbb\xbf"


def page_globals(
    app_id: str, slug: str, environment: str, env_vars: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The value of ``window.__MIXPEEK__``: env vars first, the system values win a name."""
    public = {name: value for name, value in (env_vars or {}).items() if name not in HIDDEN_ENV}
    return {
        **public,
        "apiBaseUrl": API_BASE_URL,
        "appId": app_id,
        "slug": slug,
        "environment": environment,
    }


def mixpeek_globals_script(
    app_id: str, slug: str, environment: str, env_vars: Mapping[str, str] | None = None
) -> bytes:
    """The ``<script>`` that sets ``window.__MIXPEEK__``, safe inside any HTML."""
    value = json.dumps(page_globals(app_id, slug, environment, env_vars))
    # No "<", ">" or "&" can end the script or open a comment; U+2028/9 end JS lines.
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        value = value.replace(char, escaped)
    value = value.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"<script>window.__MIXPEEK__ = {value};</script>".encode()


def inject(html: bytes, script: bytes) -> bytes:
    """``html`` with ``script`` right after its ``<head ...>`` tag, else at its start."""
    head = _HEAD_TAG.search(html)
    if head is not None:
        return html[: head.end()] + script + html[head.end() :]
    if html.startswith(_BOM):
        return _BOM + script + html[len(_BOM) :]
    return script + html


def is_html(content_type: str | None) -> bool:
    """Whether an answer of this Content-Type is a page that gets the script."""
    if not content_type:
        return False
    return content_type.partition(";")[0].strip().lower() in ("text/html", "application/xhtml+xml")
