"""Write top-level keys of ``mixpeek.toml`` in place, keeping every other line as it is.

There is no TOML writer in the standard library, and rewriting the file from a parse
would drop the user's comments and layout; only the lines of the keys being set
change. Values are simple strings, written as TOML basic strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mixpeek_cli.atomic import write_atomically
from mixpeek_cli.config.settings import PROJECT_FILE, read_project_file

_TABLE = re.compile(r"^\s*\[")


def _key_line(key: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*{re.escape(key)}\s*=")


@dataclass(frozen=True)
class Written:
    path: Path
    created: bool
    previous: dict[str, object]  # the old values of the keys that changed


def set_keys(root: Path, values: Mapping[str, str]) -> Written:
    """Set ``values`` at the top level of ``root/mixpeek.toml`` (created if missing)."""
    path = root / PROJECT_FILE
    current = read_project_file(root)  # a file that is not valid TOML stops here
    created = not path.exists()
    lines = [] if created else path.read_text(encoding="utf-8").splitlines()
    previous = {k: current[k] for k in values if k in current and current[k] != values[k]}
    # New keys go before the first table, where top-level keys must be.
    first_table = next((i for i, line in enumerate(lines) if _TABLE.match(line)), len(lines))
    additions: list[str] = []
    for key, value in values.items():
        line = f"{key} = {json.dumps(value)}"
        pattern = _key_line(key)
        for i in range(first_table):
            if pattern.match(lines[i]):
                lines[i] = line
                break
        else:
            additions.append(line)
    lines[first_table:first_table] = additions
    text = "\n".join(lines) + "\n"
    write_atomically(path, text.encode("utf-8"))
    return Written(path=path, created=created, previous=previous)
