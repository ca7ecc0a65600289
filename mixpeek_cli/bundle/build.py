"""Collect the files of a deploy PATH and write them into a deterministic zip.

The same files with the same contents always give a byte-identical zip (same
sha256), whatever their mtimes, the umask or the order they were created in:
entries are sorted by their UTF-8 name bytes, every timestamp is 1980-01-01, the
only mode bits kept are 0644/0755, there are no directory entries, comments or
extra fields (but ZIP64 ones), and each file is stored or deflated by a rule on its
bytes alone (docs/bundle.md). The zip is written on all cores by
:mod:`mixpeek_cli.bundle.zipwriter`; a deploy's bundle goes through the re-deploy cache
(:mod:`mixpeek_cli.bundle.cache`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mixpeek_cli import interrupts
from mixpeek_cli.bundle.cache import BundleCache
from mixpeek_cli.bundle.files import BundleFile, FileChanged, file_stamp
from mixpeek_cli.bundle.walk import SizeWatch, collect_files
from mixpeek_cli.bundle.walk_cache import WalkCache
from mixpeek_cli.errors import UsageError
from mixpeek_cli.output.reporter import Reporter, track

if TYPE_CHECKING:
    from mixpeek_cli.bundle.ignore import RuleSet
    from mixpeek_cli.bundle.secrets.scan import Finding
    from mixpeek_cli.bundle.zipwriter import Inspect

WRITE_BUFFER = 1024 * 1024


@dataclass(frozen=True)
class Bundle:
    """A written bundle zip; call :meth:`cleanup` when done with it."""

    zip_path: Path
    sha256: str  # hex of the zip bytes
    size: int  # bytes of the zip
    files: tuple[BundleFile, ...]  # in bundle order
    input_bytes: int  # sum of file sizes
    owned: bool = True  # False when the re-deploy cache keeps the zip for next time
    reused: bool = False  # True when the zip came from the cache without reading any file

    def cleanup(self) -> None:
        """Remove the zip unless the cache keeps it."""
        if self.owned:
            self.zip_path.unlink(missing_ok=True)

    def cached_extra(self, name: str, *, of_bytes: bool = False) -> bytes | None:
        """Data kept with this bundle by :meth:`keep_extra` in an earlier run, if any
        (``of_bytes``: kept with any cached bundle of the same zip bytes)."""
        if self.owned:
            return None  # not in the cache: nothing was kept with it
        from mixpeek_cli.bundle.cache import read_extra

        return read_extra(self.zip_path, name, self.sha256, of_bytes=of_bytes)

    def keep_extra(self, name: str, data: bytes, *, of_bytes: bool = False) -> None:
        """Keep ``data``, computed from this bundle's files, for a later run that reuses it.

        Kept only while every file still has the stamp the walk saw: data read from a
        file changed since might not match the zip, and must not be reused with it.
        ``of_bytes``: the data depends on the zip's bytes alone (where they were
        uploaded), so any later bundle with the same sha256 may use it, even one whose
        files were written again with the same content (a build run once more).
        """
        from mixpeek_cli.bundle.cache import write_extra

        if self.owned:
            return
        try:
            if not of_bytes:
                _check_unchanged(self.files)
            write_extra(self.zip_path, name, self.sha256, data, of_bytes=of_bytes)
        except (FileChanged, OSError):
            pass  # not kept: the next run computes it again


def write_zip(
    files: Sequence[BundleFile], dest: Path, reporter: Reporter, *, workers: int | None = None
) -> tuple[str, int]:
    """Write ``files`` (in bundle order) as a zip at ``dest``; return (sha256, size).

    Compression runs on ``workers`` threads (default: one per core); the bytes do not
    depend on it. On any error, including KeyboardInterrupt, ``dest`` is removed.
    """
    sha256, _ = _write_zip(files, dest, reporter, workers)
    return sha256, dest.stat().st_size


def _write_zip(
    files: Sequence[BundleFile],
    dest: Path,
    reporter: Reporter,
    workers: int | None = None,
    inspect: Inspect | None = None,
) -> tuple[str, list[int]]:
    from mixpeek_cli.bundle.zipwriter import write_entries

    try:
        with (
            track(reporter, "Bundling", total=len(files), unit="files") as task,
            open(dest, "w+b", buffering=WRITE_BUFFER) as fh,
        ):
            return write_entries(
                files, fh, on_file=lambda: task.advance(1), workers=workers, inspect=inspect
            )
    except BaseException:
        with contextlib.suppress(OSError):
            dest.unlink()
        raise


class BundleGuard(Protocol):
    """What may ship (see :class:`mixpeek_cli.bundle.secrets.files.SecretGuard`)."""

    @property
    def warm_at(self) -> int: ...

    def warm(self) -> None: ...

    def release(self) -> None: ...

    def select(self, files: list[BundleFile]) -> list[BundleFile]: ...

    def scan(
        self, files: Sequence[BundleFile], stop: threading.Event | None = None
    ) -> list[Finding]: ...

    def scans_here(self, files: Sequence[BundleFile]) -> bool: ...

    def judge(self, findings: Sequence[Finding]) -> None: ...


def build_bundle(
    root: Path,
    reporter: Reporter,
    *,
    dest: Path | None = None,
    guard: BundleGuard | None = None,
    use_cache: bool = True,
    rules: RuleSet | None = None,
) -> Bundle:
    """Collect ``root`` and write its zip.

    ``guard`` drops files before anything is written, scans the kept ones while the zip
    is being written (in a child interpreter, so its regex work takes no time from the zip),
    and judges what the scan found once both are done; a refusal removes the zip.

    Without ``dest`` (a deploy) the re-deploy cache is used: an unchanged tree gets its
    previous zip, and the scan's findings for it, back without a file being read, and a
    new zip is kept there for next time (``Bundle.owned`` is then False). When the cache
    dir cannot be used the zip goes to a temporary file the caller removes with
    ``Bundle.cleanup()``. With ``dest`` the zip is written beside it and renamed into
    place, so a failed run never leaves a half-written ``dest``. ``rules`` says which ignore
    rules decide ``root``'s files (default: its own). ``use_cache=False`` is for
    throwaway roots (a commit's files in a temporary directory), which would only fill
    the cache with entries no later run can hit.
    """
    try:
        try:
            return _build_once(root, reporter, dest, guard, use_cache, rules)
        except FileChanged as first:
            # Someone is writing to the tree (an editor saving, a build tool): read it all
            # again once, so the zip holds one consistent state of every file, never a mix.
            reporter.warn(f"{first.path} changed while it was being bundled: bundling again")
        try:
            return _build_once(root, reporter, dest, guard, use_cache, rules)
        except FileChanged as again:
            raise UsageError(
                f"{again.path} kept changing while it was being bundled",
                hint="stop whatever is writing to it, or add it to .mixpeekignore",
            ) from None
    finally:
        if guard is not None:
            guard.release()


def _build_once(
    root: Path,
    reporter: Reporter,
    dest: Path | None,
    guard: BundleGuard | None,
    use_cache: bool,
    rules: RuleSet | None,
) -> Bundle:
    snapshot_ns = time.time_ns()  # before any stamp is taken: see bundle_cache
    cache = BundleCache(Path(os.path.realpath(root))) if dest is None and use_cache else None
    key = rules.key if rules is not None else ""
    walk_cache = WalkCache(cache.dir, root, key) if cache is not None else None
    loader = rules.load if rules is not None else None
    # A tree large enough for the scan's child starts it during the walk, on a core the
    # walk leaves idle, instead of beside the zip writer.
    watch = SizeWatch(guard.warm_at, guard.warm) if guard is not None else None
    files = collect_files(root, reporter, cache=walk_cache, rules=loader, watch=watch)
    if guard is not None:
        files = guard.select(files)
    input_bytes = sum(f.size for f in files)
    if cache is not None:
        hit = cache.lookup(files)
        if hit is not None:
            if guard is not None:
                guard.judge(hit.findings)
            reporter.info("no file changed since the last bundle: reusing it")
            return Bundle(
                zip_path=hit.zip_path,
                sha256=hit.sha256,
                size=hit.size,
                files=tuple(files),
                input_bytes=input_bytes,
                owned=False,
                reused=True,
            )
    # Held from the file's creation to the ``try`` that removes it: a Ctrl-C in between
    # would leave an empty zip behind.
    with interrupts.deferred() as held:
        tmp = _new_zip_path(cache, dest)
    try:
        if held.interrupted:
            raise KeyboardInterrupt
        from mixpeek_cli.bundle.zipwriter import CHUNK_SIZE

        inline = _Inline(files) if guard is not None and guard.scans_here(files) else None
        left = files if inline is None else [f for f in files if f.size > CHUNK_SIZE]
        with _scanning(guard, left) as scan:
            sha256, crcs = _write_zip(
                files, tmp, reporter, inspect=None if inline is None else inline.inspect
            )
            _check_unchanged(files)
        if inline is not None:
            scan.findings = inline.ordered(scan.findings)
        if guard is not None:
            guard.judge(scan.findings)
        if dest is not None:
            os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    zip_path = tmp if dest is None else dest
    owned = True
    if cache is not None and tmp.parent == cache.dir:
        try:
            cache.store(files, crcs, tmp, sha256, snapshot_ns, scan.findings)
            owned = False
        except OSError:
            pass  # not remembered this time; the caller removes the zip as usual
    return Bundle(
        zip_path=zip_path,
        sha256=sha256,
        size=zip_path.stat().st_size,
        files=tuple(files),
        input_bytes=input_bytes,
        owned=owned,
    )


def _check_unchanged(files: Sequence[BundleFile]) -> None:
    """Raise FileChanged if a file's stat differs from what the walk saw before reading it.

    A write bumps mtime and ctime, so this catches a same-size change made mid-read, which
    the size checks while reading cannot see.
    """
    for file in files:
        if file.stamp is None:
            continue
        try:
            now = file_stamp(os.stat(file.source))
        except OSError:
            raise FileChanged(file.path) from None
        if now != file.stamp:
            raise FileChanged(file.path)


class _Inline:
    """The scan of the files the zip writer reads whole, made from the bytes it read.

    Where the scan runs in this process anyway (one core, or a small tree: see
    ``worker.child_from_bytes``), reading every file a second time for it only cost time:
    on one core, the 20,000-file text tree's second read was ~8% of its bundle. Bigger
    files, which the writer reads in chunks, are still scanned on the scan's thread.
    """

    def __init__(self, files: Sequence[BundleFile]) -> None:
        from mixpeek_cli.bundle.secrets.scan import scan_bytes

        self._scan_bytes = scan_bytes
        self._order = {file.path: index for index, file in enumerate(files)}
        self._found: list[Finding] = []

    def inspect(self, path: str, data: bytes) -> None:
        self._found.extend(self._scan_bytes(path, data))  # one list step: thread-safe

    def ordered(self, others: Sequence[Finding]) -> list[Finding]:
        """Every finding, in bundle order (as one scan of all the files gives them)."""
        found = [*self._found, *others]
        return sorted(found, key=lambda f: (self._order.get(f.path, 0), f.line))


@dataclass
class _Scan:
    findings: list[Finding] = field(default_factory=list)
    error: BaseException | None = None


@contextmanager
def _scanning(guard: BundleGuard | None, files: Sequence[BundleFile]) -> Iterator[_Scan]:
    """Run the guard's scan beside the block (from a thread); its errors surface at the end."""
    result = _Scan()
    if guard is None:
        yield result
        return
    stop = threading.Event()

    def run() -> None:
        try:
            result.findings = guard.scan(files, stop)
        # Not swallowed: handed to the main thread, which raises it. Any exception counts,
        # since a scan that died silently would let a credential through.
        except BaseException as exc:  # noqa: BLE001
            result.error = exc

    thread = threading.Thread(target=run, name="mixpeek-secret-scan", daemon=True)
    thread.start()
    try:
        yield result
    except BaseException:
        stop.set()  # the zip is being abandoned: the scan's verdict no longer matters
        raise
    thread.join()
    if result.error is not None:
        raise result.error


def _new_zip_path(cache: BundleCache | None, dest: Path | None) -> Path:
    if dest is not None:
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        os.close(fd)
        return Path(name)
    if cache is not None:
        with contextlib.suppress(OSError):
            return cache.new_zip_path()
    fd, name = tempfile.mkstemp(prefix="mixpeek-bundle-", suffix=".zip")
    os.close(fd)
    return Path(name)
