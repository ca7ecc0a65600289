"""An app's env vars and secrets (``build_config.env_vars``, ``build_config.secrets``):
reading them from an app answer, the PATCH bodies that change them, and the check of the
answer to that PATCH (docs/api.md, "How a PATCH changes a map" [assumed]).

The rule: a PATCH naming one of the two maps replaces it whole and leaves the rest of the
app as it was; a secret sent as ``***`` (the mask every answer shows) keeps its stored
value. So a body holds that one map and nothing else: for env vars the whole new map, for
secrets every name kept with ``***`` and the one being set with its value. Never a masked
value for a key being set, never a key the user did not name left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from mixpeek_cli.errors import ApiError
from mixpeek_cli.service.models import AppInfo

MASKED = "***"
# In env_vars it enables the site's /api proxy and is never sent to the browser: the CLI
# takes its value from a prompt or stdin only and never shows it.
PROXY_KEY = "MIXPEEK_API_KEY"
# What a name may be [assumed: not published]: what ctx.env and a dotenv file can carry.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def valid_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None and len(name) <= 256


def _build_config(app: AppInfo) -> dict[str, Any]:
    config = app.extra.get("build_config")
    return config if isinstance(config, dict) else {}


def env_vars_of(app: AppInfo) -> dict[str, str]:
    """The app's env vars, in the service's order (values that are not text left out)."""
    found = _build_config(app).get("env_vars")
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}


def secret_names_of(app: AppInfo) -> list[str]:
    """The names of the app's secrets (their values are masked in every answer)."""
    found = _build_config(app).get("secrets")
    return [k for k in found if isinstance(k, str)] if isinstance(found, dict) else []


def env_vars_body(env_vars: Mapping[str, str]) -> dict[str, Any]:
    """The PATCH body that makes ``env_vars`` the app's whole env var map."""
    return {"build_config": {"env_vars": dict(env_vars)}}


def secrets_body(kept: Iterable[str], values: Mapping[str, str]) -> dict[str, Any]:
    """The PATCH body that keeps the secrets ``kept`` (sent masked) and sets ``values``."""
    if any(value == MASKED for value in values.values()):
        raise ValueError("a secret being set is never sent masked")
    secrets = {name: MASKED for name in kept if name not in values}
    secrets.update(values)
    return {"build_config": {"secrets": secrets}}


def masked_env_vars(env_vars: Mapping[str, str]) -> dict[str, str]:
    """``env_vars`` as shown: the proxy key's value masked."""
    return {k: (MASKED if k == PROXY_KEY else v) for k, v in env_vars.items()}


def check_env_vars(answer: AppInfo, wanted: Mapping[str, str], removed: Iterable[str]) -> None:
    """Raise (exit 5) unless the PATCH's answer holds exactly what was asked: every key of
    ``wanted`` with its value, none of ``removed``. Names only in the message."""
    have = env_vars_of(answer)
    lost = [k for k in wanted if k not in have]
    other = [k for k in wanted if k in have and have[k] != wanted[k]]
    still = [k for k in removed if k in have]
    _raise_if("env var", lost, other, still, "mixpeek env list")


def check_secrets(answer: AppInfo, wanted: Iterable[str], removed: Iterable[str]) -> None:
    """Raise (exit 5) unless the PATCH's answer names every secret of ``wanted`` and none
    of ``removed`` (values are masked: names are all that can be checked)."""
    have = set(secret_names_of(answer))
    lost = [k for k in wanted if k not in have]
    still = [k for k in removed if k in have]
    _raise_if("secret", lost, [], still, "mixpeek secrets list")


def _raise_if(what: str, lost: list[str], other: list[str], still: list[str], see: str) -> None:
    parts = []
    if lost:
        parts.append(f"lost {_names(what, lost)}")
    if other:
        parts.append(f"holds another value for {_names(what, other)}")
    if still:
        parts.append(f"still has {_names(what, still)}")
    if parts:
        raise ApiError(
            f"the service's answer to the change {' and '.join(parts)}",
            hint=f"see what the app holds now with `{see}`, then set what is missing again",
        )


def _names(what: str, names: list[str]) -> str:
    return f"the {what}{'s' if len(names) > 1 else ''} {', '.join(names)}"
