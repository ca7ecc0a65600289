"""``ctx.kv``: a server function's key-value store, one per app and environment.

Keys and values are strings; every entry has a time to live (``set``'s ``ttl`` in seconds,
30 days when not given) after which it reads as absent. ``mixpeek dev`` keeps the store in
the app's ``.mixpeek/kv.json`` (which the bundle never ships), rewritten whole and
atomically after each change so a Ctrl-C never leaves half a file, and readable by a
person; the emulator keeps one in memory per deployed app and environment. Every call
takes the store's lock: two functions running at once each see the other's writes, one
call at a time, as from a remote store (there is no transaction across calls).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from mixpeek_cli.atomic import write_atomically

DEFAULT_TTL = 30 * 24 * 3600
KV_FILE = "kv.json"


class KvError(ValueError):
    """A call the store refuses (the message says why; the function sees it thrown)."""


class KvStore:
    """The entries, and the file they live in (None: in memory only)."""

    def __init__(self, path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, float]] = self._load() if path else {}

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._entries.get(_key(key))
            if entry is None or entry[1] <= self._clock():
                return None
            return entry[0]

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        seconds = DEFAULT_TTL if ttl is None else ttl
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0:
            raise KvError(f"kv.set: ttl must be a positive number of seconds, not {ttl!r}")
        if not isinstance(value, str):
            raise KvError("kv.set: the value must be a string")
        with self._lock:
            self._entries[_key(key)] = (value, self._clock() + seconds)
            self._save()

    def delete(self, key: str) -> bool:
        """Remove ``key``; whether it was there."""
        with self._lock:
            found = self._entries.pop(_key(key), None)
            if found is not None:
                self._save()
            return found is not None and found[1] > self._clock()

    def keys(self, prefix: str = "") -> list[str]:
        """The live keys that start with ``prefix``, sorted."""
        with self._lock:
            now = self._clock()
            return sorted(
                k for k, (_, exp) in self._entries.items() if exp > now and k.startswith(prefix)
            )

    def _load(self) -> dict[str, tuple[str, float]]:
        assert self._path is not None
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, ValueError):
            # Kept aside, not overwritten: a person may want what was in it.
            broken = self._path.with_name(f"{self._path.name}.broken-{int(self._clock())}")
            self._path.replace(broken)
            return {}
        entries: dict[str, tuple[str, float]] = {}
        if isinstance(data, dict):
            for key, entry in data.items():
                if isinstance(entry, dict):
                    value, expires = entry.get("value"), entry.get("expires")
                    if isinstance(value, str) and isinstance(expires, (int, float)):
                        entries[key] = (value, float(expires))
        return entries

    def _save(self) -> None:
        """Write the live entries (the lock held)."""
        if self._path is None:
            return
        now = self._clock()
        self._entries = {k: entry for k, entry in self._entries.items() if entry[1] > now}
        document = {k: {"value": v, "expires": exp} for k, (v, exp) in self._entries.items()}
        self._path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        write_atomically(self._path, text.encode("utf-8"))


def _key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise KvError("kv: a key is a non-empty string")
    return key
