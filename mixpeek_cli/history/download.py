"""Fetch a version's zip from its presigned URL to a file, prove it is a zip, unpack it safely.

The URL is its own credential: it goes through a client that never sees the API key and
never appears in a message. The file is written beside its destination and renamed into
place once it reads as a whole zip, so a failed download leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from mixpeek_cli.errors import ApiError, DeadlineReached, UsageError
from mixpeek_cli.output.reporter import Reporter, track
from mixpeek_cli.service.retry import RETRYABLE_STATUS, RetryPolicy

if TYPE_CHECKING:
    import httpx

    from mixpeek_cli.deadline import Deadline

CHUNK = 1024 * 1024
DOWNLOAD_RETRY = RetryPolicy(max_attempts=4)


def download_zip(
    url: str, dest: Path, reporter: Reporter, *, deadline: Deadline, force: bool = False
) -> int:
    """Stream ``url`` to ``dest``; the bytes written. ``dest`` is replaced only with ``force``.

    Every wait ends by ``deadline``: a download still going then is given up."""
    import httpx

    if dest.exists() and not force:
        raise UsageError(f"{dest} already exists", hint="pass --force to replace it, or -o FILE")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    part = Path(name)
    try:
        timeout = httpx.Timeout(connect=10.0, read=120.0, write=10.0, pool=10.0)
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            size = _fetch(client, url, part, reporter, deadline)
        check_zip(part)
        os.replace(part, dest)
    finally:
        with contextlib.suppress(OSError):
            part.unlink()
    return size


def _fetch(
    client: httpx.Client, url: str, part: Path, reporter: Reporter, deadline: Deadline
) -> int:
    import httpx

    from mixpeek_cli.service.resend import shrink

    attempt = 0
    while True:
        attempt += 1
        if deadline.expired:
            raise _out_of_time(deadline)
        try:
            with client.stream("GET", url, timeout=shrink(client.timeout, deadline)) as response:
                if response.status_code == 200:
                    total = int(response.headers.get("Content-Length") or 0)
                    return _write(response, part, reporter, total, deadline)
                response.read()
                failure = ApiError(
                    f"the download URL was refused (HTTP {response.status_code})",
                    hint="run the download again for a fresh URL",
                )
                if response.status_code not in RETRYABLE_STATUS:
                    raise failure
        except httpx.RequestError as exc:
            if deadline.expired:
                raise _out_of_time(deadline) from None
            failure = ApiError(
                f"the download broke off: {type(exc).__name__}", hint="check your network"
            )
        if attempt >= DOWNLOAD_RETRY.max_attempts:
            raise failure
        wait = DOWNLOAD_RETRY.backoff(attempt)
        if not deadline.allows(wait):
            raise _out_of_time(deadline)
        time.sleep(wait)


def _out_of_time(deadline: Deadline) -> DeadlineReached:
    return DeadlineReached(
        f"the download did not finish before --timeout ({deadline.seconds:g}s) ran out",
        hint="run it again with more time (--timeout)",
    )


def _write(
    response: httpx.Response, part: Path, reporter: Reporter, total: int, deadline: Deadline
) -> int:
    written = 0
    with track(reporter, "Downloading", total, "bytes") as task, part.open("wb") as fh:
        # Each network read as it comes (no chunk size: that would wait for 1 MiB): a
        # trickle of bytes never trips the read timeout, so the deadline is checked here.
        for chunk in response.iter_bytes():
            if deadline.expired:
                raise _out_of_time(deadline)
            fh.write(chunk)
            written += len(chunk)
            task.advance(len(chunk))
    if total and written != total:
        raise ApiError(f"the download ended after {written} of {total} bytes", hint="run it again")
    return written


def check_zip(path: Path) -> None:
    """Raise unless ``path`` is a zip whose every entry reads back with its CRC."""
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ApiError(f"the downloaded file is not a readable zip ({exc})") from None
    if broken is not None:
        raise ApiError(f"the downloaded zip is damaged: {broken} fails its CRC check")


def extract_safely(zip_path: Path, directory: Path) -> list[str]:
    """Unpack ``zip_path`` into ``directory``; no entry may land outside it. The names."""
    root = directory.resolve()
    with zipfile.ZipFile(zip_path) as archive:
        entries = archive.infolist()
        for info in entries:
            _safe_target(root, info)
        root.mkdir(parents=True, exist_ok=True)
        names = []
        for info in entries:
            target = _safe_target(root, info)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, target.open("wb") as out:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
            if (info.external_attr >> 16) & stat.S_IXUSR:
                target.chmod(0o755)
            names.append(info.filename)
    return names


def _safe_target(root: Path, info: zipfile.ZipInfo) -> Path:
    name = info.filename
    mode = info.external_attr >> 16
    parts = PurePosixPath(name).parts
    unsafe = (
        name.startswith("/")
        or "\\" in name
        or "\0" in name
        or ".." in parts
        or (len(name) > 1 and name[1] == ":")
        or stat.S_ISLNK(mode)
    )
    target = (root / name).resolve()
    if unsafe or not (target == root or target.is_relative_to(root)):
        raise UsageError(
            f"refusing to extract {name!r}: it would land outside {root}",
            hint="the zip is not safe to unpack; inspect it with unzip -l",
        )
    return target
