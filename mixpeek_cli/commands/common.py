"""What the API commands share: settings resolved for the current directory, the client."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mixpeek_cli.config.settings import Settings
    from mixpeek_cli.output.console import Console
    from mixpeek_cli.output.reporter import Reporter
    from mixpeek_cli.output.runner import Output
    from mixpeek_cli.service.client import ApiClient


def remote_settings(
    reporter: Reporter,
    *,
    app: str | None,
    api_key: str | None,
    base_url: str | None,
    namespace: str | None,
    environment: str | None = None,
    poll_interval: float | None = None,
    timeout: float | None = None,
    root: Path = Path("."),
) -> Settings:
    """Flags > env > ``root``'s mixpeek.toml > the stored key > defaults, as for deploy."""
    from mixpeek_cli.config.credentials import stored_key_reader
    from mixpeek_cli.config.settings import resolve_settings

    return resolve_settings(
        root=root,
        env=os.environ,
        api_key=api_key,
        base_url=base_url,
        app_id=app,
        environment=environment,
        poll_interval=poll_interval,
        timeout=timeout,
        stored_key=stored_key_reader(reporter.warn),
        namespace=namespace,
    )


def api_client(
    settings: Settings, output: Output, console: Console, *, app: bool = True
) -> tuple[str, ApiClient]:
    """The app id and a client for it (``--verbose`` traces its exchanges; each retry is
    told on stderr, unless --quiet). ``app=False``: no app id is needed ("" then)."""
    from mixpeek_cli.service.client import client_for

    app_id, _ = settings.require_remote(app=app)
    notify = None if output.quiet else functools.partial(_retry_notice, console)
    return app_id, client_for(settings, output.tracer(console), notify, app=app)


def _retry_notice(console: Console, line: str) -> None:
    from mixpeek_cli.output.console import escape

    console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)


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
