"""Would Canvas take this bundle? The check made before a byte leaves the machine.

Canvas serves a built frontend: the zip must hold ``index.html`` at its root, or inside
one top-level folder that holds everything (``zip -r app.zip dist/``). A bundle that does
not is refused here, with what was found and what to do: most often the project's
source was about to ship instead of its build output.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INDEX = "index.html"
BUILD_DIRS = ("dist", "build", "out")  # where the common frontends build to


@dataclass(frozen=True)
class CanvasCheck:
    ok: bool
    entry: str | None  # the index.html Canvas will serve, as a bundle path
    problem: str | None = None
    hint: str | None = None
    skipped: bool = False
    # Served, but likely broken: the project's source about to ship instead of its build.
    warning: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "skipped": self.skipped,
            "entry": self.entry,
            "problem": self.problem,
            "hint": self.hint,
            "warning": self.warning,
        }


SKIPPED = CanvasCheck(ok=True, entry=None, skipped=True)


def check_bundle(paths: Sequence[str], project: Path, *, output_dir: str | None) -> CanvasCheck:
    """Judge the bundle's ``paths`` (bundle paths); ``project`` is PATH, for the hints."""
    if INDEX in paths:
        return CanvasCheck(ok=True, entry=INDEX, warning=_source_warning(paths, project))
    tops = {path.split("/", 1)[0] for path in paths}
    if len(tops) == 1 and all("/" in path for path in paths):
        entry = f"{tops.pop()}/{INDEX}"
        if entry in paths:
            return CanvasCheck(ok=True, entry=entry)
    return CanvasCheck(
        ok=False,
        entry=None,
        problem=_found(paths),
        hint=_hint(project, output_dir),
    )


def _found(paths: Sequence[str]) -> str:
    folders = sorted({path.split("/", 1)[0] for path in paths if "/" in path})
    loose = sum("/" not in path for path in paths)
    if len(folders) == 1 and not loose:
        text = f"the bundle has no index.html at its root or in its one folder {folders[0]}/"
    else:
        parts = []
        if folders:
            shown = ", ".join(f"{name}/" for name in folders[:4])
            more = ", ..." if len(folders) > 4 else ""
            parts.append(f"{_count(len(folders), 'top-level folder')} ({shown}{more})")
        if loose:
            parts.append(_count(loose, "top-level file"))
        text = "the bundle has no index.html at its root, nor one top-level folder: it has "
        text += " and ".join(parts)
    nested = sorted(path for path in paths if path.endswith(f"/{INDEX}"))
    if nested:
        text += f"; index.html is at {', '.join(nested[:3])}"
    return text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _hint(project: Path, output_dir: str | None) -> str:
    built = [d for d in BUILD_DIRS if (project / d / INDEX).is_file() and d != output_dir]
    if output_dir is None and built:
        return (
            f"{built[0]}/{INDEX} exists: deploy the build output with --output-dir "
            f'{built[0]} (or output_dir = "{built[0]}" in mixpeek.toml)'
        )
    if _has_build_script(project):
        return (
            "this looks like a project's source: set the build command and output directory "
            '(--build-command "npm run build" --output-dir dist, or build_command and '
            "output_dir in mixpeek.toml; mixpeek init detects them)"
        )
    if output_dir is not None:
        return f"check that the build writes index.html into {output_dir}"
    return "add an index.html, or point --output-dir at the built site (mixpeek init helps)"


def _source_warning(paths: Sequence[str], project: Path) -> str | None:
    """An index.html at the root of a project that has a build script is often its source
    (Vite's index.html loads /src/main.ts): Canvas takes it, and serves a broken site.

    A frontend `mixpeek init` detects is built before this, unless a build setting was
    given (see deploy/prepare.py); what reaches here is one it does not know, or one the
    user chose to ship as it is."""
    if "package.json" not in paths or not _has_build_script(project):
        return None
    return (
        "this bundle is PATH with its package.json: if that is a frontend's source, Canvas "
        "will serve it unbuilt; set the build command and output directory (--build-command "
        "and --output-dir, or build_command and output_dir in mixpeek.toml)"
    )


def _has_build_script(project: Path) -> bool:
    try:
        package = json.loads((project / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    scripts = package.get("scripts") if isinstance(package, dict) else None
    return isinstance(scripts, dict) and isinstance(scripts.get("build"), str)
