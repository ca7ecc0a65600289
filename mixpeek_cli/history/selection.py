"""Which version ``mixpeek rollback`` puts back, from what serves the environment now.

What serves it comes from :mod:`mixpeek_cli.history.live` (the app's ``environments``,
else the versions' ``is_active``). When the service says nothing about it, the choice is
impossible and the user is asked for a version rather than guessed for.
"""

from __future__ import annotations

from collections.abc import Sequence

from mixpeek_cli.errors import UsageError
from mixpeek_cli.history.live import Live, from_records
from mixpeek_cli.service.versions import VersionRecord

LIST_HINT = "mixpeek versions list shows them"


def serving(
    records: Sequence[VersionRecord], environment: str, live: Live | None = None
) -> VersionRecord | None:
    """The record of the version serving ``environment``; None when none does or none
    is known to (``live``: what the service says; default: what the records say)."""
    number = (live if live is not None else from_records(records)).version(environment)
    return find(records, number) if number else None


def find(records: Sequence[VersionRecord], version: int) -> VersionRecord | None:
    return next((r for r in records if r.version == version), None)


def rollback_target(
    records: Sequence[VersionRecord], environment: str, live: Live | None = None
) -> tuple[VersionRecord, VersionRecord]:
    """(what serves ``environment`` now, the version deployed there just before it).

    "Just before": the newest version older than the live one whose deploy went to
    ``environment`` (a version of unknown environment counts). A version promoted or
    restored there counts by its number, not by when it became live: the records keep
    no history of what served when (docs/history.md)."""
    live = live if live is not None else from_records(records)
    hint = f"name the version: mixpeek rollback VERSION -e {environment} ({LIST_HINT})"
    if not live.known(environment):
        raise UsageError(f"the service does not say which version serves {environment}", hint=hint)
    current = serving(records, environment, live)
    if current is None:
        number = live.version(environment)
        what = f"version {number}, which the list does not hold" if number else "nothing"
        raise UsageError(f"{environment} serves {what}: there is no version before it", hint=hint)
    earlier = [
        r for r in records if r.version < current.version and r.environment in (None, environment)
    ]
    if not earlier:
        raise UsageError(
            f"version {current.version} is the first deployed to {environment}: "
            "there is none before it",
            hint=f"name another version: mixpeek rollback VERSION -e {environment} ({LIST_HINT})",
        )
    return current, max(earlier, key=lambda r: r.version)
