"""The post-deploy smoke test: a real ``GET /`` of the site, as the service makes one.

It goes over loopback HTTP to the emulator's own server with the Host header of the site
(``<label>.localhost:<port>``), so it is answered, and recorded, like any site request.
It passes when the answer is a 200 with an HTML body.
"""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

from mixpeek_cli.emulator.models import SmokeTestResult
from mixpeek_cli.emulator.records import iso, utc_now
from mixpeek_cli.emulator.sites import SITE_SUFFIX, host_label, site_url
from mixpeek_cli.emulator.storage import USER_AGENT

SMOKE_USER_AGENT = f"{USER_AGENT} (smoke test)"
TIMEOUT_SECONDS = 10.0


def smoke_test(
    api_base_url: str, slug: str, environment: str, forced_errors: list[str] | None = None
) -> SmokeTestResult:
    """GET the site's ``/``; ``forced_errors`` (the ``smoke_test_errors`` control), when
    set, are the errors reported whatever the GET found."""
    url = site_url(api_base_url, slug, environment)
    if url is None:  # app_slug makes only slugs of the published pattern
        raise ValueError(f"not a slug: {slug!r}")
    started = time.monotonic()
    errors = _get_root(api_base_url, f"{host_label(slug, environment)}{SITE_SUFFIX}")
    duration_ms = 1000 * (time.monotonic() - started)
    if forced_errors:
        errors = list(forced_errors)
    return SmokeTestResult(
        passed=not errors,
        url=url,
        errors=errors,
        duration_ms=round(duration_ms),
        tested_at=iso(utc_now()),
    )


def _get_root(api_base_url: str, host_name: str) -> list[str]:
    """What is wrong with the site's ``GET /`` (nothing: an empty list)."""
    parts = urlsplit(api_base_url)
    if parts.hostname is None or parts.port is None:
        return ["GET / not made: the emulator's API address is not known yet"]
    headers = {"Host": f"{host_name}:{parts.port}", "User-Agent": SMOKE_USER_AGENT}
    # Plain http.client: no proxy from the environment, no TLS set-up, straight to ourselves.
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("GET", "/", headers=headers)
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as exc:
        return [f"GET / failed: {str(exc) or type(exc).__name__}"]
    finally:
        connection.close()
    if response.status != 200:
        return [f"GET / answered {response.status}"]
    kind = response.getheader("content-type") or ""
    if not kind.lower().startswith("text/html"):
        return [f"GET / answered {kind or 'no Content-Type'}, not HTML"]
    return []
