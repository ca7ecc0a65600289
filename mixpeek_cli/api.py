"""The Mixpeek API over httpx: typed answers, readable errors, retries in one place.

This layer never prints. It raises :mod:`mixpeek_cli.errors` exceptions and, when
given a ``trace`` callable (``--verbose``), reports each exchange as one line that
holds no header and no key.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from mixpeek_cli import __version__
from mixpeek_cli.errors import ApiError, AuthError
from mixpeek_cli.retry import RETRYABLE_STATUS, RetryPolicy

FINAL_STATUSES = frozenset({"complete", "failed"})

# httpx's default is 5 s of inactivity for everything; a deploy API may take longer to answer.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)

Trace = Callable[[str], None]


class RawJson(bytes):
    """A body value already encoded as JSON: spliced in as it is, not encoded again."""


def encode_body(body: Mapping[str, Any]) -> bytes:
    """``body`` as compact JSON (as httpx's ``json=`` writes it), with :class:`RawJson`
    values spliced in unchanged (they go last; key order carries no meaning in JSON)."""
    plain = {key: value for key, value in body.items() if not isinstance(value, RawJson)}
    text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    pieces = [text[:-1].encode("utf-8")]  # without the closing brace
    separator = b"," if plain else b""
    for key, value in body.items():
        if isinstance(value, RawJson):
            pieces += [separator, json.dumps(key).encode("utf-8"), b":", value]
            separator = b","
    pieces.append(b"}")
    return b"".join(pieces)


@dataclass(frozen=True, kw_only=True)
class S3Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None
    bucket: str
    region: str | None
    endpoint_url: str | None

    def __repr__(self) -> str:  # keep secrets out of tracebacks and debug output
        return f"S3Credentials(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r})"


@dataclass(frozen=True, kw_only=True)
class UploadTarget:
    upload_id: str | None
    bundle_s3_key: str
    expires_at: str | None
    already_uploaded: bool
    presigned_url: str | None
    headers: dict[str, str]
    credentials: S3Credentials | None


@dataclass(frozen=True, kw_only=True)
class DeployInfo:
    app_id: str
    deploy_id: str
    status: str
    environment: str | None
    message: str | None
    error: str | None = None
    url: str | None = None
    created_at: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class LogChunk:
    lines: list[str]
    next_offset: int


class ApiClient:
    """One client per command run; use as a context manager."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        trace: Trace | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline: float | None = None,
    ) -> None:
        """``deadline`` (a ``time.monotonic()`` value) bounds every call's retries."""
        self._http = httpx.Client(
            base_url=base_url,
            headers={
                "Authorization": f"Bearer {api_key}",
                "User-Agent": f"mixpeek-cli/{__version__}",
                "Accept": "application/json",
            },
            timeout=timeout,
            # A redirect could carry the key to another host; the API never redirects.
            follow_redirects=False,
            event_hooks={"request": [self._trace_request]} if trace else None,
            # This client only ever talks to base_url. Over plain http (allowed for
            # loopback only) there is no TLS to verify, so skip loading the CA bundle
            # (~30 ms); over https, verification stays on.
            verify=not base_url.startswith("http://"),
        )
        self._api_key = api_key
        self._retry = retry or RetryPolicy()
        self._trace = trace
        self._sleep = sleep
        self._deadline = deadline

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- endpoints ---------------------------------------------------------------

    def create_upload(
        self, app_id: str, *, filename: str, size: int, sha256: str, deadline: float | None = None
    ) -> UploadTarget:
        data = self._request(
            "POST",
            f"/v1/apps/{app_id}/uploads",
            json_body={"filename": filename, "file_size_bytes": size, "content_sha256": sha256},
            idempotency_key=str(uuid.uuid4()),
            deadline=deadline,
        )
        return parse_upload_target(data)

    def create_deploy(
        self,
        app_id: str,
        body: Mapping[str, Any],
        *,
        idempotency_key: str,
        deadline: float | None = None,
    ) -> DeployInfo:
        data = self._request(
            "POST",
            f"/v1/apps/{app_id}/deploy",
            json_body=dict(body),
            idempotency_key=idempotency_key,
            deadline=deadline,
        )
        return parse_deploy(data, app_id=app_id)

    def get_deploy(
        self, app_id: str, deploy_id: str, *, deadline: float | None = None
    ) -> DeployInfo:
        data = self._request("GET", f"/v1/apps/{app_id}/deploys/{deploy_id}", deadline=deadline)
        return parse_deploy(data, app_id=app_id)

    def get_logs(
        self, app_id: str, deploy_id: str, offset: int, *, deadline: float | None = None
    ) -> LogChunk | None:
        """New log lines from ``offset`` on, or ``None`` when the server has no logs (404)."""
        try:
            data = self._request(
                "GET",
                f"/v1/apps/{app_id}/deploys/{deploy_id}/logs",
                params={"offset": offset},
                deadline=deadline,
            )
        except ApiError as exc:
            if exc.status_code == 404:
                return None
            raise
        return parse_logs(data, offset)

    def list_deploys(
        self, app_id: str, *, limit: int = 20, environment: str | None = None
    ) -> list[DeployInfo]:
        params: dict[str, Any] = {"limit": limit}
        if environment:
            params["environment"] = environment
        data = self._request("GET", f"/v1/apps/{app_id}/deploys", params=params)
        results = data.get("results")
        if not isinstance(results, list):
            raise ApiError("the API's deploy list has no 'results' array")
        return [parse_deploy(item, app_id=app_id) for item in results]

    # -- transport -----------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """Send with retries; POSTs are retried only with their one Idempotency-Key."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        content = None
        if json_body is not None:
            content = encode_body(json_body)  # once: every retry sends the same bytes
            headers["Content-Type"] = "application/json"
        if deadline is None:
            deadline = self._deadline
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            retry_after: str | None = None
            try:
                response = self._http.request(
                    method, path, content=content, params=params, headers=headers
                )
            except httpx.TransportError as exc:
                self._note(f"{method} {path} -> {type(exc).__name__}")
                failure: ApiError = ApiError(
                    f"{method} {path} failed: {_describe_transport_error(exc)}",
                    hint="check your network and --base-url, then retry",
                )
            else:
                self._note(
                    f"{method} {path} -> {response.status_code} ({time.monotonic() - started:.2f}s)"
                )
                if response.is_success:
                    return _json_object(response, method, path)
                if response.status_code in (401, 403):
                    raise AuthError(
                        f"the API refused the key (HTTP {response.status_code}): "
                        f"{self._scrub(render_error_body(response))}",
                        hint="check --api-key / MIXPEEK_API_KEY",
                    )
                failure = ApiError(
                    f"{method} {path} failed: HTTP {response.status_code}: "
                    f"{self._scrub(render_error_body(response))}",
                    status_code=response.status_code,
                )
                if response.status_code not in RETRYABLE_STATUS:
                    raise failure
                retry_after = response.headers.get("Retry-After")
            if attempt >= self._retry.max_attempts:
                raise failure
            wait = self._retry.backoff(attempt, retry_after)
            if deadline is not None and time.monotonic() + wait > deadline:
                raise failure
            self._note(f"retrying in {wait:.1f}s (attempt {attempt + 1})")
            self._sleep(wait)

    def _scrub(self, text: str) -> str:
        # A server that echoes the request (a debug page, a proxy) must not make us print the key.
        return text.replace(self._api_key, "***") if self._api_key else text

    def _trace_request(self, request: httpx.Request) -> None:
        from mixpeek_cli.redact import redact_headers, redact_url

        headers = " ".join(f"{k}: {v};" for k, v in redact_headers(request.headers.items()))
        self._note(f"> {request.method} {redact_url(str(request.url))} [{headers.rstrip(';')}]")

    def _note(self, line: str) -> None:
        if self._trace is not None:
            self._trace(line)


# -- parsing ---------------------------------------------------------------------


def _json_object(response: httpx.Response, method: str, path: str) -> dict[str, Any]:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(
            f"{method} {path}: the API answered {response.status_code} with a body that is "
            f"not JSON: {_snippet(response.text)}"
        ) from None
    if not isinstance(data, dict):
        raise ApiError(f"{method} {path}: expected a JSON object, got {type(data).__name__}")
    return data


def _text(data: Mapping[str, Any], key: str, *, required: bool, what: str) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise ApiError(f"the API's {what} has no valid {key!r}")
    return value


def parse_deploy(data: Mapping[str, Any], *, app_id: str) -> DeployInfo:
    what = "deploy answer"
    return DeployInfo(
        app_id=_text(data, "app_id", required=False, what=what) or app_id,
        deploy_id=_text(data, "deploy_id", required=True, what=what) or "",
        status=_text(data, "status", required=True, what=what) or "",
        environment=_text(data, "environment", required=False, what=what),
        message=_text(data, "message", required=False, what=what),
        error=_text(data, "error", required=False, what=what),
        url=_text(data, "url", required=False, what=what),
        created_at=_text(data, "created_at", required=False, what=what),
    )


def parse_upload_target(data: Mapping[str, Any]) -> UploadTarget:
    what = "upload answer"
    key = _text(data, "bundle_s3_key", required=True, what=what) or ""
    headers = data.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ApiError("the API's upload answer has invalid 'headers'")
    creds_data = data.get("credentials")
    credentials = None
    if creds_data is not None:
        if not isinstance(creds_data, dict):
            raise ApiError("the API's upload answer has invalid 'credentials'")
        cw = "upload credentials"
        credentials = S3Credentials(
            access_key_id=_text(creds_data, "access_key_id", required=True, what=cw) or "",
            secret_access_key=_text(creds_data, "secret_access_key", required=True, what=cw) or "",
            session_token=_text(creds_data, "session_token", required=False, what=cw),
            bucket=_text(creds_data, "bucket", required=True, what=cw) or "",
            region=_text(creds_data, "region", required=False, what=cw),
            endpoint_url=_text(creds_data, "endpoint_url", required=False, what=cw),
        )
    target = UploadTarget(
        upload_id=_text(data, "upload_id", required=False, what=what),
        bundle_s3_key=key,
        expires_at=_text(data, "expires_at", required=False, what=what),
        already_uploaded=data.get("already_uploaded") is True,
        presigned_url=_text(data, "presigned_url", required=False, what=what),
        headers=dict(headers),
        credentials=credentials,
    )
    if not target.already_uploaded and not (target.presigned_url or target.credentials):
        raise ApiError("the API's upload answer has neither 'presigned_url' nor 'credentials'")
    return target


def parse_logs(data: Mapping[str, Any], offset: int) -> LogChunk:
    lines = data.get("lines")
    next_offset = data.get("next_offset", offset + (len(lines) if isinstance(lines, list) else 0))
    if not isinstance(lines, list) or not isinstance(next_offset, int):
        raise ApiError("the API's log answer has no valid 'lines'/'next_offset'")
    return LogChunk(lines=[str(line) for line in lines], next_offset=next_offset)


def render_error_body(response: httpx.Response) -> str:
    """A readable one-line message from ErrorResponse, HTTPValidationError, or anything else."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _snippet(response.text) or response.reason_phrase or "no message"
    message = _known_error_shape(data) if isinstance(data, dict) else None
    # An empty message says nothing: fall back to the whole body.
    return _snippet(message or json.dumps(data))


def _known_error_shape(data: dict[str, Any]) -> str | None:
    error = data.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
        kind = error.get("type")
        return (
            f"{error['message']} ({kind})" if isinstance(kind, str) and kind else error["message"]
        )
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


def _snippet(text: str, limit: int = 200) -> str:
    # A proxy's HTML error page: keep the words, drop the markup, one line.
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    text = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe_transport_error(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "the API did not answer in time"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
