"""Settings resolved once, highest first: flag, environment variable, project file, default.

Like twine's ``Settings``: one keyword-only object built in one place and passed down,
so no stage reads the environment or a file on its own.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from mixpeek_cli.errors import UsageError
from mixpeek_cli.loopback import is_loopback

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

# App ids travel in URL paths and namespaces in a header; anything outside this set is a
# typo or an injection.
_APP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_NAMESPACE = _APP_ID


@dataclass(frozen=True, kw_only=True)
class Settings:
    api_key: str | None
    base_url: str
    app_id: str | None
    environment: str
    poll_interval: float
    timeout: float
    # Where each setting came from ("flag", "env MIXPEEK_...", PROJECT_FILE, "user config",
    # "default", "unset"): `mixpeek whoami` shows it, never the key itself.
    sources: dict[str, str] = field(default_factory=dict)
    # Sent as X-Namespace on Mixpeek calls when set, never otherwise.
    namespace: str | None = None
    # Run in PATH before bundling (through the shell), e.g. "npm run build".
    build_command: str | None = None
    # Relative to PATH, e.g. "dist": the bundle is this directory's contents.
    output_dir: str | None = None

    def require_remote(self) -> tuple[str, str]:
        """The app id and key a network call needs, or a UsageError naming what to set."""
        if not self.app_id:
            raise UsageError(
                "no app id",
                hint=f"pass -a/--app APP_ID, set MIXPEEK_APP_ID, or add app_id to {PROJECT_FILE}",
            )
        if not self.api_key:
            raise UsageError(
                "no API key", hint="set MIXPEEK_API_KEY, pass --api-key, or run mixpeek login"
            )
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
    stored_key: Callable[[], str | None] | None = None,
    namespace: str | None = None,
    build_command: str | None = None,
    output_dir: str | None = None,
) -> Settings:
    """Merge flags (the keyword arguments), ``env`` and ``root/mixpeek.toml``.

    ``stored_key`` reads the key `mixpeek login` stored; it is the lowest-priority
    source for the key and is called only when neither flag nor env gives one.
    """
    project = read_project_file(root)
    sources: dict[str, str] = {}

    def pick(flag: Any, env_name: str | None, key: str | None, default: Any) -> Any:
        name = key or (env_name or "").removeprefix("MIXPEEK_").lower()
        if flag is not None:
            sources[name] = "flag"
            return flag
        if env_name and env.get(env_name):
            sources[name] = f"env {env_name}"
            return env[env_name]
        if key and project.get(key) is not None:
            sources[name] = PROJECT_FILE
            return project[key]
        sources[name] = "default" if default is not None else "unset"
        return default

    resolved_env = check_environment(
        str(pick(environment, "MIXPEEK_ENVIRONMENT", "environment", DEFAULT_ENVIRONMENT))
    )
    resolved_app = pick(app_id, "MIXPEEK_APP_ID", "app_id", None)
    if resolved_app is not None:
        resolved_app = str(resolved_app)
        if not _APP_ID.match(resolved_app):
            raise UsageError(
                f"invalid app id {resolved_app!r}",
                hint="an app id holds only letters, digits, '_', '-' and '.'",
            )
    resolved_key = pick(api_key, "MIXPEEK_API_KEY", None, None) or None
    if resolved_key is None and stored_key is not None:
        resolved_key = stored_key()
        if resolved_key:
            sources["api_key"] = "user config"
    return Settings(
        api_key=resolved_key,
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
        sources=sources,
        namespace=_namespace(pick(namespace, "MIXPEEK_NAMESPACE", "namespace", None)),
        build_command=_command(pick(build_command, "MIXPEEK_BUILD_COMMAND", "build_command", None)),
        output_dir=_output_dir(pick(output_dir, "MIXPEEK_OUTPUT_DIR", "output_dir", None)),
    )


def check_environment(value: str) -> str:
    """``value`` if it names an environment, else a UsageError saying which ones do."""
    if value not in ENVIRONMENTS:
        raise UsageError(f"invalid environment {value!r}", hint="use staging or production")
    return value


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
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"invalid base URL {value!r}",
            hint="give an http(s) URL such as https://api.mixpeek.com",
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        # The key travels in a header: plain HTTP would show it to anyone on the path.
        raise UsageError(
            f"refusing to send the API key over plain HTTP to {parts.hostname}",
            hint="use an https:// base URL (plain http is allowed for loopback only)",
        )
    return url


def _namespace(value: Any) -> str | None:
    if value is None or value == "":
        return None
    name = str(value)
    if not _NAMESPACE.match(name):
        raise UsageError(
            f"invalid namespace {name!r}",
            hint="a namespace holds only letters, digits, '_', '-' and '.' (e.g. ns_abc123)",
        )
    return name


def _command(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError(
            f"invalid build command {value!r}", hint='give it as a string, e.g. "npm run build"'
        )
    return value.strip() or None  # empty: no build command


def _output_dir(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).replace("\\", "/")
    path = PurePosixPath(text)
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", text):
        raise UsageError(
            f"invalid output directory {value!r}",
            hint="give a directory inside PATH, relative to it (e.g. dist)",
        )
    normal = path.as_posix()
    return None if normal == "." else normal
