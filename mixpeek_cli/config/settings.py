"""Settings resolved once, highest first: flag, environment variable, project file, default.

Like twine's ``Settings``: one keyword-only object built in one place and passed down,
so no stage reads the environment or a file on its own.
"""

from __future__ import annotations

import math
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from mixpeek_cli.deadline import Deadline
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
# Dropped from around a key read as a line (a prompt, stdin, the stored key's file).
LINE_BLANKS = " \t\r\n"
# The settings mixpeek.toml can hold; each is a string there.
_PROJECT_KEYS = ("app_id", "environment", "namespace", "build_command", "output_dir")


@dataclass(frozen=True, kw_only=True)
class Settings:
    api_key: str | None
    base_url: str
    app_id: str | None
    environment: str
    poll_interval: float
    timeout: float
    # --timeout counted from when the settings were resolved, i.e. the command's start:
    # every wait of the command ends by it (mixpeek_cli/deadline.py).
    deadline: Deadline
    # Where each setting came from ("flag", "env MIXPEEK_...", PROJECT_FILE, "user config",
    # "default", "unset"): `mixpeek whoami` shows it, never the key itself.
    sources: dict[str, str] = field(default_factory=dict)
    # Sent as X-Namespace on Mixpeek calls when set, never otherwise.
    namespace: str | None = None
    # Run in PATH before bundling (through the shell), e.g. "npm run build".
    build_command: str | None = None
    # Relative to PATH, e.g. "dist": the bundle is this directory's contents.
    output_dir: str | None = None

    def require_remote(self, *, app: bool = True) -> tuple[str, str]:
        """The app id and key a network call needs, or one UsageError naming all that is
        missing (fixing one only to be told of the next wastes a run). ``app=False``: a
        call about no one app (``apps list``) needs the key only; the app id is then ""."""
        missing: list[tuple[str, str]] = []
        if app and not self.app_id:
            missing.append(
                (
                    "no app id",
                    f"pass -a/--app APP_ID, set MIXPEEK_APP_ID, or add app_id to {PROJECT_FILE}",
                )
            )
        if not self.api_key:
            missing.append(
                ("no API key", "set MIXPEEK_API_KEY, pass --api-key, or run mixpeek login")
            )
        if missing:
            raise UsageError(
                " and ".join(what for what, _ in missing),
                hint="; and ".join(how for _, how in missing),
            )
        assert self.api_key  # for mypy: checked just above
        return self.app_id or "", self.api_key


def read_project_file(root: Path) -> dict[str, Any]:
    """The ``mixpeek.toml`` at ``root``, or ``{}`` when there is none."""
    path = root / PROJECT_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # TOML is UTF-8 by definition; a Latin-1 or UTF-16 file would otherwise end in
        # a traceback. Say where the first bad byte is, as tomllib does for syntax.
        line = raw[: exc.start].count(b"\n") + 1
        raise UsageError(
            f"{path} is not UTF-8 text (byte 0x{raw[exc.start]:02X} on line {line})",
            hint="save it as UTF-8",
        ) from None
    try:
        # A byte-order mark (some Windows editors write one) is not TOML, but harmless.
        data: dict[str, Any] = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already carries "(at line L, column C)".
        raise UsageError(f"{path} is not valid TOML: {exc}", hint="fix the file") from exc
    return data


def check_api_key(value: str, source: str, *, fix: str = "re-copy it", line: bool = False) -> str:
    """``value`` if it holds only printable ASCII, as every key does; else a UsageError
    naming ``source`` and the kind of character, never the key.

    A key with a newline, a tab, a NUL, a space or a non-ASCII character would fail in an
    HTTP header (httpx's error then quotes the whole key) or send another key than meant:
    it is refused before any request, even when the character is only at an end, since
    the key as given is not the key. ``line``: ``value`` is a line read from a prompt,
    stdin or a file the CLI wrote, whose line ending and surrounding blanks are dropped.
    """
    key = value.strip(LINE_BLANKS) if line else value
    bad = next((i for i, ch in enumerate(key) if not "!" <= ch <= "~"), None)
    if bad is not None:
        if bad > 0 and not any("!" <= ch <= "~" for ch in key[bad:]):
            where = " at its end"  # a line ending copied with it, most often
        elif bad == 0 and len(key) > 1:
            where = " at its start"
        else:
            where = ""
        raise UsageError(
            f"the API key (from {source}) holds {_describe(key[bad])}{where}", hint=fix
        )
    return key


def _describe(ch: str) -> str:
    named = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab", "\x00": "a NUL byte"}
    if ch in named:
        return named[ch]
    if ch == " ":
        return "a space"
    if ch.isascii():
        return f"a control character (U+{ord(ch):04X})"
    name = unicodedata.name(ch, "")
    return f"a non-ASCII character (U+{ord(ch):04X}{' ' + name if name else ''})"


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
    _check_project_types(project, root / PROJECT_FILE)
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

    def checked(name: str, check: Callable[[Any], Any], value: Any) -> Any:
        # A bad value is easier to fix when the message says where it was set.
        try:
            return check(value)
        except UsageError as exc:
            exc.message += f" (from {_where(sources[name])})"
            raise

    resolved_env = checked(
        "environment",
        lambda v: check_environment(str(v)),
        pick(environment, "MIXPEEK_ENVIRONMENT", "environment", DEFAULT_ENVIRONMENT),
    )
    resolved_app = checked("app_id", _app_id, pick(app_id, "MIXPEEK_APP_ID", "app_id", None))
    given_key = pick(api_key, "MIXPEEK_API_KEY", None, None)
    resolved_key = _given_key(given_key, sources["api_key"]) if given_key else None
    if not resolved_key:  # unset, empty, or only whitespace: the next source's turn
        resolved_key = None
        sources["api_key"] = "unset"
    if resolved_key is None and stored_key is not None:
        # load_key checked it already, naming the file; the check is repeated for any
        # other reader passed in.
        resolved_key = (
            check_api_key(stored_key() or "", "mixpeek login", fix="run mixpeek login again")
            or None
        )
        if resolved_key:
            sources["api_key"] = "user config"
    resolved_timeout = _positive(
        pick(timeout, "MIXPEEK_TIMEOUT", None, DEFAULT_TIMEOUT), "timeout (--timeout)"
    )
    return Settings(
        api_key=resolved_key,
        base_url=_base_url(str(pick(base_url, "MIXPEEK_BASE_URL", None, DEFAULT_BASE_URL))),
        app_id=resolved_app,
        environment=resolved_env,
        poll_interval=_positive(
            pick(poll_interval, "MIXPEEK_POLL_INTERVAL", None, DEFAULT_POLL_INTERVAL),
            "poll interval (--poll-interval / MIXPEEK_POLL_INTERVAL)",
        ),
        timeout=resolved_timeout,
        deadline=Deadline.after(resolved_timeout),
        sources=sources,
        namespace=checked(
            "namespace", _namespace, pick(namespace, "MIXPEEK_NAMESPACE", "namespace", None)
        ),
        build_command=_command(pick(build_command, "MIXPEEK_BUILD_COMMAND", "build_command", None)),
        output_dir=checked(
            "output_dir", _output_dir, pick(output_dir, "MIXPEEK_OUTPUT_DIR", "output_dir", None)
        ),
    )


def _check_project_types(project: Mapping[str, Any], path: Path) -> None:
    """Every setting in mixpeek.toml is a string: ``app_id = 5`` or ``environment = [1]``
    is a slip, said as such, rather than a value turned into text and refused later."""
    for key in _PROJECT_KEYS:
        value = project.get(key)
        if value is not None and not isinstance(value, str):
            kind = {bool: "a boolean", int: "a number", float: "a number", list: "an array"}
            what = kind.get(type(value), "a table" if isinstance(value, dict) else "a date")
            raise UsageError(
                f"{path}: {key} must be a string, not {what}",
                hint=f'write it in quotes, e.g. {key} = "..."',
            )


def _given_key(value: Any, source: str) -> str:
    if not isinstance(value, str):  # only flags and env give a key: both are text
        raise UsageError("the API key is not text", hint="pass it as a string")
    return check_api_key(value, "--api-key" if source == "flag" else _where(source))


def _where(source: str) -> str:
    """A setting's source as a person would look for it: the flag, variable or file."""
    if source == "flag":
        return "the command line"
    if source.startswith("env "):
        return source.removeprefix("env ")
    if source == "user config":
        return "the key mixpeek login stored"
    return source


def _app_id(value: Any) -> str | None:
    if value is None:
        return None
    app = str(value)
    if not _APP_ID.match(app):
        raise UsageError(
            f"invalid app id {app!r}", hint="an app id holds only letters, digits, '_', '-' and '.'"
        )
    return app


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
