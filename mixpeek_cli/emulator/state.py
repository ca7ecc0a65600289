"""Everything one emulator instance knows, behind one lock.

Builds advance on background threads while the HTTP server reads and writes from its
own thread, so every read or write of shared data goes through ``EmulatorState._lock``.
Nothing here is module-level: two emulators in one process never see each other's data.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from mixpeek_cli.emulator.models import DeployInfo, DeployStatus, FaultSpec, UploadMode


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    # "+00:00" rather than "Z": datetime.fromisoformat only reads "Z" from Python 3.11 on.
    return moment.isoformat(timespec="milliseconds")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass
class EmulatorConfig:
    build_seconds: float = 2.0
    upload_mode: UploadMode = "presigned"
    fail_builds_with: str | None = None
    logs_enabled: bool = True
    # The next N presigned URLs handed out fail: "Request has expired" / SignatureDoesNotMatch.
    expired_urls: int = 0
    bad_signature_urls: int = 0
    # Where presigned URLs and credentials point (default: moto): e.g. a test's proxy.
    client_s3_endpoint_url: str | None = None


@dataclass
class Deploy:
    app_id: str
    deploy_id: str
    environment: str
    message: str | None
    request: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    status: DeployStatus = "queued"
    error: str | None = None
    url: str | None = None
    logs: list[str] = field(default_factory=list)

    def info(self) -> DeployInfo:
        return DeployInfo(
            app_id=self.app_id,
            deploy_id=self.deploy_id,
            status=self.status,
            environment=self.environment,
            message=self.message,
            error=self.error,
            url=self.url,
            created_at=iso(self.created_at),
            updated_at=iso(self.updated_at),
        )


@dataclass
class Fault:
    spec: FaultSpec
    pattern: re.Pattern[str]
    remaining: int | None

    def matches(self, method: str, path: str) -> bool:
        wanted = self.spec.method.upper()
        return wanted in ("*", method.upper()) and self.pattern.search(path) is not None


@dataclass
class StoredAnswer:
    """What a POST answered under an Idempotency-Key, and what it was asked."""

    fingerprint: str
    status_code: int
    body: dict[str, Any]


class IdempotencyConflict(Exception):
    """The key was already used for a different request."""


class EmulatorState:
    def __init__(
        self,
        bucket: str,
        s3_endpoint_url: str,
        config: EmulatorConfig | None = None,
    ) -> None:
        self.bucket = bucket
        self.s3_endpoint_url = s3_endpoint_url
        self._config = config or EmulatorConfig()
        self._lock = threading.Lock()
        self._deploys: dict[str, Deploy] = {}
        self._faults: list[Fault] = []
        self._requests: list[dict[str, Any]] = []
        self._request_seq = 0
        self._answers: dict[str, StoredAnswer] = {}
        self._broken_urls: dict[str, str] = {}
        # "key etag" -> sha256 of bundles already read once (see storage.holds_bundle);
        # single dict reads and writes need no lock.
        self.verified: dict[str, str] = {}
        # Serialises whole idempotent requests so two concurrent retries of one key
        # cannot both create a deploy; separate from _lock so builds never wait on it.
        self.idempotency_lock = threading.Lock()
        # Set on shutdown so build threads stop sleeping and exit.
        self.stopping = threading.Event()

    # -- config -------------------------------------------------------------------------

    @property
    def config(self) -> EmulatorConfig:
        """A copy of the current configuration; change it with ``configure``."""
        with self._lock:
            return copy.copy(self._config)

    def configure(self, **changes: Any) -> EmulatorConfig:
        with self._lock:
            for name, value in changes.items():
                if not hasattr(self._config, name):
                    raise AttributeError(f"unknown emulator setting {name!r}")
                setattr(self._config, name, value)
            return copy.copy(self._config)

    # -- presigned URLs that must fail ------------------------------------------------------

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

    def break_url(self, signature: str, reason: str) -> None:
        with self._lock:
            self._broken_urls[signature] = reason

    def url_rejection(self, signature: str) -> str | None:
        with self._lock:
            return self._broken_urls.get(signature)

    # -- deploys --------------------------------------------------------------------------

    def add_deploy(self, deploy: Deploy) -> None:
        with self._lock:
            self._deploys[deploy.deploy_id] = deploy

    def get_deploy(self, app_id: str, deploy_id: str) -> DeployInfo | None:
        with self._lock:
            deploy = self._deploys.get(deploy_id)
            return deploy.info() if deploy and deploy.app_id == app_id else None

    def list_deploys(
        self, app_id: str, environment: str | None = None, limit: int = 20
    ) -> list[DeployInfo]:
        with self._lock:
            # Insertion order is creation order; reversing gives newest first even when
            # two deploys share a timestamp.
            chosen = [
                d
                for d in reversed(self._deploys.values())
                if d.app_id == app_id and (environment is None or d.environment == environment)
            ]
            return [d.info() for d in chosen[:limit]]

    def update_deploy(
        self,
        deploy_id: str,
        *,
        status: DeployStatus | None = None,
        error: str | None = None,
        url: str | None = None,
        log: str | None = None,
    ) -> None:
        with self._lock:
            deploy = self._deploys[deploy_id]
            if status is not None:
                deploy.status = status
            if error is not None:
                deploy.error = error
            if url is not None:
                deploy.url = url
            if log is not None:
                deploy.logs.append(log)
            deploy.updated_at = utc_now()

    def deploy_logs(self, app_id: str, deploy_id: str, offset: int) -> list[str] | None:
        with self._lock:
            deploy = self._deploys.get(deploy_id)
            if deploy is None or deploy.app_id != app_id:
                return None
            return list(deploy.logs[offset:])

    def deploy_request(self, deploy_id: str) -> dict[str, Any]:
        """The JSON body that created a deploy, for tests."""
        with self._lock:
            return copy.deepcopy(self._deploys[deploy_id].request)

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
        """Store a request as it arrives; returns its id for ``set_request_status``."""
        with self._lock:
            self._request_seq += 1
            self._requests.append({**copy.deepcopy(entry), "id": self._request_seq})
            return self._request_seq

    def set_request_status(self, request_id: int, status: int) -> None:
        with self._lock:
            # Searched by id: the list may have been cleared while the request was in flight.
            for entry in reversed(self._requests):
                if entry["id"] == request_id:
                    entry["status"] = status
                    return

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every /v1 request received so far (Authorization redacted), oldest first."""
        with self._lock:
            return copy.deepcopy(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def config_dict(self) -> dict[str, Any]:
        return asdict(self.config)
