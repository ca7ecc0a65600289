"""Turn the API's error answers into one readable line and the right exception.

Mixpeek answers errors as ``ErrorResponse`` (``{"error": {"message", "type", "details"}}``)
or, for a bad body, FastAPI's ``HTTPValidationError`` (``{"detail": [...]}``); a proxy in
between may answer an HTML page. Each becomes one line with the server's own words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from mixpeek_cli.errors import ApiError, AuthError

PLAN_HINT = (
    "check the key (--api-key, MIXPEEK_API_KEY or mixpeek login) and that your plan "
    "includes Canvas Apps: they need an Enterprise plan"
)


@dataclass(frozen=True)
class MixpeekErrorBody:
    """The ``error`` object of a Mixpeek ``ErrorResponse``: ``{"error": {"message",
    "type", "code"?, "details"?}}``."""

    message: str
    type: str | None
    code: str | None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def retryable(self) -> bool | None:
        """``details.retryable``: False means never send it again, whatever the status."""
        value = self.details.get("retryable")
        return value if isinstance(value, bool) else None

    @property
    def retry_after_seconds(self) -> float | None:
        value = self.details.get("retry_after_seconds")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return float(value)
        return None


def mixpeek_error(response: httpx.Response) -> MixpeekErrorBody | None:
    """The answer's Mixpeek error object, or None when the body is not one (a proxy's
    page, FastAPI's validation list, a server that does not speak the API)."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return None
    kind, code, details = error.get("type"), error.get("code"), error.get("details")
    return MixpeekErrorBody(
        message=error["message"],
        type=kind if isinstance(kind, str) and kind else None,
        code=code if isinstance(code, str) and code else None,
        details=details if isinstance(details, dict) else {},
    )


def failure_for(
    response: httpx.Response, method: str, path: str, scrub: Callable[[str], str]
) -> ApiError | AuthError:
    """The exception for a non-2xx answer; ``scrub`` removes the key from echoed text."""
    status = response.status_code
    text = scrub(render_error_body(response))
    body = mixpeek_error(response)
    kind = body.type if body else None
    code = body.code if body else None
    if status == 401:
        return AuthError(
            f"the API refused the key (HTTP 401): {text}",
            hint="check --api-key / MIXPEEK_API_KEY, or run mixpeek login",
        )
    if status == 403:
        # Mixpeek answers 403 UnauthorizedError for a bad key and for plan or credit checks.
        return AuthError(f"the API refused the request (HTTP 403): {text}", hint=PLAN_HINT)
    if status == 429:
        limit = body.details.get("api_name") if body else None
        named = f" on {limit}" if isinstance(limit, str) and limit else ""
        return ApiError(
            f"{method} {path} was rate limited{named} (HTTP 429): {text}",
            hint="limits are per minute: wait a minute, then retry",
            status_code=status,
            error_type=kind,
            code=code,
        )
    return ApiError(
        f"{method} {path} failed: HTTP {status}: {text}",
        hint=_hint(status),
        status_code=status,
        error_type=kind,
        code=code,
        details=body.details if body else None,
    )


def _hint(status: int) -> str:
    if status == 404:
        return (
            "check the app id (-a/--app, MIXPEEK_APP_ID or mixpeek.toml) and any id you gave; "
            "mixpeek apps list shows the apps your key can see"
        )
    if status >= 500:
        return "the service failed: try again in a few minutes"
    return "run it again with --verbose to see the request and the answer"


def render_error_body(response: httpx.Response) -> str:
    """A readable one-line message from ErrorResponse, HTTPValidationError, or anything else."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return snippet(response.text) or response.reason_phrase or "no message"
    message = _known_error_shape(data) if isinstance(data, dict) else None
    # An empty message says nothing: fall back to the whole body.
    return snippet(message or json.dumps(data))


def _known_error_shape(data: dict[str, Any]) -> str | None:
    error = data.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
        # The type, then the fine-grained code beside it: "(BadRequestError: slug_taken)".
        named = [n for n in (error.get("type"), error.get("code")) if isinstance(n, str) and n]
        return f"{error['message']} ({': '.join(named)})" if named else error["message"]
    if isinstance(error, str):
        return error
    detail = data.get("detail")
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        return "; ".join(_validation_item(item) for item in detail)
    message = data.get("message")
    return message if isinstance(message, str) else None


def _validation_item(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    loc = item.get("loc")
    where = ".".join(str(part) for part in loc) if isinstance(loc, list) else ""
    msg = str(item.get("msg", "invalid"))
    return f"{where}: {msg}" if where else msg


def snippet(text: str, limit: int = 200) -> str:
    # A proxy's HTML error page: keep the words, drop the markup, one line.
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    text = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_transport_error(exc: httpx.RequestError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "the API did not answer in time"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def not_json(response: httpx.Response, method: str, path: str) -> ApiError:
    return ApiError(
        f"{method} {path}: the API answered {response.status_code} with a body that is "
        f"not JSON: {snippet(response.text)}"
    )
