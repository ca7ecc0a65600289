"""The published ``ErrorResponse``, raised from anywhere in the emulated API."""

from __future__ import annotations

from typing import Any

from mixpeek_cli.emulator.models import ErrorDetail, ErrorResponse


class ApiError(Exception):
    """Answered as an ``ErrorResponse`` body with this status."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.code = code
        self.details = details


def error_body(
    status: int,
    error_type: str,
    message: str,
    code: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The body; ``error.code`` only when there is one (the SDK's ErrorDetail: optional),
    ``error.details`` null unless given (a tier limit's ``limit`` and ``count``)."""
    detail = ErrorDetail(message=message, type=error_type, code=code, details=details)
    body = ErrorResponse(status=status, error=detail).model_dump()
    if code is None:
        del body["error"]["code"]
    return body


def not_found(what: str, code: str | None = None) -> ApiError:
    """404 ``NotFoundError``; ``code`` (e.g. ``version_not_found``) is the emulator's
    choice: the service's fine-grained codes are not published."""
    return ApiError(404, "NotFoundError", f"{what} not found", code)
