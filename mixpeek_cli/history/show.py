"""`mixpeek versions show N`: one version's detail as a JSON document and as lines.

Every value here is the service's text; the lines go out through ``printable`` (the
command does it), the document through ``printable_json``.
"""

from __future__ import annotations

from typing import Any

from mixpeek_cli.service.versions import VersionDetail


def version_detail_json(
    detail: VersionDetail, *, list_files: bool, live_in: list[str] | None = None
) -> dict[str, Any]:
    """The document `versions show --json` prints (docs/scripting.md).

    ``live_in``: where it is live, when the detail itself does not say (``is_active``).
    """
    record = detail.record
    if record.serving is not None:
        live_in = sorted(record.serving)
    sizes = [a.size for a in detail.assets if a.size is not None]
    return {
        "version": record.version,
        "message": record.message,
        "git_commit_sha": record.git_sha,
        "git_commit_message": detail.git_commit_message,
        "git_author": _raw_text(record.raw, "git_author"),
        "deployed_by": detail.deployed_by or record.who,
        "deployed_at": record.when,
        "environment": record.environment,
        "build_duration_ms": detail.build_duration_ms,
        "live_in": live_in,
        "file_count": len(detail.assets),
        "total_bytes": sum(sizes) if detail.assets else 0,
        "files": (
            [{"path": a.path, "size": a.size, "hash": a.hash} for a in detail.assets]
            if list_files
            else None
        ),
        "source_files": detail.source_paths,
        # The service's whole VersionDetailResponse, as it came.
        "detail": record.raw,
    }


def _raw_text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) and value else None


def detail_lines(shown: dict[str, Any]) -> list[str]:
    """The document as lines for people (the command makes each printable)."""
    from mixpeek_cli.output.formats import age, human_bytes

    def field(label: str, value: Any) -> str:
        return f"{label + ':':<14}{' '.join(str(value).split()) if value is not None else '-'}"

    when = shown["deployed_at"]
    took = shown["build_duration_ms"]
    live = shown["live_in"]
    lines = [
        f"version {shown['version']}",
        field("message", shown["message"]),
        field("deployed by", shown["deployed_by"]),
        field("deployed", f"{when} ({age(when)})" if when else None),
        field("environment", shown["environment"]),
        field("build time", f"{took / 1000:.1f} s" if isinstance(took, int) else None),
        field("live in", (", ".join(live) or "nowhere") if live is not None else "unknown"),
        field("git sha", shown["git_commit_sha"]),
        field("git message", shown["git_commit_message"]),
        field("git author", shown["git_author"]),
        field("files", f"{shown['file_count']} ({human_bytes(shown['total_bytes'])})"),
    ]
    for entry in shown["files"] or ():
        size = human_bytes(entry["size"]) if entry["size"] is not None else "?"
        lines.append(f"  {size:>10}  {entry['path']}")
    sources = shown["source_files"]
    lines.append(field("source files", len(sources)))
    lines += [f"  {path}" for path in sources]
    return lines
