"""Files that never ship, whatever the ignore files say: keys, credentials, dotenv files.

The ignore rules decide what a user *wants* in the bundle; this guard runs after them on
the collected files, so a ``!`` in ``.mixpeekignore`` cannot re-include a secret. Only an
explicit ``--include-secret PATH`` (one file at a time) lets one through, and that is said
in the output.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from mixpeek_cli.output.reporter import Reporter

if TYPE_CHECKING:
    from threading import Event

    from mixpeek_cli.bundle.files import BundleFile
    from mixpeek_cli.bundle.secrets.scan import Finding
    from mixpeek_cli.bundle.secrets.worker import ScanChild

DOTENV_ALLOWED = frozenset({".env.example", ".env.sample", ".env.template"})
KEY_FILE_NAMES = frozenset({"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"})
SECRET_DIRS = frozenset({".aws", ".ssh"})
# Only the start of a file is read: a key file is small and its header comes first.
HEAD_BYTES = 64 * 1024
_PRIVATE_KEY = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
# npm: `_authToken=`, `_auth=`, `_password=`; pypirc: `password =` under a server section.
_NPM_CREDENTIAL = re.compile(rb"(?m)^\s*(?:[^#;\s][^=]*:)?_(?:authToken|auth|password)\s*=\s*\S")
_PYPIRC_PASSWORD = re.compile(rb"(?m)^\s*password\s*[=:]\s*\S")


def secret_reason(file: BundleFile) -> str | None:
    """Why ``file`` must not ship, or ``None`` if it may."""
    # Plain string splitting: this runs for every file of every deploy, and building a
    # PurePosixPath each time was most of the cost of an unchanged re-deploy's guard.
    *dirs, name = file.path.split("/")
    for part in dirs:
        if part in SECRET_DIRS:
            return f"it is inside a {part}/ directory"
    if (name == ".env" or name.startswith(".env.")) and name not in DOTENV_ALLOWED:
        return "it is a dotenv file"
    if name in KEY_FILE_NAMES:
        return "it is an SSH private key"
    if name.endswith((".pem", ".key")) and _PRIVATE_KEY.search(_head(file)):
        return "it holds a private key"
    if name == ".npmrc" and _NPM_CREDENTIAL.search(_head(file)):
        return "it holds npm credentials"
    if name == ".pypirc" and _PYPIRC_PASSWORD.search(_head(file)):
        return "it holds a PyPI password"
    return None


def _head(file: BundleFile) -> bytes:
    from mixpeek_cli.errors import UsageError

    try:
        with open(file.source, "rb") as fh:
            return fh.read(HEAD_BYTES)
    except OSError as exc:
        raise UsageError(
            f"cannot read {file.path}: {exc.strerror or exc}",
            hint="fix its permissions or add it to .mixpeekignore",
        ) from exc


def drop_secret_files(
    files: Sequence[BundleFile], include: Collection[str], reporter: Reporter
) -> list[BundleFile]:
    """``files`` without the secret-bearing ones, each dropped or let through said aloud."""
    kept: list[BundleFile] = []
    for file in files:
        reason = secret_reason(file)
        if reason is None:
            kept.append(file)
        elif file.path in include:
            reporter.warn(f"including {file.path} although {reason} (--include-secret)")
            kept.append(file)
        else:
            reporter.warn(
                f"left out {file.path}: {reason}; pass --include-secret {file.path} to ship it"
            )
    return kept


class SecretGuard:
    """The bundle's guard, in three steps so the costly one can overlap the zip writing.

    ``select`` drops secret-bearing files (cheap: names and key-file headers); ``scan``
    reads the kept files for credentials (runs beside the compression, and its findings
    are cached with the bundle so an unchanged tree is not read again); ``judge`` says
    what was found and refuses unless each file was let through with --include-secret.
    """

    def __init__(self, include: Collection[str], reporter: Reporter) -> None:
        self._include = include
        self._reporter = reporter
        self._child: ScanChild | None = None

    @property
    def warm_at(self) -> int:
        """Bytes of files from which the scan runs in a child: :meth:`warm` pays from there."""
        from mixpeek_cli.bundle.secrets.worker import child_from_bytes

        return child_from_bytes()

    def warm(self) -> None:
        """Start the scan's child now, for a scan asked for later (the walk is still going)."""
        from mixpeek_cli.bundle.secrets.worker import ScanChild

        if self._child is None:
            self._child = ScanChild()
        self._child.start()

    def release(self) -> None:
        """Stop a child :meth:`warm` started that no scan used (a reused bundle, an error)."""
        if self._child is not None:
            self._child.close()

    def select(self, files: list[BundleFile]) -> list[BundleFile]:
        return drop_secret_files(files, self._include, self._reporter)

    def scan(self, files: Sequence[BundleFile], stop: Event | None = None) -> list[Finding]:
        from mixpeek_cli.bundle.secrets.worker import scan_in_child

        return scan_in_child(files, stop, started=self._child)

    def scans_here(self, files: Sequence[BundleFile]) -> bool:
        """Whether :meth:`scan` of ``files`` would run in this process (no child pays)."""
        from mixpeek_cli.bundle.secrets.worker import child_from_bytes

        return sum(file.size for file in files) < child_from_bytes()

    def judge(self, findings: Sequence[Finding]) -> None:
        from mixpeek_cli.bundle.secrets.scan import refuse_on_findings

        refused = []
        for finding in findings:
            if finding.path in self._include:
                self._reporter.warn(f"including {finding.describe()} (--include-secret)")
            else:
                refused.append(finding)
        if len(refused) > 1:  # the error names the first only: list every one
            for finding in refused:
                self._reporter.warn(finding.describe())
        refuse_on_findings(refused)

    def __call__(self, files: list[BundleFile]) -> list[BundleFile]:
        """All three steps at once, for callers that want the kept files only."""
        kept = self.select(files)
        self.judge(self.scan(kept))
        return kept


def make_guard(include: Collection[str], reporter: Reporter) -> SecretGuard:
    return SecretGuard(include, reporter)


def bundle_paths(root: Path, given: Sequence[str]) -> set[str]:
    """``--include-secret`` values as bundle paths, whether given from here or from PATH."""
    paths: set[str] = set()
    for value in given:
        candidate = Path(value).resolve()
        if candidate.is_relative_to(root) and candidate.exists():
            paths.add(candidate.relative_to(root).as_posix())
        else:
            paths.add(PurePosixPath(value).as_posix())
    return paths
