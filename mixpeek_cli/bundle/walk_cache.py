"""Replay the previous walk of a deploy PATH when nothing it depended on has changed.

Like git's untracked cache: a walk's outcome is a function of the listings of the
directories it entered and of the ignore rules' inputs (which rule files exist, their
bytes, the repository's top and exclude files), plus the code that decides. A record
keeps all of those, and the files the walk kept, in bundle order.

A replay re-lists every directory the walk entered and compares each listing's
digest (names and kinds, so no directory mtime is trusted), reads every rule file
again, asks git for the repository facts again, and checks the code is the same; any
difference means a full walk. Then each kept file is ``lstat``-ed afresh, so the
files come back with stamps taken now, for the bundle cache to judge their contents.
What it saves is building the rules (and importing pathspec) and matching every
entry of the tree against them.

Walks that met a symlink or a special file are not recorded: a link's fate depends on
its target, which no listing here shows.
"""

from __future__ import annotations

import importlib.util
import json
import os
import stat
from pathlib import Path
from typing import Any

from mixpeek_cli import __version__
from mixpeek_cli.atomic import write_atomically
from mixpeek_cli.bundle.files import BundleFile, listing_digest, regular_file
from mixpeek_cli.bundle.ignore import IgnoreInputs, repo_fingerprint, source_digest

FORMAT = 2
NAME = "walk.json"


def _code_stamp() -> list[Any]:
    """The code that decides a walk: this package's version and files, and pathspec's.

    An upgrade (or, in a development checkout, an edit) of either may change which
    files a walk keeps, so a record made by other code is not replayed.
    """
    # Found by name, not imported: the walk imports this module, not the other way round.
    deciders = (
        "mixpeek_cli.bundle.ignore",
        "mixpeek_cli.bundle.walk",
        "mixpeek_cli.bundle.files",
        "pathspec",
    )
    files = [__file__]
    for module in deciders:
        spec = importlib.util.find_spec(module)
        files.append(spec.origin if spec is not None and spec.origin else "")
    stamps: list[Any] = [FORMAT, __version__]
    for name in files:
        try:
            st = os.stat(name)
            stamps.append([name, st.st_size, st.st_mtime_ns])
        except OSError:
            stamps.append([name, None])
    return stamps


class WalkCache:
    """The walk record of one deploy PATH, kept in that PATH's bundle cache directory."""

    def __init__(self, directory: Path, root: Path, rules_key: str = "") -> None:
        """``rules_key`` names which rules decide the walk ("" for PATH's own): a record
        made under other rules (an output directory's) is not replayed."""
        self.path = directory / NAME
        self.root = os.path.realpath(root)
        self.rules_key = rules_key

    def replay(self) -> list[BundleFile] | None:
        """The files a walk would find now, or None when a full walk is needed."""
        try:
            record = json.loads(self.path.read_bytes())
            if record["format"] != FORMAT or record["root"] != self.root:
                return None
            if record["rules"] != self.rules_key:
                return None
            if not isinstance(record["files"], list):
                return None
            return self._replay(record)
        except OSError:
            return None  # no record, or a directory gone: the full walk reports it properly
        # A damaged record: values of the wrong type fail the first operation they meet.
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def _replay(self, record: dict[str, Any]) -> list[BundleFile] | None:
        if record["code"] != _code_stamp():
            return None
        if record["repo"] != repo_fingerprint(Path(self.root)):
            return None
        for path, digest in record["sources"]:
            # A str, checked: open() would take a number for a file descriptor.
            if not isinstance(path, str) or source_digest(path) != digest:
                return None
        prefix = os.path.join(self.root, "")
        for rel, digest in record["dirs"]:
            with os.scandir(prefix + rel if rel else self.root) as entries:
                if listing_digest(entries) != digest:
                    return None
        files = []
        for rel in record["files"]:
            full = prefix + rel
            st = os.lstat(full)
            if not stat.S_ISREG(st.st_mode):
                return None
            files.append(regular_file(rel, full, st))
        return files or None

    def store(
        self, files: list[BundleFile], listings: dict[str, str], inputs: IgnoreInputs
    ) -> None:
        """Remember a full walk's outcome (``files`` in bundle order)."""
        record = {
            "format": FORMAT,
            "root": self.root,
            "rules": self.rules_key,
            "code": _code_stamp(),
            "repo": inputs.repo,
            "sources": [list(source) for source in inputs.sources],
            "dirs": sorted(listings.items()),
            "files": [file.path for file in files],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps(record).encode("utf-8"))
