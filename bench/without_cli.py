#!/usr/bin/env python3
"""`mixpeek bundle -o OUT -q` of the current directory with no CLI framework at all.

    python bench/without_cli.py OUT

The same pipeline the command runs (settings, build step, walk, zip, scan, Canvas check,
the one error map), called directly: its time is the floor an argparse front end could
reach, which docs/performance.md compares with `zip -r -X` and `mixpeek bundle`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from mixpeek_cli.config.settings import resolve_settings
from mixpeek_cli.deploy.prepare import prepare_bundle
from mixpeek_cli.deploy.request import DeployRequest, check_directory
from mixpeek_cli.output.runner import Output, run_command


def _body(console: Any, reporter: Any) -> int:
    root = check_directory(Path("."))
    request = DeployRequest(
        path=root,
        message=None,
        include_secrets=frozenset(),
        build=True,
        bundle_check=True,
        quiet=True,
    )
    settings = resolve_settings(root=root, env=os.environ)
    prepared = prepare_bundle(settings, request, reporter, root=root, dest=Path(sys.argv[1]))
    sys.stdout.write(f"{prepared.bundle.sha256}\n")
    return 0


if __name__ == "__main__":
    output = Output(json=False, quiet=True, verbose=False, plain=False, redact=lambda s: s)
    code = run_command(output, _body)
    sys.stdout.flush()
    os._exit(code)  # as mixpeek's entry point does: no interpreter teardown
