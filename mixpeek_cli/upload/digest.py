"""The ETag S3 gives an object, computed locally on a helper thread while the upload runs.

For an unencrypted (or SSE-S3) object S3's ETag is the MD5 of its bytes; for a multipart
object it is the MD5 of the parts' binary MD5s, then ``-<parts>``. Comparing it with what
S3 answers proves the stored bytes are the bytes sent, on any store that follows this
rule (S3, MinIO, moto). hashlib releases the GIL, so this costs a core, not the upload time;
and on Linux the thread runs at the lowest CPU priority, so it only takes a core nothing
else wants.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import threading
from pathlib import Path

READ_SIZE = 8 * 1024 * 1024
_MD5_FORM = re.compile(r"^[0-9a-f]{32}(-[0-9]+)?$")


def compute_etag(path: Path, part_size: int | None, stop: threading.Event | None = None) -> str:
    """S3's ETag for ``path`` uploaded in one PUT (``part_size`` None) or in parts."""
    whole = hashlib.md5(usedforsecurity=False)
    part_digests: list[bytes] = []
    part = hashlib.md5(usedforsecurity=False)
    in_part = 0
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            if stop is not None and stop.is_set():
                return ""
            data = view[:n]
            if part_size is None:
                whole.update(data)
                continue
            while data:
                take = min(len(data), part_size - in_part)
                part.update(data[:take])
                in_part += take
                data = data[take:]
                if in_part == part_size:
                    part_digests.append(part.digest())
                    part, in_part = hashlib.md5(usedforsecurity=False), 0
    if part_size is None:
        return whole.hexdigest()
    if in_part or not part_digests:
        part_digests.append(part.digest())
    combined = hashlib.md5(b"".join(part_digests), usedforsecurity=False).hexdigest()
    return f"{combined}-{len(part_digests)}"


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


class EtagJob:
    """``compute_etag`` on a daemon thread: a Ctrl-C never waits for it."""

    def __init__(self, path: Path, part_size: int | None) -> None:
        self._stop = threading.Event()
        self._result: str | None = None
        self._error: OSError | None = None
        self._thread = threading.Thread(
            target=self._run, args=(path, part_size), name="mixpeek-etag", daemon=True
        )
        self._thread.start()

    def _run(self, path: Path, part_size: int | None) -> None:
        lower_thread_priority()
        try:
            self._result = compute_etag(path, part_size, self._stop)
        except OSError as exc:
            self._error = exc

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def cancel(self) -> None:
        self._stop.set()


def normalize_etag(value: str | None) -> str | None:
    """The ETag without quotes, lower-cased, or None when absent or not in MD5 form."""
    if not value:
        return None
    etag = value.strip().strip('"').lower()
    return etag if _MD5_FORM.match(etag) else None


def encrypted_with_kms(headers: dict[str, str]) -> bool:
    """Whether the store encrypted with KMS or a customer key: its ETag is then no MD5."""
    lowered = {k.lower(): v for k, v in headers.items()}
    sse = lowered.get("x-amz-server-side-encryption", "")
    return sse.startswith("aws:kms") or "x-amz-server-side-encryption-customer-algorithm" in lowered
