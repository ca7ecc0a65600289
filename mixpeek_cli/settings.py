"""Settings resolved once, highest first: flag, environment variable, project file, default.

Like twine's ``Settings``: one keyword-only object built in one place and passed down,
so no stage reads the environment or a file on its own.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixpeek_cli.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_BASE_URL = "https://api.mixpeek.com"
DEFAULT_ENVIRONMENT = "production"
DEFAULT_POLL_INTERVAL = 1.0
DEFAULT_TIMEOUT = 900.0
ENVIRONMENTS = ("staging", "production")
PROJECT_FILE = "mixpeek.toml"

# App ids travel in URL paths; anything outside this set is a typo or an injection.
_APP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True, kw_only=True)
class Settings:
    api_key: str | None
    base_url: str
    app_id: str | None
    environment: str
    poll_interval: float
    timeout: float

    def require_remote(self) -> tuple[str, str]:
        """The app id and key a network call needs, or a UsageError naming what to set."""
        if not self.app_id:
            raise UsageError(
                "no app id",
                hint=f"pass -a/--app APP_ID, set MIXPEEK_APP_ID, or add app_id to {PROJECT_FILE}",
            )
        if not self.api_key:
            raise UsageError("no API key", hint="pass --api-key or set MIXPEEK_API_KEY")
        return self.app_id, self.api_key


def read_project_file(root: Path) -> dict[str, Any]:
    """The ``mixpeek.toml`` at ``root``, or ``{}`` when there is none."""
    path = root / PROJECT_FILE
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already carries "(at line L, column C)".
        raise UsageError(f"{path} is not valid TOML: {exc}", hint="fix the file") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    return data


def resolve_settings(
    *,
    root: Path,
    env: Mapping[str, str],
    api_key: str | None = None,
    base_url: str | None = None,
    app_id: str | None = None,
    environment: str | None = None,
    poll_interval: float | None = None,
    timeout: float | None = None,
) -> Settings:
    """Merge flags (the keyword arguments), ``env`` and ``root/mixpeek.toml``."""
    project = read_project_file(root)

    def pick(flag: Any, env_name: str | None, key: str | None, default: Any) -> Any:
        if flag is not None:
            return flag
        if env_name and env.get(env_name):
            return env[env_name]
        if key and project.get(key) is not None:
            return project[key]
        return default

    resolved_env = str(pick(environment, "MIXPEEK_ENVIRONMENT", "environment", DEFAULT_ENVIRONMENT))
    if resolved_env not in ENVIRONMENTS:
        raise UsageError(f"invalid environment {resolved_env!r}", hint="use staging or production")
    resolved_app = pick(app_id, "MIXPEEK_APP_ID", "app_id", None)
    if resolved_app is not None:
        resolved_app = str(resolved_app)
        if not _APP_ID.match(resolved_app):
            raise UsageError(
                f"invalid app id {resolved_app!r}",
                hint="an app id holds only letters, digits, '_', '-' and '.'",
            )
    return Settings(
        api_key=pick(api_key, "MIXPEEK_API_KEY", None, None) or None,
        base_url=_base_url(str(pick(base_url, "MIXPEEK_BASE_URL", None, DEFAULT_BASE_URL))),
        app_id=resolved_app,
        environment=resolved_env,
        poll_interval=_positive(
            pick(poll_interval, "MIXPEEK_POLL_INTERVAL", None, DEFAULT_POLL_INTERVAL),
            "poll interval (--poll-interval / MIXPEEK_POLL_INTERVAL)",
        ),
        timeout=_positive(
            pick(timeout, "MIXPEEK_TIMEOUT", None, DEFAULT_TIMEOUT), "timeout (--timeout)"
        ),
    )


def _positive(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"invalid {what}: {value!r}", hint="give a number of seconds") from None
    if not math.isfinite(number) or number <= 0:
        raise UsageError(f"invalid {what}: {value!r}", hint="give a positive number of seconds")
    return number


def _base_url(value: str) -> str:
    url = value.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url):
        raise UsageError(
            f"invalid base URL {value!r}",
            hint="give an http(s) URL such as https://api.mixpeek.com",
        )
    return url
