"""Which files a deploy PATH holds: a walk pruned by the ignore rules.

Excluded directories are never entered (a ``node_modules/`` costs one rule check), a
symlink to a regular file inside PATH is bundled with its target's content, and
anything else that is not a regular file is skipped with a warning. A deploy passes a
:class:`~mixpeek_cli.bundle.walk_cache.WalkCache`, which replays the previous walk of an
unchanged tree without loading a single ignore rule.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mixpeek_cli.bundle.files import BundleFile, listing_digest, regular_file
from mixpeek_cli.errors import UsageError
from mixpeek_cli.output.reporter import Reporter

if TYPE_CHECKING:
    from mixpeek_cli.bundle.ignore import IgnoreRules, RulesLoader
    from mixpeek_cli.bundle.walk_cache import WalkCache


@dataclass
class SizeWatch:
    """Calls ``action`` once, as soon as a walk has found ``at_bytes`` of files (so work
    that only a large tree needs can start while the walk goes on)."""

    at_bytes: int
    action: Callable[[], None]
    seen: int = 0

    def add(self, size: int) -> None:
        if self.seen < self.at_bytes:
            self.seen += size
            if self.seen >= self.at_bytes:
                self.action()


@dataclass
class Walk:
    """What one walk found and what it looked at."""

    files: list[BundleFile] = field(default_factory=list)
    listings: dict[str, str] = field(default_factory=dict)  # every listed dir -> its digest
    # Only directories and regular files met: nothing whose fate hangs on something
    # outside the listings (a symlink's target), so the walk can be replayed.
    plain: bool = True


# What makes a name unsafe to ship: a byte that is not UTF-8 (decoded by Python as a lone
# surrogate), a control character (C0, DEL, C1: an extractor or terminal that prints the
# name runs it: ESC[2J clears the screen), or a backslash, which Windows and many unzip
# tools read as a folder separator (`a\b.js` would land as `a/b.js`, or fail).
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\\\ud800-\udfff]")


def _check_name(rel: str) -> None:
    """Refuse a name the zip cannot carry as it is meant (one regex search per file)."""
    found = _UNSAFE_NAME.search(rel)
    if found is None:
        return
    char = found.group()
    if "\ud800" <= char <= "\udfff":
        shown, why = repr(os.fsencode(rel)), "its name is not valid UTF-8"
    elif char == "\\":
        shown = repr(rel)
        why = "its name holds a backslash, which Windows and unzip tools read as a folder separator"
    else:
        shown, why = repr(rel), f"its name holds the control character {char!r}"
    raise UsageError(
        f"cannot bundle {shown}: {why}", hint="rename it (or add it to .mixpeekignore)"
    )


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
    return regular_file(rel, real, st)


def walk(
    root: Path, rules: IgnoreRules, reporter: Reporter, watch: SizeWatch | None = None
) -> Walk:
    """Every file under ``root`` the rules keep, in no particular order; ``watch`` is told
    each regular file's size."""
    found = Walk()
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
        found.listings[rel_dir] = listing_digest(entries)
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_dir(follow_symlinks=False):
                if not rules.is_excluded_dir(rel):
                    stack.append(rel)
                continue
            if rules.is_excluded_file(rel):
                continue
            # Here, before a warning could print the name raw, and only for what is kept.
            _check_name(rel)
            if entry.is_symlink():
                found.plain = False
                link = _symlink_file(entry.path, rel, real_root, rules, reporter)
                if link is not None:
                    found.files.append(link)
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                found.plain = False
                continue  # removed since the directory was listed
            if not stat.S_ISREG(st.st_mode):
                found.plain = False
                reporter.warn(f"skipped {rel}: it is {_kind(st.st_mode)}")
                continue
            found.files.append(regular_file(rel, entry.path, st))
            if watch is not None:
                watch.add(st.st_size)
    return found


def _sort_key(file: BundleFile) -> bytes:
    return file.path.encode("utf-8")


def collect_files(
    root: Path,
    reporter: Reporter,
    *,
    cache: WalkCache | None = None,
    rules: RulesLoader | None = None,
    watch: SizeWatch | None = None,
) -> list[BundleFile]:
    """Every file of ``root`` left after the ignore rules, sorted by bundle path.

    ``rules`` builds the rules (default: PATH's own, git's included). With ``cache``, an
    unchanged tree's previous walk is replayed, and a new walk is remembered for next time.
    ``watch`` sees the files of a full walk as it finds them (a replayed walk, whose tree
    is most likely bundled already, tells it nothing).
    """
    if cache is not None:
        replayed = cache.replay()
        if replayed is not None:
            return replayed
    if rules is None:
        from mixpeek_cli.bundle.ignore import load_ignore_rules

        rules = load_ignore_rules
    return _walked(root, reporter, cache, rules(root), watch)


def _walked(
    root: Path,
    reporter: Reporter,
    cache: WalkCache | None,
    rules: IgnoreRules,
    watch: SizeWatch | None = None,
) -> list[BundleFile]:
    found = walk(root, rules, reporter, watch)
    files = found.files
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
    if cache is not None and found.plain:
        with contextlib.suppress(OSError):
            cache.store(files, found.listings, rules.inputs)
    return files
