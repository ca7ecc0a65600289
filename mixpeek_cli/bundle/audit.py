"""What a bundle ships and what it leaves out, and why: for `--dry-run --json` audits."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mixpeek_cli.bundle.ignore import IgnoreRules, Rule, load_ignore_rules
from mixpeek_cli.bundle.secrets.files import secret_reason

if TYPE_CHECKING:
    from mixpeek_cli.bundle.files import BundleFile

CHUNK = 1024 * 1024


def _sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _rule_text(rule: Rule | None) -> str:
    if rule is None:
        return "unknown rule"
    where = rule.source if not rule.line else f"{rule.source}:{rule.line}"
    return f"{rule.pattern} ({where})"


def excluded_by_rules(root: Path, rules: IgnoreRules) -> list[dict[str, Any]]:
    """Excluded entries, each with its rule; an excluded directory is one entry (not walked)."""
    found: list[dict[str, Any]] = []
    for current, dirs, files in os.walk(root):
        rel_dir = Path(current).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        kept_dirs = []
        for name in sorted(dirs):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if rules.is_excluded_dir(rel):
                rule = rules.explain(rel, is_dir=True)
                found.append({"path": rel + "/", "rule": _rule_text(rule)})
            else:
                kept_dirs.append(name)
        dirs[:] = kept_dirs
        for name in sorted(files):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if rules.is_excluded_file(rel):
                found.append({"path": rel, "rule": _rule_text(rules.explain(rel))})
    return found


def build_audit(
    root: Path,
    collected: Sequence[BundleFile],
    shipped: Sequence[BundleFile],
    rules: IgnoreRules | None = None,
) -> dict[str, Any]:
    """``files``: what ships (path, size, sha256); ``excluded``: what does not, and why.

    ``rules`` are the rules that decided ``root`` (default: its own).
    """
    shipped_paths = {f.path for f in shipped}
    excluded = excluded_by_rules(root, rules or load_ignore_rules(root))
    for file in collected:
        if file.path not in shipped_paths:
            reason = secret_reason(file) or "left out by the secret guard"
            excluded.append({"path": file.path, "rule": f"secret guard: {reason}"})
    excluded.sort(key=lambda entry: str(entry["path"]))
    return {
        "files": [{"path": f.path, "size": f.size, "sha256": _sha256(f.source)} for f in shipped],
        "excluded": excluded,
    }
