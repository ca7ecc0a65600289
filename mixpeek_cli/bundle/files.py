"""The file records a walk produces, and the digests the walk cache compares them by.

Shared by the walk and its cache (kept apart so neither imports the other).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from mixpeek_cli.errors import UsageError


class FileChanged(UsageError):
    """A file changed between the walk and the end of its read; the zip is abandoned.

    Here rather than in the zip writer: a re-deploy that reuses its zip never loads that.
    """

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} changed while it was being bundled", hint="run the command again")
        self.path = path


def file_stamp(st: os.stat_result) -> tuple[int, ...]:
    """What the re-deploy cache compares: any write changes it (ctime cannot be set back)."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode, st.st_ino, st.st_dev)


@dataclass(frozen=True)
class BundleFile:
    """One file to bundle."""

    path: str  # bundle path, POSIX, relative
    # Absolute path to read (the symlink target for stored links). A str from the walk:
    # a Path per file cost more than the rest of an unchanged re-deploy's walk.
    source: str | os.PathLike[str]
    size: int
    executable: bool
    # (size, mtime_ns, ctime_ns, mode, inode, device) as the walk saw it, before reading:
    # what the re-deploy cache compares (None: stat it when needed).
    stamp: tuple[int, ...] | None = None


def regular_file(rel: str, full: str, st: os.stat_result) -> BundleFile:
    return BundleFile(rel, full, st.st_size, bool(st.st_mode & stat.S_IXUSR), file_stamp(st))


def listing_digest(entries: Iterable[os.DirEntry[str]]) -> str:
    """A digest of a directory's entry names and kinds: what its walk decisions rest on."""
    names = []
    for entry in entries:
        if entry.is_symlink():
            names.append(f"{entry.name}\0l")
        elif entry.is_dir(follow_symlinks=False):
            names.append(f"{entry.name}\0d")
        elif entry.is_file(follow_symlinks=False):
            names.append(f"{entry.name}\0f")
        else:
            names.append(f"{entry.name}\0o")
    names.sort()
    blob = "\n".join(names).encode("utf-8", "surrogateescape")
    return hashlib.blake2b(blob, digest_size=16).hexdigest()
