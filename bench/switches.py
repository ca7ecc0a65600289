#!/usr/bin/env python3
"""Run the CLI with some of its speed mechanisms turned off, from outside the package.

    python bench/switches.py SPEC -- ARGS...      # as `mixpeek ARGS...`

SPEC is a comma-separated list of mechanism names, each with ``-`` (turned off) or ``+``
(its module imported exactly as for ``-``, but left alone): the two sides of a comparison
then import the same modules before the CLI starts. The package offers no switch of its
own for these; each is turned off here by replacing one module attribute, the least
invasive way found (docs/performance.md, "What each mechanism saves"):

- ``parallel``: ``zipwriter.default_workers`` answers 1: the zip is written by one worker
  thread instead of one per core (the bytes do not change);
- ``walk-cache``: ``build.WalkCache`` gives None: every walk matches the ignore rules again;
- ``bundle-cache``: ``build.BundleCache`` gives None: no bundle is reused, so neither is its
  walk record (kept in the same directory) nor its upload; each zip goes to a temporary file;
- ``scan-child``: ``worker._spawn`` gives None, the package's own "no usable interpreter"
  path: the secret scan runs in-process, on its thread beside the zip writer;
- ``md5-handover``: ``presigned.Md5Job`` is replaced by one that hashes the whole zip once
  the PUT is answered, instead of on a helper thread during the PUT.

A name whose attribute is gone (the package changed) stops with exit status 3.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Where each switch lives: (module, attribute, replacement factory).
SWITCHES: dict[str, tuple[str, str, Callable[[Any], Any]]] = {
    "parallel": ("mixpeek_cli.bundle.zipwriter", "default_workers", lambda _old: lambda: 1),
    "walk-cache": ("mixpeek_cli.bundle.build", "WalkCache", lambda _old: lambda *a, **k: None),
    "bundle-cache": (
        "mixpeek_cli.bundle.build",
        "BundleCache",
        lambda _old: lambda *a, **k: None,
    ),
    "scan-child": ("mixpeek_cli.bundle.secrets.worker", "_spawn", lambda _old: lambda: None),
    "md5-handover": ("mixpeek_cli.upload.presigned", "Md5Job", lambda _old: _SerialMd5),
}


class _SerialMd5:
    """Md5Job's interface, hashing nothing until :meth:`result`: the MD5 after the PUT."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def result(self) -> str:
        from mixpeek_cli.upload.digest import compute_md5

        return compute_md5(self._path)

    def cancel(self) -> None:
        pass


def apply(spec: str) -> None:
    for item in filter(None, spec.split(",")):
        sign, name = item[0], item[1:]
        if sign not in "+-" or name not in SWITCHES:
            raise SystemExit(f"switches.py: unknown switch {item!r} (known: {', '.join(SWITCHES)})")
        module_name, attribute, replacement = SWITCHES[name]
        module = importlib.import_module(module_name)
        if not hasattr(module, attribute):
            sys.stderr.write(
                f"switches.py: {module_name}.{attribute} is gone: {name} no longer applies\n"
            )
            raise SystemExit(3)
        if sign == "-":
            setattr(module, attribute, replacement(getattr(module, attribute)))


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[2] != "--":
        raise SystemExit(__doc__)
    from mixpeek_cli import entry

    entry._skip_httpx_cli()  # as the console script does, before anything imports httpx
    apply(sys.argv[1])
    sys.argv = ["mixpeek", *sys.argv[3:]]
    entry.main()


if __name__ == "__main__":
    main()
