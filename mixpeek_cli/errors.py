"""Exit codes and the exceptions that carry them.

Every failure a user can meet is raised as a :class:`MixpeekError` subclass whose
message says what went wrong and, where possible, what to do. They become a one-line
message on stderr plus the matching exit code in exactly one place:
``mixpeek_cli.output.runner.run_command``, which runs every command's body (through the
command layer, ``mixpeek_cli.commands.layer``).
"""

from __future__ import annotations

import enum
from typing import Any


class ExitCode(enum.IntEnum):
    """The documented exit codes (docs/exit-codes.md)."""

    OK = 0
    DEPLOY_FAILED = 1
    USAGE = 2
    TIMEOUT = 3
    AUTH = 4
    API = 5
    UNHEALTHY = 6
    INTERRUPTED = 130


class MixpeekError(Exception):
    """Base class: a failure with a user-facing message and an exit code."""

    exit_code: ExitCode = ExitCode.API

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Set when the failure came after the deploy was created: it goes on server-side,
        # and the user needs its id to follow it.
        self.deploy_id: str | None = None
        # Set when a create-type write (a deploy, a restore) reached the server but its
        # answer was lost: it may exist, and must not be sent again blindly.
        self.maybe_created = False

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        text = self.message.rstrip(".")
        if self.hint:
            text = f"{text}. {self.hint}"
        return " ".join(text.split())


class UsageError(MixpeekError):
    """Bad flags, settings or local input. Raised before any network call."""

    exit_code = ExitCode.USAGE


class AuthError(MixpeekError):
    """The API refused the key (401/403)."""

    exit_code = ExitCode.AUTH


class ApiError(MixpeekError):
    """Any other API or network failure after retries."""

    exit_code = ExitCode.API

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status_code: int | None = None,
        error_type: str | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code
        # From a Mixpeek ErrorResponse body (``error.type``, ``error.code``); None when the
        # answer was not one (a proxy's page, a server that does not speak the API).
        self.error_type = error_type
        self.code = code
        # ``error.details`` (e.g. a tier limit's ``limit`` and ``count``); empty when none.
        self.details: dict[str, Any] = details or {}


class UploadError(MixpeekError):
    """The bundle could not be uploaded (or its arrival could not be confirmed)."""

    exit_code = ExitCode.API


class Interrupted(MixpeekError):
    """Ctrl-C. If a deploy was already created it goes on server-side; say which one."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, message: str, *, hint: str | None = None, deploy_id: str | None = None):
        super().__init__(message, hint=hint)
        self.deploy_id = deploy_id


class WatchTimeout(MixpeekError):
    """``--timeout`` ran out while a live version was being watched (``--watch``)."""

    exit_code = ExitCode.TIMEOUT


class DeadlineReached(ApiError):
    """``--timeout`` ran out during a network wait or before a retry.

    Exit 5 where nothing was created yet; while a deploy is followed, the follower turns
    it into exit 3 (still not final when the time ran out) with the deploy's id."""
