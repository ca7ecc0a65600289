"""The zip's MD5, computed on a helper thread while the PUT runs: S3's ETag for a single PUT.

For an unencrypted (or SSE-S3) object uploaded in one PUT, S3's ETag is the MD5 of its
bytes. Comparing it with the ETag the PUT and verify-upload report proves the stored
bytes are the bytes sent, on any store that follows this rule (S3, MinIO, moto). hashlib
releases the GIL, so this costs a core, not upload time; and on Linux the thread runs at
the lowest CPU priority, so it only takes a core nothing else wants.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

READ_SIZE = 8 * 1024 * 1024
_PLAIN_MD5 = re.compile(r"^[0-9a-f]{32}$")


def compute_md5(path: Path, stop: threading.Event | None = None) -> str:
    """Hex MD5 of the file at ``path`` ("" when ``stop`` was set before the end)."""
    digest = hashlib.md5(usedforsecurity=False)
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            if stop is not None and stop.is_set():
                return ""
            digest.update(view[:n])
    return digest.hexdigest()


def lower_thread_priority() -> None:
    """Give the calling thread the lowest CPU priority (nice 19), where that is per thread.

    The hash only checks the upload: on a busy machine (a CI runner, or a local S3 store
    such as MinIO or the emulator sharing the cores) it must not slow the upload itself.
    Linux only, where ``setpriority`` on a thread id affects just that thread; elsewhere
    the id could name another process.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


class Md5Job:
    """The zip's MD5 on a daemon thread at the lowest priority while the PUT runs, finished
    at normal priority by the caller once the PUT is done.

    A nice-19 thread gets almost no CPU on a busy machine (seen: 5 s for 76 MiB while
    other work held both cores), and an unprivileged process cannot raise it back; so
    :meth:`result` does not wait for it: the thread stops at its next chunk and the
    caller hashes the rest itself. A Ctrl-C never waits for the thread either.
    """

    CHUNK = 1024 * 1024  # how long a hand-over can wait: one chunk at the low priority

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._digest = hashlib.md5(usedforsecurity=False)
        self._done = 0  # bytes hashed so far, in order
        self._handover = False
        self._stopped = threading.Event()
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="mixpeek-md5", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        lower_thread_priority()
        buffer = bytearray(self.CHUNK)
        view = memoryview(buffer)
        try:
            with self._path.open("rb", buffering=0) as fh:
                while not self._stopped.is_set():
                    with self._lock:
                        if self._handover:
                            return
                        n = fh.readinto(buffer)
                        if not n:
                            return
                        self._digest.update(view[:n])
                        self._done += n
        except OSError as exc:
            self._error = exc

    def result(self) -> str:
        """The MD5 of the whole file: what the thread hashed, and the rest, hashed here."""
        with self._lock:  # held at most one chunk: the thread then sees the hand-over
            self._handover = True
            if self._error is not None:
                raise self._error
            with self._path.open("rb", buffering=0) as fh:
                fh.seek(self._done)
                buffer = bytearray(READ_SIZE)
                view = memoryview(buffer)
                while n := fh.readinto(buffer):
                    self._digest.update(view[:n])
                    self._done += n
            return self._digest.hexdigest()

    def cancel(self) -> None:
        self._stopped.set()


def plain_md5_etag(value: str | None) -> str | None:
    """The ETag as a lower-case MD5 when it is one (32 hex digits, no ``-<parts>``), else None.

    Multipart ETags (``<md5 of md5s>-<n>``) and KMS-encrypted objects' ETags are no MD5
    of the bytes and cannot be compared with one.
    """
    if not value:
        return None
    etag = value.strip().strip('"').lower()
    return etag if _PLAIN_MD5.match(etag) else None


def encrypted_with_kms(headers: Mapping[str, str]) -> bool:
    """Whether the store encrypted with KMS or a customer key: its ETag is then no MD5."""
    lowered = {k.lower(): v for k, v in headers.items()}
    sse = lowered.get("x-amz-server-side-encryption", "")
    return sse.startswith("aws:kms") or "x-amz-server-side-encryption-customer-algorithm" in lowered
