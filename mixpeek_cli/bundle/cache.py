"""Reuse the previous bundle of an unchanged tree instead of reading and compressing it again.

A record holds, for one deploy PATH, the bundle's zip (kept in the user cache dir),
its sha256, and the *stamp* of every bundled file as the walk saw it before reading
it: size, mtime_ns, ctime_ns, mode, inode and device, plus the file's CRC-32 from the
zip. A later bundle of the same PATH with the same file list and the same stamps
reuses the zip without opening a single file.

A wrong hit would deploy stale code, so:

* stamps are taken *before* a file is read, so a write during bundling changes them;
* any write changes ctime, which no user-space call can set back, so a content change
  with the mtime restored and the size unchanged still misses;
* a file whose mtime or ctime lies within :data:`RACY_NS` of when its record was made
  could have been written again within the same timestamp tick (coarse or 1-second
  file system clocks, as git's "racily clean" entries); such files are re-read and
  their CRC-32 compared before the record is trusted;
* the cached zip must still have the size, mtime, ctime and inode it was left with.

Beside a cached zip the deploy keeps *extras*: data computed from the same files (the
inline ``source_files``, already encoded), each in a file named after the zip that
records the zip's sha256 and its own CRC-32, and removed with the zip. An extra that
depends on the zip's bytes alone (where those bytes were uploaded) is named after the
sha256 instead: a build that writes the same files again makes a new zip with the same
bytes, and it finds the extra too. It is removed when no kept zip has those bytes.

The cache is an optimisation: an unreadable, corrupt or unwritable cache is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mixpeek_cli import __version__
from mixpeek_cli.atomic import write_atomically
from mixpeek_cli.bundle.deflate import active
from mixpeek_cli.bundle.files import file_stamp
from mixpeek_cli.bundle.secrets.scan import RULES_VERSION, Finding

if TYPE_CHECKING:
    from mixpeek_cli.bundle.files import BundleFile

# Bump when the records or the zip writer's rule change (5: the 16 KiB probe), so a zip
# kept by an earlier rule is not reused for what this one would write. The zip's bytes
# also depend on the compressor: its name and version are in the key (bundle/deflate.py).
FORMAT = 5
KEEP_PER_ROOT = 3
RACY_NS = 2_000_000_000
STALE_ROOT_NS = 30 * 24 * 3600 * 1_000_000_000  # forget PATHs not bundled for 30 days
STRAY_NS = 3600 * 1_000_000_000  # unreferenced zips older than this are leftovers
INDEX = "index.json"
ZIP_PREFIX = "bundle-"
BYTES_PREFIX = "bytes-"
_READ = 1024 * 1024


def cache_dir() -> Path:
    """Where bundles are kept: the user cache dir (``$XDG_CACHE_HOME/mixpeek`` on Linux)."""
    import platformdirs

    return platformdirs.user_cache_path("mixpeek", appauthor=False) / "bundles"


def _zip_stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _identity(files: Sequence[BundleFile]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for file in files:
        stamp = file.stamp if file.stamp is not None else file_stamp(os.stat(file.source))
        out.append([file.path, os.fspath(file.source), file.executable, *stamp])
    return out


def _key(root: Path, identity: list[list[Any]]) -> str:
    # repr, not JSON: the same text for the same lists of str, int and bool, in ~40% of
    # the time (4,000 files: 3.6 ms against 6.1 ms), on every re-deploy.
    # The scan's rules too: the findings kept with a bundle are only as good as they were.
    blob = repr([FORMAT, RULES_VERSION, active().format_key, str(root), identity])
    return hashlib.sha256(blob.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class CachedBundle:
    zip_path: Path
    sha256: str
    size: int
    findings: list[Finding]  # what the secret scan found in these files (values masked)


@dataclass
class _Record:
    key: str
    zip_name: str
    sha256: str
    size: int
    zip_stamp: list[int]
    snapshot_ns: int  # wall clock before the walk that took the stamps
    racy: list[list[Any]]  # [index, path, crc32] of files changed near snapshot_ns
    findings: list[list[Any]]  # Finding.to_list() of each secret scan finding

    @classmethod
    def parse(cls, raw: Any) -> _Record:
        record = cls(**raw)
        if not (
            isinstance(record.key, str)
            and isinstance(record.zip_name, str)
            and "/" not in record.zip_name
            and isinstance(record.sha256, str)
            and isinstance(record.size, int)
            and isinstance(record.snapshot_ns, int)
            and isinstance(record.zip_stamp, list)
            and isinstance(record.racy, list)
            and isinstance(record.findings, list)
        ):
            raise TypeError("malformed record")
        for raw_finding in record.findings:
            Finding.from_list(raw_finding)  # raises on a malformed entry
        return record


class BundleCache:
    """The records of one deploy PATH."""

    def __init__(self, root: Path, base: Path | None = None) -> None:
        self.root = root
        digest = hashlib.sha256(os.fsencode(root)).hexdigest()[:32]
        self.dir = (base or cache_dir()) / digest

    def _load(self) -> list[_Record]:
        try:
            raw = json.loads((self.dir / INDEX).read_bytes())
            if raw.get("format") != FORMAT or raw.get("root") != str(self.root):
                return []
            return [_Record.parse(item) for item in raw["records"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return []  # missing or corrupt: start afresh

    def _save(self, records: list[_Record]) -> None:
        body = {
            "format": FORMAT,
            "root": str(self.root),
            "records": [vars(r) for r in records[:KEEP_PER_ROOT]],
        }
        write_atomically(self.dir / INDEX, json.dumps(body).encode("utf-8"))

    def lookup(self, files: Sequence[BundleFile]) -> CachedBundle | None:
        """The cached bundle of exactly these files in exactly these states, if any."""
        records = self._load()
        if not records:
            return None
        key = _key(self.root, _identity(files))
        for position, record in enumerate(records):
            if record.key != key or not self._zip_intact(record):
                continue
            if not _racy_files_unchanged(record, files):
                continue
            records.insert(0, records.pop(position))
            with contextlib.suppress(OSError):
                self._save(records)
            findings = [Finding.from_list(raw) for raw in record.findings]
            return CachedBundle(self.dir / record.zip_name, record.sha256, record.size, findings)
        return None

    def _zip_intact(self, record: _Record) -> bool:
        try:
            st = os.stat(self.dir / record.zip_name)
        except OSError:
            return False
        return _zip_stamp(st) == record.zip_stamp

    def new_zip_path(self) -> Path:
        """A fresh path in the cache dir to write the next bundle to (created empty)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{ZIP_PREFIX}{secrets.token_hex(8)}.zip"
        path.touch(exist_ok=False)
        return path

    def store(
        self,
        files: Sequence[BundleFile],
        crcs: Sequence[int],
        zip_path: Path,
        sha256: str,
        snapshot_ns: int,
        findings: Sequence[Finding] = (),
    ) -> None:
        """Remember ``zip_path`` (already in :attr:`dir`) as the bundle of ``files``."""
        identity = _identity(files)
        racy = [
            [index, file.path, crc]
            for index, (file, row, crc) in enumerate(zip(files, identity, crcs, strict=True))
            if max(row[4], row[5]) >= snapshot_ns - RACY_NS  # row: path, source, exe, size, ...
        ]
        st = os.stat(zip_path)
        record = _Record(
            key=_key(self.root, identity),
            zip_name=zip_path.name,
            sha256=sha256,
            size=st.st_size,
            zip_stamp=_zip_stamp(st),
            snapshot_ns=snapshot_ns,
            racy=racy,
            findings=[finding.to_list() for finding in findings],
        )
        records = [record, *(r for r in self._load() if r.zip_name != record.zip_name)]
        self._save(records)
        self._prune(records[:KEEP_PER_ROOT], records[KEEP_PER_ROOT:])

    def _prune(self, kept: list[_Record], dropped: list[_Record]) -> None:
        """Remove dropped zips and their extras, and leftovers of runs that died."""
        keep = {_stem(r.zip_name) for r in kept} | {_bytes_stem(r.sha256) for r in kept}
        drop = {_stem(r.zip_name) for r in dropped} | {_bytes_stem(r.sha256) for r in dropped}
        now = time.time_ns()
        with contextlib.suppress(OSError), os.scandir(self.dir) as entries:
            for entry in entries:
                stem = _stem(entry.name)
                if not stem.startswith((ZIP_PREFIX, BYTES_PREFIX)) or stem in keep:
                    continue
                with contextlib.suppress(OSError):
                    # A young unreferenced zip may be another run's bundle being written.
                    if stem in drop or now - entry.stat().st_mtime_ns > STRAY_NS:
                        os.unlink(entry.path)
        _forget_stale_roots(self.dir.parent, now)


def _stem(name: str) -> str:
    return name.split(".", 1)[0]


def _bytes_stem(sha256: str) -> str:
    return f"{BYTES_PREFIX}{sha256[:32]}"


def _extra_path(zip_path: Path, name: str, sha256: str, of_bytes: bool) -> Path:
    stem = _bytes_stem(sha256) if of_bytes else _stem(zip_path.name)
    return zip_path.with_name(f"{stem}.{name}")


def read_extra(zip_path: Path, name: str, sha256: str, *, of_bytes: bool = False) -> bytes | None:
    """The extra ``name`` kept beside the cached zip ``zip_path`` (of ``sha256``), if intact;
    ``of_bytes``: one kept with any cached zip of the same bytes."""
    try:
        path = _extra_path(zip_path, name, sha256, of_bytes)
        # The header line, then the data in one read: no copy of a MiB-sized extra.
        with open(path, "rb") as fh:
            meta = json.loads(fh.readline())
            data = fh.read()
        intact = (
            meta["bundle"] == sha256
            and meta["version"] == __version__
            and meta["size"] == len(data)
            and meta["crc32"] == active().crc32(data)
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data if intact else None


def write_extra(
    zip_path: Path, name: str, sha256: str, data: bytes, *, of_bytes: bool = False
) -> None:
    """Keep ``data`` as the extra ``name`` of the cached zip ``zip_path`` (of ``sha256``);
    ``of_bytes``: of every cached zip of the same bytes."""
    crc = active().crc32(data)
    meta = {"bundle": sha256, "version": __version__, "size": len(data), "crc32": crc}
    path = _extra_path(zip_path, name, sha256, of_bytes)
    write_atomically(path, json.dumps(meta).encode() + b"\n" + data)


def _forget_stale_roots(base: Path, now: int) -> None:
    with contextlib.suppress(OSError), os.scandir(base) as roots:
        for entry in roots:
            index = Path(entry.path) / INDEX
            with contextlib.suppress(OSError):
                if now - index.stat().st_mtime_ns > STALE_ROOT_NS:
                    for child in Path(entry.path).iterdir():
                        child.unlink()
                    Path(entry.path).rmdir()


def _racy_files_unchanged(record: _Record, files: Sequence[BundleFile]) -> bool:
    for item in record.racy:
        try:
            index, path, crc = item
            file = files[index]
        except (ValueError, TypeError, IndexError):
            return False
        if file.path != path or _crc_of(file.source, file.size) != crc:
            return False
    return True


def _crc_of(path: str | os.PathLike[str], size: int) -> int | None:
    crc = 0
    total = 0
    try:
        with open(path, "rb") as fh:
            while block := fh.read(_READ):
                crc = active().crc32(block, crc)
                total += len(block)
    except OSError:
        return None
    return crc if total == size else None
