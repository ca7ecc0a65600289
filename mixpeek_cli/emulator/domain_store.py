"""The custom domains of every app, behind their own lock.

A domain belongs to one app at a time (the service's domains are unique). Its status goes
``pending`` (added) -> ``verifying`` (verify asked) -> ``provisioning_tls`` -> ``active``
(live) as the ``/_emulator`` control says; a failed verification puts it back to
``pending`` (the published statuses have no failed one).
"""

from __future__ import annotations

import copy
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mixpeek_cli.emulator.admin_models import DomainResponse
from mixpeek_cli.emulator.errors import ApiError, not_found
from mixpeek_cli.emulator.records import iso, utc_now


@dataclass
class DomainRecord:
    app_id: str
    domain: str
    status: str
    verification_token: str
    cname_target: str
    is_primary: bool
    verified_at: datetime | None = None

    def answer(self) -> DomainResponse:
        return DomainResponse(
            domain=self.domain,
            status=self.status,
            verification_token=self.verification_token,
            cname_target=self.cname_target,
            is_primary=self.is_primary,
            verified_at=iso(self.verified_at) if self.verified_at else None,
        )


class DomainStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._domains: dict[str, DomainRecord] = {}  # by domain name, in the order added

    def add(self, app_id: str, domain: str, *, primary: bool, cname_target: str) -> DomainRecord:
        with self._lock:
            held = self._domains.get(domain)
            if held is not None:
                whose = "this app" if held.app_id == app_id else "another app"
                raise ApiError(
                    409, "AlreadyExistsError", f"{domain} is attached to {whose}", "domain_taken"
                )
            if primary:
                self._unset_primary(app_id)
            record = DomainRecord(
                app_id=app_id,
                domain=domain,
                status="pending",
                verification_token=secrets.token_hex(16),
                cname_target=cname_target,
                is_primary=primary,
            )
            self._domains[domain] = record
            return copy.deepcopy(record)

    def _unset_primary(self, app_id: str) -> None:
        for record in self._domains.values():
            if record.app_id == app_id:
                record.is_primary = False

    def of_app(self, app_id: str) -> list[DomainRecord]:
        with self._lock:
            return [copy.deepcopy(r) for r in self._domains.values() if r.app_id == app_id]

    def _find(self, app_id: str, domain: str) -> DomainRecord:
        record = self._domains.get(domain)
        if record is None or record.app_id != app_id:
            raise not_found(f"Domain {domain} of app {app_id}", "domain_not_found")
        return record

    def verify(self, app_id: str, domain: str) -> DomainRecord:
        """Start the DNS checks: ``pending`` becomes ``verifying``; later states stay."""
        with self._lock:
            record = self._find(app_id, domain)
            if record.status == "pending":
                record.status = "verifying"
            return copy.deepcopy(record)

    def settle(self, app_id: str, domain: str, outcome: str) -> DomainRecord:
        """End the checks as a test says: ``provisioning_tls`` or ``active`` (verified
        now), or ``failed`` (back to ``pending``, unverified)."""
        with self._lock:
            record = self._find(app_id, domain)
            if outcome == "failed":
                record.status, record.verified_at = "pending", None
            else:
                record.status = outcome
                record.verified_at = record.verified_at or utc_now()
            return copy.deepcopy(record)

    def remove(self, app_id: str, domain: str) -> None:
        with self._lock:
            self._find(app_id, domain)
            del self._domains[domain]

    def custom_domains(self, app_id: str) -> list[dict[str, Any]]:
        """The app's domains as its answers' ``custom_domains`` (CustomDomainConfig)."""
        return [record.answer().model_dump() for record in self.of_app(app_id)]

    def forget_app(self, app_id: str) -> None:
        """Drop the app's domains (a deleted app's stop resolving at once)."""
        with self._lock:
            for name in [n for n, r in self._domains.items() if r.app_id == app_id]:
                del self._domains[name]
