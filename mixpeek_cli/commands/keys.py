"""Every API key a run could hold, masked out of what it prints."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable


def key_redactor(flag_key: str | None) -> Callable[[str], str]:
    """What a command gives ``Output(redact=...)``: masks every key this run could hold.

    Those are the ``--api-key`` flag's, ``MIXPEEK_API_KEY``'s and the stored one, raw as
    given (a refused key may be quoted by the message refusing something else) and
    stripped. They are read at the first failure, not at start: a command that succeeds
    reads no credentials file for it.
    """

    @functools.cache
    def secrets() -> tuple[str, ...]:
        return _known_keys(flag_key)

    def redact(text: str) -> str:
        from mixpeek_cli.service.redact import scrub

        for secret in secrets():
            text = scrub(text, secret)
        return text

    return redact


def _known_keys(flag_key: str | None) -> tuple[str, ...]:
    import json

    from mixpeek_cli.config.credentials import credentials_path

    keys = [flag_key or "", os.environ.get("MIXPEEK_API_KEY", "")]
    try:
        # Read as it is, without the checks load_key makes: a damaged or refused stored
        # key must be masked too, and masking must never fail.
        stored = json.loads(credentials_path().read_bytes().decode("utf-8"))
        keys.append(str(stored.get("api_key") or "") if isinstance(stored, dict) else "")
    except (OSError, ValueError):
        pass
    # Longest first: a key that holds another is masked whole.
    return tuple(sorted({key for key in keys if key}, key=len, reverse=True))
