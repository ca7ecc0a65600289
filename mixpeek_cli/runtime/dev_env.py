"""The values ``mixpeek dev`` gives a page and a function, re-read when their files change.

``window.__MIXPEEK__`` gets the app's env vars (``build_config.env_vars``, read from the
API at start) overlaid by the public dotenv file (``.env.local``); ``ctx.env`` gets those,
then the secrets file (``.env.secrets``), then ``MIXPEEK_API_KEY`` and
``MIXPEEK_NAMESPACE_ID`` from the CLI's settings (a later source wins a name). A dotenv
file saved while ``mixpeek dev`` runs is read again on the next request; one that stops
parsing keeps its last good values, said once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from mixpeek_cli.config.dotenv_file import parse_dotenv
from mixpeek_cli.errors import UsageError


def read_dotenv(path: Path, *, required: bool) -> dict[str, str]:
    """The values of the dotenv file at ``path`` (read as ``mixpeek env push`` reads one:
    config/dotenv_file.py); ``{}`` when it is absent and not ``required``. A bad line is a
    UsageError naming the file and line; FileNotFoundError (required) and other OSErrors
    go to the caller."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise
        return {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text", hint="save it as UTF-8") from None
    return {entry.key: entry.value for entry in parse_dotenv(text, str(path))}


class DotenvFile:
    """One dotenv file's values, read again when its size or time changes."""

    def __init__(self, path: Path, *, required: bool, say: Callable[[str], None]) -> None:
        self.path = path
        self._say = say
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        # The first read raises (OSError, UsageError): a bad file stops the start.
        self._values = read_dotenv(path, required=required)
        self._stamp = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def values(self) -> dict[str, str]:
        with self._lock:
            stamp = self._stat()
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._values = read_dotenv(self.path, required=False)
                except UsageError as exc:
                    self._say(f"warning: {exc.one_line()}: keeping the values read before")
                except OSError as exc:
                    self._say(f"warning: cannot read {self.path} ({exc}): keeping its values")
            return dict(self._values)


class DevEnv:
    def __init__(
        self,
        remote: Mapping[str, str],
        public: DotenvFile,
        secrets: DotenvFile,
        system: Mapping[str, str],
    ) -> None:
        self._remote = dict(remote)
        self._public = public
        self._secrets = secrets
        self._system = dict(system)

    def page(self) -> dict[str, str]:
        """``window.__MIXPEEK__``'s env vars: never a secret, never the key."""
        return {**self._remote, **self._public.values()}

    def function(self) -> dict[str, str]:
        """``ctx.env``."""
        return {**self.page(), **self._secrets.values(), **self._system}
