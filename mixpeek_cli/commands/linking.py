"""Pointing a directory at an app: ``app_id`` in its mixpeek.toml (`mixpeek link`, and
`mixpeek apps create --link`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mixpeek_cli.commands.layer import Run


def link_directory(run: Run, root: Path, app_id: str) -> dict[str, Any]:
    """Set ``app_id`` in ``root``'s mixpeek.toml, keeping everything else; say so on stderr."""
    from mixpeek_cli.config.project_file import set_keys
    from mixpeek_cli.config.settings import resolve_settings

    # The same checks a deploy applies, so a file written here is one a deploy accepts.
    resolve_settings(root=root, env={}, app_id=app_id)
    written = set_keys(root, {"app_id": app_id})
    previous = written.previous.get("app_id")
    if previous is not None:
        run.reporter.info(f"app_id was {previous!r}, now {app_id!r}")
    run.reporter.info(f"linked {root} to app {app_id} in {written.path}")
    return {
        "path": str(written.path),
        "created": written.created,
        "app_id": app_id,
        "previous_app_id": previous,
    }
