"""Collect the files of a deploy PATH and write them into a deterministic zip.

The same files with the same contents always give a byte-identical zip (same
sha256), whatever their mtimes, the umask or the order they were created in:
entries are sorted by their UTF-8 name bytes, every timestamp is 1980-01-01, the
only mode bits kept are 0644/0755, and there are no directory entries, extra
fields or comments. Contents are streamed in chunks, so neither a large file nor
the zip is ever held in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mixpeek_cli.errors import UsageError
from mixpeek_cli.ignore import IgnoreRules, load_ignore_rules
from mixpeek_cli.reporter import Reporter, track

CHUNK_SIZE = 1024 * 1024
COMPRESS_LEVEL = 6
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# compresslevel is a private ZipInfo attribute before Python 3.13.
_COMPRESS_LEVEL_ATTR = "compress_level" if sys.version_info >= (3, 13) else "_compresslevel"


@dataclass(frozen=True)
class BundleFile:
    """One file to bundle."""

    path: str  # bundle path, POSIX, relative
    source: Path  # absolute path to read (the symlink target for stored links)
    size: int
    executable: bool


@dataclass(frozen=True)
class Bundle:
    """A written bundle zip (the caller owns and removes ``zip_path``)."""

    zip_path: Path
    sha256: str  # hex of the zip bytes
    size: int  # bytes of the zip
    files: tuple[BundleFile, ...]  # in bundle order
    input_bytes: int  # sum of file sizes


def _sort_key(file: BundleFile) -> bytes:
    return file.path.encode("utf-8")


def _check_name(rel: str) -> None:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"cannot bundle {os.fsencode(rel)!r}: its name is not valid UTF-8",
            hint="rename it (or add it to .mixpeekignore)",
        ) from None


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _symlink_file(
    full: str, rel: str, real_root: str, rules: IgnoreRules, reporter: Reporter
) -> BundleFile | None:
    """Resolve a symlink: a regular file inside PATH is stored with its content."""
    try:
        target = os.readlink(full)
    except OSError:
        target = "?"
    real = os.path.realpath(full)
    try:
        st = os.stat(real)
    except OSError:
        reporter.warn(f"skipped symlink {rel} -> {target}: it is dangling")
        return None
    if not _is_within(real, real_root):
        reporter.warn(f"skipped symlink {rel} -> {target}: points outside {real_root}")
        return None
    if stat.S_ISDIR(st.st_mode):
        reporter.info(f"skipped symlink {rel} -> {target}: links to directories are not followed")
        return None
    if not stat.S_ISREG(st.st_mode):
        reporter.warn(f"skipped symlink {rel} -> {target}: target is {_kind(st.st_mode)}")
        return None
    target_rel = Path(os.path.relpath(real, real_root)).as_posix()
    # Otherwise a link could smuggle an excluded file (.env) into the bundle.
    if rules.is_excluded_path(target_rel):
        reporter.warn(f"skipped symlink {rel} -> {target}: its target is excluded")
        return None
    return BundleFile(rel, Path(real), st.st_size, bool(st.st_mode & stat.S_IXUSR))


def _walk(root: Path, rules: IgnoreRules, reporter: Reporter) -> Iterator[BundleFile]:
    real_root = os.path.realpath(root)
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        directory = os.path.join(real_root, rel_dir) if rel_dir else real_root
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            shown = rel_dir or str(root)
            raise UsageError(
                f"cannot read directory {shown}: {exc.strerror or exc}",
                hint="fix its permissions or add it to .mixpeekignore",
            ) from exc
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_dir(follow_symlinks=False):
                if not rules.is_excluded_dir(rel):
                    stack.append(rel)
                continue
            if rules.is_excluded_file(rel):
                continue
            if entry.is_symlink():
                found = _symlink_file(entry.path, rel, real_root, rules, reporter)
                if found is not None:
                    yield found
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed since the directory was listed
            if not stat.S_ISREG(st.st_mode):
                reporter.warn(f"skipped {rel}: it is {_kind(st.st_mode)}")
                continue
            yield BundleFile(rel, Path(entry.path), st.st_size, bool(st.st_mode & stat.S_IXUSR))


def collect_files(root: Path, reporter: Reporter) -> list[BundleFile]:
    """Every file of ``root`` left after the ignore rules, sorted by bundle path."""
    rules = load_ignore_rules(root)
    files = list(_walk(root, rules, reporter))
    for file in files:
        _check_name(file.path)
    files.sort(key=_sort_key)
    if not files:
        hint = "check .gitignore / .mixpeekignore"
        rule = rules.explain("", is_dir=True) if rules.is_excluded_dir("") else None
        if rule is not None:
            # PATH lies inside a git-ignored directory, so git's rules drop everything.
            hint = f"{root} itself is ignored by {rule.pattern!r} in {rule.source}; {hint}"
        raise UsageError(
            f"nothing to deploy: no file in {root} is left after the ignore rules", hint=hint
        )
    return files


def _zip_info(file: BundleFile) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(file.path, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    setattr(info, _COMPRESS_LEVEL_ATTR, COMPRESS_LEVEL)
    info.create_system = 3  # Unix, so extractors honour the mode bits
    mode = 0o100755 if file.executable else 0o100644
    info.external_attr = mode << 16
    # A known size lets zipfile choose ZIP64 headers up front for big files.
    info.file_size = file.size
    return info


def _unreadable(file: BundleFile, exc: OSError) -> UsageError:
    return UsageError(
        f"cannot read {file.path}: {exc.strerror or exc}",
        hint="fix its permissions or add it to .mixpeekignore",
    )


def _copy_into(archive: zipfile.ZipFile, file: BundleFile) -> None:
    try:
        source = open(file.source, "rb")  # noqa: SIM115 - read errors are mapped below
    except OSError as exc:
        raise _unreadable(file, exc) from exc
    written = 0
    with source, archive.open(_zip_info(file), "w") as out:
        while True:
            try:
                chunk = source.read(CHUNK_SIZE)
            except OSError as exc:
                raise _unreadable(file, exc) from exc
            if not chunk:
                break
            written += len(chunk)
            out.write(chunk)
    if written != file.size:
        # The recorded size (and zip64 choice) would no longer match the content.
        raise UsageError(
            f"{file.path} changed while it was being bundled", hint="run the command again"
        )


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def write_zip(files: Sequence[BundleFile], dest: Path, reporter: Reporter) -> tuple[str, int]:
    """Write ``files`` (in bundle order) as a zip at ``dest``; return (sha256, size).

    On any error, including KeyboardInterrupt, ``dest`` is removed.
    """
    try:
        with (
            track(reporter, "Bundling", total=len(files), unit="files") as task,
            zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf,
        ):
            for file in files:
                _copy_into(zf, file)
                task.advance(1)
        return _sha256_of(dest), dest.stat().st_size
    except BaseException:
        with contextlib.suppress(OSError):
            dest.unlink()
        raise


def build_bundle(root: Path, reporter: Reporter, *, dest: Path | None = None) -> Bundle:
    """Collect ``root`` and write its zip.

    Without ``dest`` the zip goes to a new temporary file the caller must remove.
    With ``dest`` it is written beside it and renamed into place, so a failed run
    never leaves a half-written ``dest``.
    """
    files = collect_files(root, reporter)
    if dest is None:
        fd, name = tempfile.mkstemp(prefix="mixpeek-bundle-", suffix=".zip")
    else:
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        sha256, size = write_zip(files, tmp, reporter)
        if dest is not None:
            os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    zip_path = tmp if dest is None else dest
    return Bundle(
        zip_path=zip_path,
        sha256=sha256,
        size=size,
        files=tuple(files),
        input_bytes=sum(f.size for f in files),
    )
