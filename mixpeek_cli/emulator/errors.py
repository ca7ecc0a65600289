"""The published ``ErrorResponse``, raised from anywhere in the emulated API."""

from __future__ import annotations

from typing import Any

from mixpeek_cli.emulator.models import ErrorDetail, ErrorResponse


class ApiError(Exception):
    """Answered as an ``ErrorResponse`` body with this status."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def error_body(status: int, error_type: str, message: str) -> dict[str, Any]:
    detail = ErrorDetail(message=message, type=error_type)
    return ErrorResponse(status=status, error=detail).model_dump()


def not_found(what: str) -> ApiError:
    return ApiError(404, "NotFoundError", f"{what} not found")
