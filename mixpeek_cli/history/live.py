"""Which version each environment serves now, from what the service says.

In order (docs/api.md, "What is live where"):

1. the app's ``environments`` (AppResponse): per environment its live ``deploy_id`` and
   ``asset_prefix``; their inner fields are not typed, so an entry is matched to a version
   by a ``version`` number in it, else by its ``asset_prefix``, else by its ``deploy_id``
   against the version records;
2. the version records themselves, when they say where they serve (older servers);
3. the newest versions' detail (``GET /versions/{n}``), whose ``is_active`` says where
   each is live: read newest first, at most :data:`DETAILS_READ` of them, until every
   environment asked about is found.

An environment none of them speaks of is unknown (``None`` in :attr:`Live.known`), which
is not the same as serving nothing: ``rollback`` then asks for a version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mixpeek_cli.service.versions import VersionRecord

if TYPE_CHECKING:
    from mixpeek_cli.service.client import ApiClient
    from mixpeek_cli.service.models import AppInfo

ENVIRONMENTS = ("production", "staging")
# Each detail is a request: the live version is almost always among the newest few.
DETAILS_READ = 10


@dataclass
class Live:
    """What serves each environment: a version number, 0 for "nothing", absent: unknown."""

    serving: dict[str, int] = field(default_factory=dict)
    source: str | None = None  # "app", "versions", "is_active": where it was read

    def version(self, environment: str) -> int | None:
        """The version serving ``environment``; None when it serves nothing or is unknown."""
        return self.serving.get(environment) or None

    def known(self, environment: str) -> bool:
        return environment in self.serving

    def where(self, version: int) -> list[str]:
        """The environments ``version`` is live in."""
        return sorted(env for env, n in self.serving.items() if n == version)


def _entry_version(entry: Any, records: Sequence[VersionRecord]) -> int | None:
    """The version an ``environments`` entry names; 0: it serves nothing; None: unmatched."""
    if entry is None or entry == {}:
        return 0
    if isinstance(entry, int) and not isinstance(entry, bool):
        return entry
    if not isinstance(entry, Mapping):
        return None
    number = entry.get("version")
    if isinstance(number, int) and not isinstance(number, bool):
        return number
    for key in ("asset_prefix", "deploy_id"):
        wanted = entry.get(key)
        if not isinstance(wanted, str) or not wanted:
            continue
        for record in records:
            have = record.deploy_id if key == "deploy_id" else record.raw.get(key)
            if isinstance(have, str) and have.rstrip("/") == wanted.rstrip("/"):
                return record.version
    return None


def from_app(environments: Mapping[str, Any] | None, records: Sequence[VersionRecord]) -> Live:
    """What the app's ``environments`` says; environments absent from it serve nothing."""
    live = Live(source="app")
    if environments is None:
        return Live()
    for name in ENVIRONMENTS:
        number = _entry_version(environments.get(name), records)
        if number is not None:
            live.serving[name] = number
    for name, entry in environments.items():
        number = _entry_version(entry, records)
        if isinstance(name, str) and number is not None:
            live.serving.setdefault(name, number)
    return live


def from_records(records: Iterable[VersionRecord]) -> Live:
    """What records that carry where they serve (``is_active``, older ``serving``) say:
    the newest record claiming an environment serves it; unclaimed ones stay unknown
    (``is_active: {"staging": false}`` says this version is not live there, no more)."""
    live = Live(source="versions")
    for record in sorted(records, key=lambda r: r.version, reverse=True):
        for name in record.serving or ():
            live.serving.setdefault(name, record.version)
    if not live.serving:
        live.source = None
    return live


def _merge(first: Live, then: Live) -> Live:
    """``first``, with what ``then`` knows of the environments ``first`` does not."""
    merged = Live(dict(first.serving), first.source)
    for name, number in then.serving.items():
        if name not in merged.serving:
            merged.serving[name] = number
            merged.source = merged.source or then.source
    return merged


def find_live(
    api: ApiClient,
    app_id: str,
    records: Sequence[VersionRecord],
    *,
    app: AppInfo | None = None,
    wanted: Sequence[str] = ENVIRONMENTS,
) -> Live:
    """What serves each of ``wanted``: from ``app`` (read here when None), the records,
    then the newest versions' details; unknown ones are left out."""
    from mixpeek_cli.errors import ApiError

    if app is None:
        app = api.get_app(app_id)
    live = _merge(from_app(app.environments, records), from_records(records))
    if all(live.known(env) for env in wanted) or not records:
        return live
    details: list[VersionRecord] = []
    for record in sorted(records, key=lambda r: r.version, reverse=True)[:DETAILS_READ]:
        try:
            detail = api.get_version(app_id, record.version).record
        except ApiError as exc:
            if exc.status_code in (404, 405):
                break  # no detail call, or the version went: nothing more to learn here
            raise
        if detail.serving is None:
            break  # the service says nothing about where versions are live
        details.append(detail)
        if all(from_records(details).known(env) for env in wanted):
            break
    found = from_records(details)
    if details and len(details) == len(records):
        # Every version said where it is live: an environment none claims serves nothing.
        for env in wanted:
            found.serving.setdefault(env, 0)
    if found.serving:
        found.source = "is_active"
    return _merge(live, found)
