"""What a deploy did: the result object the CLI renders for people or as JSON.

Its JSON shape is a contract (docs/scripting.md, tests/test_json_contract.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mixpeek_cli.errors import ExitCode

if TYPE_CHECKING:
    from mixpeek_cli.deploy.watch import Watched
    from mixpeek_cli.service.models import DeployInfo


@dataclass(kw_only=True)
class DeployResult:
    """What happened; rendered by :mod:`mixpeek_cli.deploy.report` (its JSON is a contract)."""

    app_id: str | None
    environment: str
    message: str
    deploy_id: str | None = None
    status: str | None = None
    url: str | None = None
    error: str | None = None
    bundle_s3_key: str | None = None
    bundle_sha256: str
    bundle_bytes: int
    file_count: int
    input_bytes: int
    source_files_count: int
    source_files_skipped: int
    git_commit_sha: str | None
    git_commit_message: str | None
    git_author: str | None
    upload_reused: bool = False
    smoke_test: dict[str, Any] | None = None
    # The build command run first ({"command", "seconds"}), the output directory bundled,
    # the Canvas check's verdict, and why source files were left out.
    build: dict[str, Any] | None = None
    output_dir: str | None = None
    bundle_check: dict[str, Any] | None = None
    source_files_left_out: dict[str, int] | None = None
    dry_run: bool = False
    waited: bool = True
    timed_out: bool = False
    largest_files: list[tuple[str, int]] = field(default_factory=list)
    log_tail: list[str] = field(default_factory=list)
    source: str = "cli_upload"
    audit: dict[str, Any] | None = None
    watched: Watched | None = None  # --watch: how the live version did

    @property
    def refused(self) -> bool:
        """Canvas would refuse the bundle (a dry run reports it rather than stopping)."""
        return self.bundle_check is not None and not self.bundle_check.get("ok", True)

    @property
    def exit_code(self) -> ExitCode:
        if self.refused:
            return ExitCode.USAGE
        if self.dry_run or not self.waited:
            return ExitCode.OK
        if self.timed_out:
            return ExitCode.TIMEOUT
        if self.status == "failed":
            return ExitCode.DEPLOY_FAILED
        if self.status != "complete":
            return ExitCode.API
        return self.watched.exit_code if self.watched is not None else ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "app_id": self.app_id,
            "deploy_id": self.deploy_id,
            "status": self.status,
            "environment": self.environment,
            "message": self.message,
            "url": self.url,
            "error": self.error,
            "bundle_s3_key": self.bundle_s3_key,
            "bundle_sha256": self.bundle_sha256,
            "bundle_bytes": self.bundle_bytes,
            "file_count": self.file_count,
            "input_bytes": self.input_bytes,
            "source_files_count": self.source_files_count,
            "source_files_skipped": self.source_files_skipped,
            "source_files_left_out": self.source_files_left_out,
            "git_commit_sha": self.git_commit_sha,
            "git_commit_message": self.git_commit_message,
            "git_author": self.git_author,
            "upload_reused": self.upload_reused,
            "smoke_test": self.smoke_test,
            "build": self.build,
            "output_dir": self.output_dir,
            "bundle_check": self.bundle_check,
            "dry_run": self.dry_run,
            "timed_out": self.timed_out,
            "largest_files": [{"path": p, "bytes": n} for p, n in self.largest_files],
            "log_tail": self.log_tail,
            "source": self.source,
        }
        if self.audit is not None:
            data["audit"] = self.audit
        if self.watched is not None:
            data.update(self.watched.to_json())
        if self.source == "git":
            # Nothing was bundled: say so rather than report zeros.
            data.update(dict.fromkeys(_BUNDLE_KEYS))
        return data


_BUNDLE_KEYS = (
    "bundle_s3_key",
    "bundle_sha256",
    "bundle_bytes",
    "file_count",
    "input_bytes",
    "source_files_count",
    "source_files_skipped",
    "source_files_left_out",
    "build",
    "output_dir",
    "bundle_check",
)


def absorb(result: DeployResult, deploy: DeployInfo) -> None:
    result.deploy_id = deploy.deploy_id
    result.status = deploy.status
    result.error = deploy.error
    if deploy.smoke_test is not None:
        result.smoke_test = deploy.smoke_test.to_json()
    if deploy.environment:
        result.environment = deploy.environment
