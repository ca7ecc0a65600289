"""The API key `mixpeek login` stores: one JSON file in the user's config directory.

The directory is created 0700 and the file 0600 (written beside it and renamed into
place, so a reader never sees half a key). Reading checks the mode: a key that group
or others can read still works, but the caller is warned with the ``chmod`` to run.
On Windows the mode bits mean little; the file sits in the user's own profile.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from mixpeek_cli.atomic import write_atomically
from mixpeek_cli.config.settings import check_api_key
from mixpeek_cli.errors import UsageError

APP_NAME = "mixpeek"
CREDENTIALS_FILE = "credentials.json"
CONFIG_DIR_ENV = "MIXPEEK_CONFIG_DIR"


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """``MIXPEEK_CONFIG_DIR``, else the platform's user config dir for mixpeek."""
    env = os.environ if env is None else env
    if env.get(CONFIG_DIR_ENV):
        return Path(env[CONFIG_DIR_ENV]).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False))


def credentials_path(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / CREDENTIALS_FILE


def check_key(key: str, source: str = "stdin") -> str:
    """The key to store, stripped of surrounding whitespace; refuse what cannot be a key
    (the rules the settings apply to every key, :func:`check_api_key`)."""
    key = check_api_key(key, source, fix="pass exactly one key, on one line", line=True)
    if not key:
        raise UsageError("no API key given", hint="paste the key from the Mixpeek dashboard")
    return key


def store_key(key: str, env: Mapping[str, str] | None = None) -> Path:
    """Write ``key`` to the credentials file (0600 in a 0700 directory); return its path."""
    path = credentials_path(env)
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if sys.platform != "win32":
        # An existing directory keeps its mode through mkdir; ours must not be readable.
        os.chmod(directory, 0o700)
    # 0600 from creation: the key is never readable by others, not even for a moment.
    write_atomically(path, (json.dumps({"api_key": key}) + "\n").encode("utf-8"), mode=0o600)
    return path


def load_key(
    env: Mapping[str, str] | None = None, *, warn: Callable[[str], None] | None = None
) -> str | None:
    """The stored key, or None when there is none. A malformed file is a UsageError."""
    path = credentials_path(env)
    again = "run mixpeek login again, or mixpeek logout"
    try:
        st = path.stat()
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(
            f"cannot read the stored API key {path}: {exc.strerror or exc}",
            hint="fix its permissions, or run mixpeek logout and mixpeek login",
        ) from exc
    if warn is not None and sys.platform != "win32" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        warn(f"{path} can be read by other users: run chmod 600 {path}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:  # not UTF-8 (UnicodeDecodeError) or not JSON: a damaged file
        data = None
    key = data.get("api_key") if isinstance(data, dict) else None
    if not isinstance(key, str) or not key.strip():
        raise UsageError(f"{path} holds no valid API key", hint=again)
    return check_api_key(key, str(path), fix=again, line=True)


def remove_key(env: Mapping[str, str] | None = None) -> bool:
    """Delete the stored key; False when there was none."""
    try:
        credentials_path(env).unlink()
    except FileNotFoundError:
        return False
    return True


def stored_key_reader(warn: Callable[[str], None]) -> Callable[[], str | None]:
    """What commands pass to ``resolve_settings(stored_key=...)``: read only when needed."""
    return lambda: load_key(warn=warn)
