"""Make HTTP exchanges safe to show: no key, no token, no URL signature survives."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

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
# Shorter "secrets" are left alone: no real key is this short, and masking a short word
# (a test key such as "x", "key") everywhere would garble the message it sits in.
MIN_SECRET = 8
# What a key copied with its line ending or indentation carries around it; the settings
# strip the same characters (mixpeek_cli/config/settings.py).
_SURROUNDING = " \t\r\n"


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


def scrub(text: str, secret: str) -> str:
    """``text`` with every copy of ``secret`` replaced by ``***``.

    Copies are found as written (and without surrounding whitespace), URL-encoded
    (``quote``, ``quote_plus``, with or without ``/`` kept, and twice), JSON-escaped and
    as Python's ``repr`` of the text or of its UTF-8 bytes shows them: the forms a server
    echoing a header, or an exception naming a header value, puts the key in. Case is
    ignored, so a percent-encoding in lower case is found too. A secret shorter than
    :data:`MIN_SECRET` characters is not looked for.
    """
    pattern = _secret_pattern(secret)
    return text if pattern is None else pattern.sub(MASK, text)


def _secret_pattern(secret: str) -> re.Pattern[str] | None:
    forms: set[str] = set()
    for value in {secret, secret.strip(_SURROUNDING)}:
        if len(value) < MIN_SECRET:
            continue
        forms |= {
            value,
            quote(value, safe=""),
            quote(value),
            quote_plus(value),
            quote_plus(value, safe="/"),
            quote(quote(value, safe=""), safe=""),
            json.dumps(value)[1:-1],
            json.dumps(value, ensure_ascii=False)[1:-1],
            repr(value)[1:-1],
            repr(value.encode("utf-8", "backslashreplace"))[2:-1],
        }
    if not forms:
        return None
    # Longest first: where one form holds another, the whole of it is masked.
    ordered = sorted(forms, key=len, reverse=True)
    return re.compile("|".join(re.escape(form) for form in ordered), re.IGNORECASE)
