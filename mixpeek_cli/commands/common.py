"""What the API commands share: settings resolved for the current directory, the client."""

from __future__ import annotations

import os
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


def api_client(settings: Settings, output: Output, console: Console) -> tuple[str, ApiClient]:
    """The app id and a client for it (``--verbose`` traces its exchanges)."""
    from mixpeek_cli.service.client import client_for

    app_id, _ = settings.require_remote()
    return app_id, client_for(settings, output.tracer(console))
