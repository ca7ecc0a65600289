"""Make HTTP exchanges safe to show: no key, no token, no URL signature survives."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-amz-security-token", "cookie", "set-cookie"}
)
# Presigned URLs carry their credential in the query string (SigV4 and SigV2 names).
SECRET_QUERY = frozenset(
    {
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "signature",
        "awsaccesskeyid",
    }
)
MASK = "***"


def redact_headers(headers: Iterable[tuple[str, str | bytes]]) -> list[tuple[str, str]]:
    out = []
    for name, raw in headers:
        # botocore hands some header values over as bytes.
        value = raw.decode("latin-1") if isinstance(raw, bytes) else raw
        if name.lower() in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} {MASK}".strip()
        out.append((name, value))
    return out


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (k, MASK if k.lower() in SECRET_QUERY else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))
