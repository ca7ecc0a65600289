"""Everything one emulator instance knows, behind one lock.

Builds advance on background threads, the API answers from uvicorn's loop and thread pool
and moto's gate records from its own threads, so every read or write of shared data goes
through ``EmulatorState._lock``. Nothing here is module-level: two emulators in one
process never see each other's data.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from mixpeek_cli.emulator.admin_state import AdminState
from mixpeek_cli.emulator.models import (
    App,
    AppListItem,
    AppMeta,
    BuildConfig,
    DeployStatus,
    DeployStatusResponse,
    EnvironmentServing,
    FaultSpec,
    LogLevel,
    SmokeTestResult,
    VersionDetail,
    VersionRecord,
)
from mixpeek_cli.emulator.records import (
    AppRecord,
    Deploy,
    EmulatorConfig,
    Fault,
    IdempotencyConflict,
    LogLine,
    RuntimeLog,
    SignedUrl,
    StoredAnswer,
    iso,
    new_id,
    utc_now,
)
from mixpeek_cli.emulator.site_store import ENVIRONMENTS, SiteStore
from mixpeek_cli.emulator.sites import app_slug, site_url
from mixpeek_cli.emulator.versions import Asset, Version, asset_prefix, content_hash, manifest

__all__ = [
    "EXCHANGE_OBSERVERS",
    "EmulatorConfig",
    "EmulatorState",
    "IdempotencyConflict",
    "SlugTaken",
    "StoredAnswer",
    "TierLimit",
]

# Test instrumentation, empty in normal use: each is called with every finished /v1
# exchange of every emulator in this process (the request record, its ``status``, and
# ``response``, the JSON answer or None; ``fault`` true when ``/_emulator/faults`` made
# the answer). tests/sdk_oracle.py checks them against the SDK's models. It holds no
# emulator's data, so two emulators still never see each other's.
EXCHANGE_OBSERVERS: list[Callable[[dict[str, Any]], None]] = []
# What an answer shows instead of a secret's value, as the service does.
MASKED = "***"
# The env var that enables a site's /api proxy: never put in a page (API.md, runtime).
PROXY_KEY = "MIXPEEK_API_KEY"


class SlugTaken(Exception):
    """Another app has the slug (slugs are unique across the service)."""


class TierLimit(Exception):
    """The ``max_apps`` setting allows no more apps."""

    def __init__(self, limit: int, count: int) -> None:
        super().__init__(f"{count} apps of {limit}")
        self.limit = limit
        self.count = count


class EmulatorState:
    def __init__(
        self,
        bucket: str,
        s3_endpoint_url: str,
        config: EmulatorConfig | None = None,
    ) -> None:
        self.bucket = bucket
        self.s3_endpoint_url = s3_endpoint_url
        # Set once the API socket is bound, before any request: site URLs carry its port.
        self.api_base_url = ""
        self._config = copy.deepcopy(config) if config else EmulatorConfig()
        self._lock = threading.Lock()
        self._apps: dict[str, AppRecord] = {}
        # Apps deleted with DELETE /v1/apps/{id}: a later call naming one no longer makes
        # it exist again, as any other app id does.
        self._deleted: set[str] = set()
        self._deploys: dict[str, Deploy] = {}
        self._faults: list[Fault] = []
        self._requests: list[dict[str, Any]] = []
        self._s3_requests: list[dict[str, Any]] = []
        self._site_requests: list[dict[str, Any]] = []
        self._runtime_logs: list[RuntimeLog] = []
        # Each app's versions, oldest first: version N is at index N - 1.
        self._versions: dict[str, list[Version]] = {}
        # Which version each deploy put in place: the one that made it, or the one a
        # restore publishes again. What an environment serves is then its site's deploy's.
        self._deploy_versions: dict[str, tuple[str, int]] = {}
        # One sequence for API, S3 and site requests, so merging the lists by id gives the
        # order in which everything arrived.
        self._request_seq = 0
        self._answers: dict[str, StoredAnswer] = {}
        self._signed_urls: dict[str, SignedUrl] = {}
        # Serialises whole idempotent requests so two concurrent retries of one key
        # cannot both create a deploy; separate from _lock so builds never wait on it.
        self.idempotency_lock = threading.Lock()
        # Set on shutdown so builds stop sleeping and log streams end.
        self.stopping = threading.Event()
        # What each (app, environment) serves; it has its own lock.
        self.sites = SiteStore()
        # Each app's domains, repository, team and analytics; their own locks.
        self.admin = AdminState()
        # Run when the emulator stops: what the servers made that outlives a request (the
        # sites' function runners and their files).
        self.on_stop: list[Callable[[], None]] = []

    # -- config -------------------------------------------------------------------------

    @property
    def config(self) -> EmulatorConfig:
        """A copy of the current configuration; change it with ``configure``."""
        with self._lock:
            return copy.deepcopy(self._config)

    def configure(self, **changes: Any) -> EmulatorConfig:
        with self._lock:
            for name, value in changes.items():
                if not hasattr(self._config, name):
                    raise AttributeError(f"unknown emulator setting {name!r}")
                setattr(self._config, name, copy.deepcopy(value))
            return copy.deepcopy(self._config)

    def config_dict(self) -> dict[str, Any]:
        return asdict(self.config)

    # -- presigned URLs -------------------------------------------------------------------

    def take_url_fault(self) -> str | None:
        """The fault ("expired" or "signature") the URL being handed out gets, using one up."""
        with self._lock:
            if self._config.expired_urls > 0:
                self._config.expired_urls -= 1
                return "expired"
            if self._config.bad_signature_urls > 0:
                self._config.bad_signature_urls -= 1
                return "signature"
            return None

    def remember_url(self, signature: str, signed: SignedUrl) -> None:
        with self._lock:
            self._signed_urls[signature] = signed

    def url_rejection(self, signature: str, content_type: str | None) -> str | None:
        """Why S3 must refuse a request bearing ``signature``; None for "let it through".

        moto checks no signature, so what the emulator signed is checked here: a URL
        signed with one Content-Type fails as S3 fails it when sent with another.
        """
        with self._lock:
            signed = self._signed_urls.get(signature)
        if signed is None:
            return None
        if signed.broken is not None:
            return signed.broken
        return "signature" if content_type != signed.content_type else None

    # -- log stream controls --------------------------------------------------------------

    def take_stream_cut(self, sent: int) -> bool:
        """Whether a stream that has sent ``sent`` log events is cut now (using one cut up)."""
        with self._lock:
            after = self._config.stream_cut_after
            if after is None or self._config.stream_cuts <= 0 or sent < after:
                return False
            self._config.stream_cuts -= 1
            if self._config.stream_cuts == 0:
                # Used up: back to the defaults, so setting stream_cut_after again just works.
                self._config.stream_cut_after = None
                self._config.stream_cuts = 1
            return True

    # -- apps -----------------------------------------------------------------------------

    def see_app(self, app_id: str) -> None:
        with self._lock:
            if app_id not in self._deleted:
                self._apps.setdefault(app_id, AppRecord(created=utc_now()))

    def set_app(self, app_id: str, **changes: Any) -> None:
        """Change an app's ``title``, ``description``, ``is_active``, ``env_vars`` or
        ``secrets`` (the ``/_emulator/apps`` control); None leaves a field as it is."""
        with self._lock:
            self._deleted.discard(app_id)
            record = self._apps.setdefault(app_id, AppRecord(created=utc_now()))
            for name, value in changes.items():
                if not hasattr(record, name) or name in ("created", "updated"):
                    raise AttributeError(f"unknown app field {name!r}")
                if value is not None:
                    setattr(record, name, copy.deepcopy(value))
            record.updated = utc_now()

    def app(self, app_id: str) -> App | None:
        """The app, None when the ``unknown_apps`` setting names it."""
        self.see_app(app_id)
        with self._lock:
            unknown = self._config.unknown_apps or ()
            deleted = app_id in self._deleted
        if app_id in unknown or deleted:
            return None
        item = self._app_item(app_id)
        return App(
            **item.model_dump(),
            sections=[],
            custom_html=None,
            hero=None,
            theme={},
            seo=None,
            stats=[],
            featured_gallery=None,
            tabs=[],
            password_protected=False,
            versions=self.versions(app_id),
        )

    def app_ids(self) -> list[str]:
        """Every app id used in a /v1 call so far, first seen first."""
        with self._lock:
            return list(self._apps)

    def apps(self) -> list[AppListItem]:
        """Every app id used in a /v1 call so far, first seen first, but ``unknown_apps``."""
        with self._lock:
            seen = list(self._apps)
            unknown = set(self._config.unknown_apps or ())
        return [self._app_item(app_id) for app_id in seen if app_id not in unknown]

    def _app_item(self, app_id: str) -> AppListItem:
        serving = self.serving(app_id)
        published = [
            site.published_at
            for env in ENVIRONMENTS
            if (site := self.sites.current(app_id, env)) is not None
        ]
        with self._lock:
            record = copy.deepcopy(self._apps[app_id])
            newest = len(self._versions.get(app_id, []))
        slug = record.slug or app_slug(app_id)
        secrets = {name: MASKED for name in record.secrets}
        repo = self.admin.repos.of_app(app_id)
        build = {**record.build_other, "env_vars": dict(record.env_vars), "secrets": secrets}
        return AppListItem(
            app_id=app_id,
            slug=slug,
            url=site_url(self.api_base_url, slug, "production") or f"https://{slug}.mxp.co",
            meta=AppMeta(title=record.title or app_id, description=record.description),
            is_active=record.is_active,
            version=newest,
            template="blank",
            custom_domains=self.admin.domains.custom_domains(app_id),
            build_config=BuildConfig(**build),
            auth_config=record.auth_config,
            monitoring_config=record.monitoring_config,
            repo_url=repo.repo_url if repo else None,
            repo_branch=repo.branch if repo else None,
            environments={
                env: EnvironmentServing(
                    deploy_id=deploy_id, asset_prefix=asset_prefix(app_id, number), version=number
                )
                for env, (deploy_id, number) in serving.items()
            },
            created_at=iso(record.created),
            updated_at=iso(max([record.created, record.updated, *published])),
        )

    def serving(self, app_id: str) -> dict[str, tuple[str, int]]:
        """Per environment that serves a version of the app: its deploy and version number."""
        # Sites first, then our lock: the two locks are never held together.
        sites = {
            environment: site.deploy_id
            for environment in ENVIRONMENTS
            if (site := self.sites.current(app_id, environment)) is not None
        }
        with self._lock:
            found = {env: (dep, self._deploy_versions.get(dep)) for env, dep in sites.items()}
        return {
            env: (dep, made[1])
            for env, (dep, made) in found.items()
            if made is not None and made[0] == app_id
        }

    # -- apps made, changed and deleted through the API (emulator/apps_admin.py) ---------

    def slug_of(self, app_id: str) -> str:
        """The app's slug: its own, else the app id's slug form."""
        with self._lock:
            record = self._apps.get(app_id)
            return (record.slug if record else None) or app_slug(app_id)

    def _slug_taken(self, slug: str, by_other_than: str | None = None) -> bool:
        """Whether an app other than ``by_other_than`` has ``slug`` (``_lock`` held)."""
        return any(
            (record.slug or app_slug(app_id)) == slug
            for app_id, record in self._apps.items()
            if app_id != by_other_than
        )

    def add_app(self, app_id: str, record: AppRecord) -> None:
        """Make a new app (POST /v1/apps); raises :class:`SlugTaken` or :class:`TierLimit`."""
        with self._lock:
            limit = self._config.max_apps
            if limit is not None and len(self._apps) >= limit:
                raise TierLimit(limit, len(self._apps))
            if record.slug is None or self._slug_taken(record.slug):
                raise SlugTaken(record.slug)
            self._apps[app_id] = copy.deepcopy(record)

    def change_app(
        self, app_id: str, change: Callable[[AppRecord], None], *, dry_run: bool = False
    ) -> AppRecord:
        """Apply ``change`` to the app's record, atomically (PATCH); with ``dry_run`` the
        app stays as it was. Returns the record as changed. Raises :class:`SlugTaken`
        when the change gives it another app's slug, KeyError for an unknown app."""
        with self._lock:
            changed = copy.deepcopy(self._apps[app_id])
            change(changed)
            if changed.slug is not None and self._slug_taken(changed.slug, app_id):
                raise SlugTaken(changed.slug)
            if not dry_run:
                changed.updated = utc_now()
                self._apps[app_id] = copy.deepcopy(changed)
            return changed

    def delete_app(self, app_id: str) -> bool:
        """Delete the app (its slug is free at once, its sites stop, its custom domains
        stop resolving); False: no such app."""
        with self._lock:
            if self._apps.pop(app_id, None) is None:
                return False
            self._deleted.add(app_id)
        self.sites.remove_app(app_id)
        self.admin.forget_app(app_id)
        return True

    def page_env_vars(self, app_id: str) -> dict[str, str]:
        """The env vars a page of the app gets in ``window.__MIXPEEK__``: every one but
        the proxy's key (never a secret: those are server-side only)."""
        with self._lock:
            record = self._apps.get(app_id)
            env = dict(record.env_vars) if record else {}
        env.pop(PROXY_KEY, None)
        return env

    def function_env(self, app_id: str) -> dict[str, str]:
        """A server function's ``ctx.env``: the app's env vars (the proxy's key too), then
        its secrets, as they are now (their values: this never leaves the server)."""
        with self._lock:
            record = self._apps.get(app_id)
            return {**record.env_vars, **record.secrets} if record else {}

    # -- deploys --------------------------------------------------------------------------

    def add_deploy(self, deploy: Deploy) -> None:
        with self._lock:
            self._deploys[deploy.deploy_id] = deploy

    def add_restore(self, deploy: Deploy, version: int) -> None:
        """Add a deploy that puts ``version`` of its app back in place (a restore)."""
        with self._lock:
            self._deploys[deploy.deploy_id] = deploy
            self._deploy_versions[deploy.deploy_id] = (deploy.app_id, version)

    def get_deploy(self, app_id: str, deploy_id: str) -> DeployStatusResponse | None:
        with self._lock:
            deploy = self._deploys.get(deploy_id)
            return deploy.answer() if deploy and deploy.app_id == app_id else None

    def deploys(self, app_id: str) -> list[DeployStatusResponse]:
        """The app's deploys, newest first (creation order, not timestamps, which can tie)."""
        with self._lock:
            return [d.answer() for d in reversed(self._deploys.values()) if d.app_id == app_id]

    def log(self, deploy_id: str, line: str, *, status: DeployStatus | None = None) -> None:
        with self._lock:
            deploy = self._deploys[deploy_id]
            if status is not None:
                deploy.status = status
            deploy.logs.append(LogLine(utc_now().timestamp(), line))

    def finish(
        self,
        deploy_id: str,
        status: DeployStatus,
        line: str,
        *,
        error: str | None = None,
        smoke_test: SmokeTestResult | None = None,
        published: Mapping[str, bytes] | None = None,
    ) -> int | None:
        """Set the final status and its last line at once: a stream that sees the status
        final has every line.

        ``published``, for a complete upload deploy, is the site it published: it becomes
        the app's next version in the same step, so versions are numbered in completion
        order and whoever sees the deploy complete finds its version. Returns its number.
        """
        # Hashing can take a while for a big site: not under the lock.
        assets = manifest(published) if published is not None else ()
        with self._lock:
            deploy = self._deploys[deploy_id]
            deploy.logs.append(LogLine(utc_now().timestamp(), line))
            deploy.status = status
            deploy.error = error
            deploy.smoke_test = smoke_test
            if published is None or status != "complete":
                return None
            return self._add_version(deploy, published, assets)

    def _add_version(
        self, deploy: Deploy, files: Mapping[str, bytes], assets: tuple[Asset, ...]
    ) -> int:
        """Make the next version of the deploy's app (``_lock`` held)."""
        versions = self._versions.setdefault(deploy.app_id, [])
        request = deploy.request
        now = utc_now()
        version = Version(
            app_id=deploy.app_id,
            version=len(versions) + 1,
            deploy_id=deploy.deploy_id,
            environment=deploy.environment,
            message=deploy.message,
            git_commit_sha=request.get("git_commit_sha"),
            git_commit_message=request.get("git_commit_message"),
            git_author=request.get("git_author"),
            created_at=now,
            build_duration_ms=round((now - deploy.queued_at).total_seconds() * 1000),
            bundle_s3_key=deploy.bundle_s3_key,
            files=MappingProxyType(dict(files)),
            source_files=MappingProxyType(dict(request.get("source_files") or {})),
            assets=assets,
            content_hash=content_hash(assets),
        )
        versions.append(version)
        self._deploy_versions[deploy.deploy_id] = (deploy.app_id, version.version)
        return version.version

    def log_since(
        self, app_id: str, deploy_id: str, start: int
    ) -> tuple[list[LogLine], bool] | None:
        """The deploy's log lines from index ``start`` on and whether it is final; None
        when the app has no such deploy."""
        with self._lock:
            deploy = self._deploys.get(deploy_id)
            if deploy is None or deploy.app_id != app_id:
                return None
            return deploy.logs[start:], deploy.final

    def deploy_log(self, deploy_id: str) -> list[str]:
        """Every log line of a deploy so far, for tests."""
        with self._lock:
            return [entry.line for entry in self._deploys[deploy_id].logs]

    def deploy_request(self, deploy_id: str) -> dict[str, Any]:
        """The JSON body that created a deploy, for tests."""
        with self._lock:
            return copy.deepcopy(self._deploys[deploy_id].request)

    # -- versions -------------------------------------------------------------------------

    def version(self, app_id: str, number: int) -> Version | None:
        """Version ``number`` of the app (files, source and all); None when it has none."""
        with self._lock:
            versions = self._versions.get(app_id, [])
            return versions[number - 1] if 1 <= number <= len(versions) else None

    def versions(self, app_id: str) -> list[VersionRecord]:
        """The app's versions, newest first."""
        with self._lock:
            versions = list(self._versions.get(app_id, []))
        return [version.record() for version in reversed(versions)]

    def version_detail(self, app_id: str, number: int) -> VersionDetail | None:
        """Version ``number`` and the environments it serves now; None when it has none."""
        version = self.version(app_id, number)
        if version is None:
            return None
        serving = [env for env, (_, n) in self.serving(app_id).items() if n == number]
        return version.detail(serving, ENVIRONMENTS)

    # -- runtime logs ---------------------------------------------------------------------

    def add_runtime_log(
        self,
        app_id: str,
        level: LogLevel,
        message: str,
        route_path: str | None = None,
        *,
        timestamp: datetime | None = None,
    ) -> RuntimeLog:
        """Add an entry to the app's runtime log (``timestamp``: default now)."""
        entry = RuntimeLog(
            app_id=app_id,
            timestamp=utc_now() if timestamp is None else timestamp.astimezone(timezone.utc),
            level=level,
            message=message,
            route_path=route_path,
            request_id=new_id("req"),
        )
        with self._lock:
            self._runtime_logs.append(entry)
        return entry

    def runtime_logs(self, app_id: str | None = None) -> list[RuntimeLog]:
        """The runtime log entries (of one app, or all), oldest added first."""
        with self._lock:
            return [e for e in self._runtime_logs if app_id is None or e.app_id == app_id]

    def clear_runtime_logs(self) -> None:
        with self._lock:
            self._runtime_logs.clear()

    # -- idempotency ----------------------------------------------------------------------

    @staticmethod
    def fingerprint(method: str, path: str, body: Any) -> str:
        return json.dumps([method.upper(), path, body], sort_keys=True)

    def stored_answer(self, key: str, fingerprint: str) -> StoredAnswer | None:
        """The answer already given under ``key``; raise if the key meant something else."""
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None and answer.fingerprint != fingerprint:
                raise IdempotencyConflict(key)
            return copy.deepcopy(answer)

    def store_answer(self, key: str, answer: StoredAnswer) -> None:
        with self._lock:
            self._answers[key] = copy.deepcopy(answer)

    # -- faults ---------------------------------------------------------------------------

    def add_fault(
        self,
        method: str = "*",
        path: str = ".*",
        status: int | None = 503,
        body: Any = None,
        retry_after: float | str | None = None,
        delay: float = 0.0,
        times: int | None = 1,
        content_type: str | None = None,
    ) -> None:
        self.add_fault_spec(
            FaultSpec(
                method=method,
                path=path,
                status=status,
                body=body,
                retry_after=retry_after,
                delay=delay,
                times=times,
                content_type=content_type,
            )
        )

    def add_fault_spec(self, spec: FaultSpec) -> None:
        fault = Fault(spec=spec, pattern=re.compile(spec.path), remaining=spec.times)
        with self._lock:
            self._faults.append(fault)

    def take_fault(self, method: str, path: str) -> FaultSpec | None:
        """The first fault matching this request, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault.spec
            return None

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{**f.spec.model_dump(), "remaining": f.remaining} for f in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- recorded requests ----------------------------------------------------------------

    def record_request(self, entry: dict[str, Any]) -> int:
        """Store an API request as it arrives; returns its id for ``set_request_status``."""
        return self._record(self._requests, entry)

    def record_s3_request(self, entry: dict[str, Any]) -> int:
        """Store a request that reached the S3 server; returns its id."""
        return self._record(self._s3_requests, entry)

    def record_site_request(self, entry: dict[str, Any]) -> int:
        """Store a request answered by a deployed site (once answered); returns its id."""
        return self._record(self._site_requests, entry)

    def _record(self, into: list[dict[str, Any]], entry: dict[str, Any]) -> int:
        with self._lock:
            self._request_seq += 1
            into.append({**copy.deepcopy(entry), "id": self._request_seq})
            return self._request_seq

    def set_request_status(self, request_id: int, status: int) -> None:
        with self._lock:
            # Searched by id: a list may have been cleared while the request was in flight.
            for entry in (*reversed(self._requests), *reversed(self._s3_requests)):
                if entry["id"] == request_id:
                    entry["status"] = status
                    return

    def set_request_response(self, request_id: int, response: Any, fault: bool) -> None:
        """The JSON answer (None: none) of an API request, and whether a fault made it."""
        with self._lock:
            for entry in reversed(self._requests):
                if entry["id"] == request_id:
                    entry["response"] = copy.deepcopy(response)
                    entry["fault"] = fault
                    return

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every /v1 request received so far (Authorization redacted), oldest first."""
        with self._lock:
            return copy.deepcopy(self._requests)

    @property
    def s3_requests(self) -> list[dict[str, Any]]:
        """Every request that reached the S3 server so far (signatures masked), oldest first."""
        with self._lock:
            return copy.deepcopy(self._s3_requests)

    @property
    def site_requests(self) -> list[dict[str, Any]]:
        """Every request a deployed site answered so far, oldest first."""
        with self._lock:
            return copy.deepcopy(self._site_requests)

    def clear_requests(self) -> None:
        """Forget the recorded API, S3 and site requests, and the runtime log: both kinds
        of app log (``GET .../logs``) start empty again."""
        with self._lock:
            self._requests.clear()
            self._s3_requests.clear()
            self._site_requests.clear()
            self._runtime_logs.clear()

    def clear_s3_requests(self) -> None:
        with self._lock:
            self._s3_requests.clear()

    def clear_site_requests(self) -> None:
        with self._lock:
            self._site_requests.clear()
