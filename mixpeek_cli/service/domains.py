"""An app's custom domains: list, add, verify, remove (``/v1/apps/{id}/domains``), and the
two DNS records a domain needs.

Answers are the SDK's ``DomainResponse`` (``domain``, ``status``, ``verification_token``,
``cname_target``, ``is_primary``, ``verified_at``), read tolerantly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mixpeek_cli.errors import ApiError
from mixpeek_cli.service.models import text_field

if TYPE_CHECKING:
    from mixpeek_cli.service.client import ApiClient

# The service's statuses, in the order a domain goes through them [sdk: CustomDomainConfig];
# ``active`` is the live one [assumed: docs/api.md].
LIVE = "active"
CHECKING = "verifying"
# The TXT record's name and value [sdk: the domains API's description].
TXT_PREFIX = "_mixpeek-verify."
TXT_VALUE = "mixpeek-site-verification={token}"
ADD_MAYBE = "the domain may have been added: check `mixpeek domains list` before adding it again"


@dataclass(frozen=True, kw_only=True)
class Domain:
    domain: str
    status: str
    verification_token: str | None
    cname_target: str | None
    is_primary: bool
    verified_at: str | None

    def records(self) -> list[dict[str, str | None]]:
        """The two DNS records to create: the TXT that proves ownership, the CNAME that
        routes the name to the app (a value the service did not give is None)."""
        token = self.verification_token
        return [
            {
                "type": "TXT",
                "name": f"{TXT_PREFIX}{self.domain}",
                "value": TXT_VALUE.format(token=token) if token else None,
            },
            {"type": "CNAME", "name": self.domain, "value": self.cname_target},
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "status": self.status,
            "is_primary": self.is_primary,
            "verified_at": self.verified_at,
            "verification_token": self.verification_token,
            "cname_target": self.cname_target,
        }


def parse_domain(data: Mapping[str, Any]) -> Domain:
    what = "domain answer"
    primary = data.get("is_primary")
    return Domain(
        domain=text_field(data, "domain", required=True, what=what) or "",
        status=text_field(data, "status", required=False, what=what) or "unknown",
        verification_token=_text(data.get("verification_token")),
        cname_target=_text(data.get("cname_target")),
        is_primary=primary if isinstance(primary, bool) else False,
        verified_at=_text(data.get("verified_at")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def list_domains(api: ApiClient, app_id: str) -> list[Domain]:
    data = api.call("GET", f"/v1/apps/{app_id}/domains")
    items = data.get("domains")
    if not isinstance(items, list):
        raise ApiError("the API's domain list has no 'domains' array")
    return [parse_domain(item) for item in items if isinstance(item, dict) and item.get("domain")]


def add_domain(api: ApiClient, app_id: str, domain: str, *, primary: bool) -> Domain:
    data = api.call(
        "POST",
        f"/v1/apps/{app_id}/domains",
        json_body={"domain": domain, "is_primary": primary},
        creates=ADD_MAYBE,
    )
    return parse_domain(data)


def verify_domain(api: ApiClient, app_id: str, domain: str) -> Domain:
    return parse_domain(api.call("POST", f"/v1/apps/{app_id}/domains/{domain}/verify"))


def remove_domain(api: ApiClient, app_id: str, domain: str) -> None:
    api.call("DELETE", f"/v1/apps/{app_id}/domains/{domain}")
