"""The Mixpeek Apps API over httpx: the published calls, typed answers, retries in one place.

This layer never prints. It raises :mod:`mixpeek_cli.errors` exceptions and, when
given a ``trace`` callable (``--verbose``), reports each exchange as one line whose
headers are redacted (:mod:`mixpeek_cli.service.redact`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import httpx

from mixpeek_cli import __version__
from mixpeek_cli.errors import ApiError, MixpeekError
from mixpeek_cli.service.error_bodies import describe_transport_error, failure_for, not_json
from mixpeek_cli.service.models import (
    AppInfo,
    DeployInfo,
    LogLine,
    UploadCheck,
    UploadUrl,
    parse_app,
    parse_apps,
    parse_deploy,
    parse_log_data,
    parse_log_entries,
    parse_upload_check,
    parse_upload_url,
)
from mixpeek_cli.service.retry import RETRYABLE_STATUS, RetryPolicy

if TYPE_CHECKING:
    from mixpeek_cli.config.settings import Settings

    # Imported by the calls that return them: a deploy has no use for them (~3 ms).
    from mixpeek_cli.service.versions import Restored, VersionDiff, VersionDownload, VersionRecord

BUNDLE_FILENAME = "bundle.zip"
BUNDLE_CONTENT_TYPE = "application/zip"

# httpx's default is 5 s of inactivity for everything; a deploy API may take longer to answer.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
# A build may be silent for a while (heartbeats are not published); after this long with
# no byte the stream is taken for dead and opened again (its replay loses nothing).
STREAM_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=10.0, pool=10.0)

Trace = Callable[[str], None]


class StreamDone:
    """The log stream's ``event: done``: the deploy reached a final status."""


DONE: Final = StreamDone()


class StreamUnavailable(Exception):
    """The server has no log stream for this deploy (404/405, or not an event stream)."""


@dataclass(frozen=True)
class RawJson:
    """A body value already encoded as JSON: spliced in as it is, not encoded again.

    Any bytes-like value: the deploy's ``source_files`` (MiBs) is a view of the bytes the
    bundle cache read back, copied only once, into the body."""

    data: bytes | memoryview


def encode_body(body: Mapping[str, Any]) -> bytes:
    """``body`` as compact JSON (as httpx's ``json=`` writes it), with :class:`RawJson`
    values spliced in unchanged (they go last; key order carries no meaning in JSON)."""
    plain = {key: value for key, value in body.items() if not isinstance(value, RawJson)}
    text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    pieces: list[bytes | memoryview] = [text[:-1].encode("utf-8")]  # without the closing brace
    separator = b"," if plain else b""
    for key, value in body.items():
        if isinstance(value, RawJson):
            pieces += [separator, json.dumps(key).encode("utf-8"), b":", value.data]
            separator = b","
    pieces.append(b"}")
    return b"".join(pieces)


def client_for(settings: Settings, trace: Trace | None = None) -> ApiClient:
    """The client for one command run, deploy or any other: its retries stop at the
    overall ``--timeout`` (``settings.timeout``)."""
    _, api_key = settings.require_remote()
    return ApiClient(
        settings.base_url,
        api_key,
        namespace=settings.namespace,
        trace=trace,
        deadline=time.monotonic() + settings.timeout,
    )


class ApiClient:
    """One client per command run; use as a context manager. Safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        namespace: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        trace: Trace | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline: float | None = None,
    ) -> None:
        """``deadline`` (a ``time.monotonic()`` value) bounds every call's retries."""
        headers = {
            "Authorization": f"Bearer {api_key}",
            "User-Agent": f"mixpeek-cli/{__version__}",
            "Accept": "application/json",
        }
        if namespace:
            headers["X-Namespace"] = namespace
        self._http = httpx.Client(
            base_url=base_url,
            headers=headers,
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

    # -- the deploy pipeline ------------------------------------------------------------

    def get_upload_url(
        self,
        app_id: str,
        *,
        filename: str = BUNDLE_FILENAME,
        content_type: str = BUNDLE_CONTENT_TYPE,
    ) -> UploadUrl:
        data = self._request(
            "POST",
            f"/v1/apps/{app_id}/deploy/upload-url",
            json_body={"filename": filename, "content_type": content_type},
            idempotency_key=str(uuid.uuid4()),
        )
        return parse_upload_url(data)

    def verify_upload(self, app_id: str, bundle_s3_key: str) -> UploadCheck | None:
        """What the server's HEAD of the object saw, or None when it has no such call."""
        try:
            data = self._request(
                "POST",
                f"/v1/apps/{app_id}/deploy/verify-upload",
                json_body={"bundle_s3_key": bundle_s3_key},
                idempotency_key=str(uuid.uuid4()),
            )
        except ApiError as exc:
            if exc.status_code in (404, 405):
                return None
            raise
        return parse_upload_check(data, key=bundle_s3_key)

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

    def stream_logs(self, app_id: str, deploy_id: str) -> Iterator[LogLine | StreamDone]:
        """The build log as it is published: every line so far, live lines, then ``DONE``.

        One connection, no retries: a dropped connection raises :class:`ApiError` and
        the caller decides whether to open it again. Raises :class:`StreamUnavailable`
        when the server offers no stream.
        """
        from httpx_sse import SSEError, connect_sse

        path = f"/v1/apps/{app_id}/deploys/{deploy_id}/logs/stream"
        started = time.monotonic()
        try:
            with connect_sse(self._http, "GET", path, timeout=STREAM_TIMEOUT) as source:
                response = source.response
                self._note(f"GET {path} -> {response.status_code} (stream)")
                if response.status_code in (404, 405):
                    raise StreamUnavailable(f"HTTP {response.status_code}")
                if not response.is_success:
                    response.read()
                    raise failure_for(response, "GET", path, self._scrub)
                try:
                    for event in source.iter_sse():
                        if event.event == "done":
                            self._note(f"stream done ({time.monotonic() - started:.2f}s)")
                            yield DONE
                            return
                        if event.event == "message":
                            yield from parse_log_data(event.data)
                except SSEError as exc:
                    raise StreamUnavailable(str(exc)) from None
        except httpx.RequestError as exc:
            self._note(f"GET {path} -> {type(exc).__name__}")
            raise ApiError(f"the log stream broke off: {describe_transport_error(exc)}") from None

    # -- apps, versions, recovery ----------------------------------------------------------

    def get_app(self, app_id: str) -> AppInfo:
        return parse_app(self._request("GET", f"/v1/apps/{app_id}"), app_id=app_id)

    def list_apps(self, *, page: int = 100, most: int = 1000) -> list[AppInfo]:
        """Every app the key can see (paged ``GET /v1/apps``), up to ``most``."""
        apps: list[AppInfo] = []
        while len(apps) < most:
            data = self._request("GET", "/v1/apps", params={"limit": page, "offset": len(apps)})
            batch = parse_apps(data)
            apps += batch
            if len(batch) < page:
                break
        return apps[:most]

    def list_versions(self, app_id: str) -> list[VersionRecord]:
        """The app's versions, newest first."""
        from mixpeek_cli.service.versions import parse_versions

        return parse_versions(self._request("GET", f"/v1/apps/{app_id}/versions"))

    def diff_versions(self, app_id: str, from_version: int, to_version: int) -> VersionDiff:
        from mixpeek_cli.service.versions import parse_diff

        data = self._request("GET", f"/v1/apps/{app_id}/versions/{from_version}/diff/{to_version}")
        return parse_diff(data, from_version=from_version, to_version=to_version)

    def version_download(self, app_id: str, version: int) -> VersionDownload:
        from mixpeek_cli.service.versions import parse_download

        data = self._request("GET", f"/v1/apps/{app_id}/versions/{version}/download")
        return parse_download(data, version=version)

    def restore_version(
        self, app_id: str, version: int, environment: str, *, idempotency_key: str
    ) -> Restored:
        from mixpeek_cli.service.versions import parse_restore

        data = self._request(
            "POST",
            f"/v1/apps/{app_id}/versions/{version}/restore",
            json_body={"environment": environment},
            idempotency_key=idempotency_key,
        )
        return parse_restore(data, app_id=app_id, version=version)

    def app_logs(
        self,
        app_id: str,
        *,
        log_type: str,
        hours: int,
        limit: int,
        level: str | None = None,
    ) -> list[dict[str, Any]]:
        """The running app's runtime or request log entries (``GET /v1/apps/{id}/logs``)."""
        params: dict[str, Any] = {"log_type": log_type, "hours": hours, "limit": limit}
        if level is not None:
            params["level"] = level
        data = self._request("GET", f"/v1/apps/{app_id}/logs", params=params)
        return parse_log_entries(data)

    # -- transport ----------------------------------------------------------------------

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
            except httpx.RequestError as exc:
                self._note(f"{method} {path} -> {type(exc).__name__}")
                failure: MixpeekError = ApiError(
                    f"{method} {path} failed: {describe_transport_error(exc)}",
                    hint="check your network and --base-url, then retry",
                )
            else:
                self._note(
                    f"{method} {path} -> {response.status_code} ({time.monotonic() - started:.2f}s)"
                )
                if response.is_success:
                    return _json_object(response, method, path)
                failure = failure_for(response, method, path, self._scrub)
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
        from mixpeek_cli.service.redact import redact_headers, redact_url

        headers = " ".join(f"{k}: {v};" for k, v in redact_headers(request.headers.items()))
        self._note(f"> {request.method} {redact_url(str(request.url))} [{headers.rstrip(';')}]")

    def _note(self, line: str) -> None:
        if self._trace is not None:
            self._trace(line)


def _json_object(response: httpx.Response, method: str, path: str) -> dict[str, Any]:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise not_json(response, method, path) from None
    if not isinstance(data, dict):
        raise ApiError(f"{method} {path}: expected a JSON object, got {type(data).__name__}")
    return data
