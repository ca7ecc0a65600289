"""Node.js, which runs server functions: found once, its version checked (18 or later).

``MIXPEEK_NODE`` names the program; else ``node`` on PATH. 18 is the first release with a
global ``fetch``, which ``ctx`` promises.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from mixpeek_cli.errors import UsageError

MIN_MAJOR = 18
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Node:
    path: str
    version: str  # "20.19.2"


class NodeMissing(UsageError):
    """No usable Node.js: the message says what was found, the hint what to do."""


def find_node() -> Node:
    """The Node.js to run functions with, or :class:`NodeMissing`."""
    given = os.environ.get("MIXPEEK_NODE")
    path = shutil.which(given) if given else shutil.which("node")
    if path is None:
        where = f"MIXPEEK_NODE={given!r} is not a program" if given else "node is not on PATH"
        raise NodeMissing(
            f"server functions (api/*.ts, api/*.js) run in Node.js {MIN_MAJOR} or later, "
            f"and {where}",
            hint="install Node.js (it comes with npm), or set MIXPEEK_NODE to its program",
        )
    return _checked(path)


@functools.lru_cache(maxsize=8)
def _checked(path: str) -> Node:
    try:
        answer = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NodeMissing(f"{path} --version failed: {exc}", hint="check your Node.js") from None
    match = _VERSION.match(answer)
    if match is None or int(match.group(1)) < MIN_MAJOR:
        raise NodeMissing(
            f"server functions need Node.js {MIN_MAJOR} or later; {path} is {answer or 'unknown'}",
            hint="install a newer Node.js, or set MIXPEEK_NODE to one",
        )
    return Node(path, ".".join(match.groups()))
