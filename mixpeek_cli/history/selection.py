"""Which version serves an environment, and which one ``mixpeek rollback`` puts back.

The records' field names are not published (docs/api.md): a record that does not say
where it serves makes the choice impossible, and then the user is asked for a version
rather than guessed for.
"""

from __future__ import annotations

from collections.abc import Sequence

from mixpeek_cli.errors import UsageError
from mixpeek_cli.service.versions import VersionRecord

LIST_HINT = "mixpeek versions list shows them"


def serving(records: Sequence[VersionRecord], environment: str) -> VersionRecord | None:
    """The newest record that says it serves ``environment``; None when none says so."""
    for record in sorted(records, key=lambda r: r.version, reverse=True):
        if record.serving is not None and environment in record.serving:
            return record
    return None


def find(records: Sequence[VersionRecord], version: int) -> VersionRecord | None:
    return next((r for r in records if r.version == version), None)


def rollback_target(
    records: Sequence[VersionRecord], environment: str
) -> tuple[VersionRecord, VersionRecord]:
    """(what serves ``environment`` now, the version deployed there just before it)."""
    current = serving(records, environment)
    if current is None:
        raise UsageError(
            f"the version records do not say which version serves {environment}",
            hint=f"name the version: mixpeek rollback VERSION -e {environment} ({LIST_HINT})",
        )
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
