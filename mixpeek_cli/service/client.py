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
from mixpeek_cli.deadline import Deadline
from mixpeek_cli.errors import ApiError, DeadlineReached
from mixpeek_cli.service.error_bodies import (
    describe_transport_error,
    failure_for,
    not_json,
)
from mixpeek_cli.service.models import (
    AppInfo,
    DeployInfo,
    LogLine,
    UploadCheck,
    UploadUrl,
    apps_total,
    parse_app,
    parse_apps,
    parse_deploy,
    parse_log_data,
    parse_log_entries,
    parse_upload_check,
    parse_upload_url,
)
from mixpeek_cli.service.resend import (
    Verdict,
    maybe_created,
    out_of_time,
    shrink,
    status_verdict,
    transport_verdict,
)
from mixpeek_cli.service.retry import RetryPolicy

if TYPE_CHECKING:
    from mixpeek_cli.config.settings import Settings

    # Imported by the calls that return them: a deploy has no use for them (~3 ms).
    from mixpeek_cli.service.versions import (
        Restored,
        VersionDetail,
        VersionDiff,
        VersionDownload,
        VersionRecord,
    )

BUNDLE_FILENAME = "bundle.zip"
BUNDLE_CONTENT_TYPE = "application/zip"

# httpx's default is 5 s of inactivity for everything; a deploy API may take longer to answer.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
# No answer of this API comes near this; a server sending more is not this API.
MAX_ANSWER_BYTES = 256 << 20
# A build may be silent for a while (heartbeats are not published); after this long with
# no byte the stream is taken for dead and opened again (its replay loses nothing).
STREAM_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=10.0, pool=10.0)

Trace = Callable[[str], None]
# What a lost answer to a creating write may have left behind, and how to look.
DEPLOY_MAYBE = (
    "the deploy may have been created: check `mixpeek versions list` (or `mixpeek deploys "
    "status`) before deploying again"
)
RESTORE_MAYBE = (
    "the restore may have been started: check `mixpeek versions list` before restoring again"
)
PROMOTE_MAYBE = (
    "the promote may have been made: check `mixpeek versions list` before promoting again"
)


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


def client_for(
    settings: Settings,
    trace: Trace | None = None,
    notify: Trace | None = None,
    *,
    app: bool = True,
) -> ApiClient:
    """The client for one command run, deploy or any other: every wait of it ends by the
    command's ``--timeout`` (``settings.deadline``). ``notify`` hears of each retry;
    ``app=False``: the command needs no app id."""
    _, api_key = settings.require_remote(app=app)
    return ApiClient(
        settings.base_url,
        api_key,
        namespace=settings.namespace,
        trace=trace,
        notify=notify,
        deadline=settings.deadline,
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
        notify: Trace | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline: Deadline | None = None,
    ) -> None:
        """``deadline`` bounds every call: its connect, its read, its retries."""
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
        self._timeouts = timeout
        self._retry = retry or RetryPolicy()
        self._trace = trace
        self._notify = notify
        self._sleep = sleep
        self._deadline = deadline

    @property
    def deadline(self) -> Deadline | None:
        """The command's deadline, for the waits around the calls (following, uploading)."""
        return self._deadline

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
        """What the server's HEAD of the object saw, or None when it has no such call.

        Only a 404/405 that is not a Mixpeek error answer means "no such call": a
        ``NotFoundError`` body says the call exists and the object (or app) does not."""
        try:
            data = self._request(
                "POST",
                f"/v1/apps/{app_id}/deploy/verify-upload",
                json_body={"bundle_s3_key": bundle_s3_key},
                idempotency_key=str(uuid.uuid4()),
            )
        except ApiError as exc:
            if exc.status_code in (404, 405) and exc.error_type is None:
                return None
            raise
        return parse_upload_check(data, key=bundle_s3_key)

    def create_deploy(
        self,
        app_id: str,
        body: Mapping[str, Any],
        *,
        idempotency_key: str,
    ) -> DeployInfo:
        data = self._request(
            "POST",
            f"/v1/apps/{app_id}/deploy",
            json_body=dict(body),
            idempotency_key=idempotency_key,
            creates=DEPLOY_MAYBE,
        )
        try:
            return parse_deploy(data, app_id=app_id)
        except ApiError as exc:
            raise maybe_created(exc, DEPLOY_MAYBE) from None

    def get_deploy(self, app_id: str, deploy_id: str) -> DeployInfo:
        data = self._request("GET", f"/v1/apps/{app_id}/deploys/{deploy_id}")
        return parse_deploy(data, app_id=app_id)

    def stream_logs(self, app_id: str, deploy_id: str) -> Iterator[LogLine | StreamDone]:
        """The build log as it is published: every line so far, live lines, then ``DONE``.

        One connection, no retries: a dropped connection raises :class:`ApiError` and
        the caller decides whether to open it again. Raises :class:`StreamUnavailable`
        when the server offers no stream.
        """
        from mixpeek_cli.service.sse import iter_events

        path = f"/v1/apps/{app_id}/deploys/{deploy_id}/logs/stream"
        started = time.monotonic()
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        try:
            with self._http.stream(
                "GET", path, headers=headers, timeout=STREAM_TIMEOUT
            ) as response:
                self._note(f"GET {path} -> {response.status_code} (stream)")
                if response.status_code in (404, 405):
                    raise StreamUnavailable(f"HTTP {response.status_code}")
                if not response.is_success:
                    raise failure_for(_head_of(response), "GET", path, self._scrub)
                kind = response.headers.get("content-type", "").partition(";")[0].strip()
                if kind != "text/event-stream":
                    raise StreamUnavailable(
                        f"the answer is {kind or 'untyped'}, not an event stream"
                    )
                for event in iter_events(response.iter_bytes()):
                    if event.event == "done":
                        self._note(f"stream done ({time.monotonic() - started:.2f}s)")
                        yield DONE
                        return
                    if event.event == "message":
                        yield from parse_log_data(event.data, cut_bytes=event.cut_bytes)
        except httpx.RequestError as exc:
            self._note(f"GET {path} -> {type(exc).__name__}")
            raise ApiError(f"the log stream broke off: {describe_transport_error(exc)}") from None

    # -- apps, versions, recovery ----------------------------------------------------------

    def get_app(self, app_id: str, *, quiet: bool = False) -> AppInfo:
        """The app; ``quiet``: its retries are not told (a read on the side, for a URL)."""
        data = self._request("GET", f"/v1/apps/{app_id}", quiet=quiet)
        return parse_app(data, app_id=app_id)

    def list_apps(
        self, *, search: str | None = None, page: int = 100, most: int = 1000
    ) -> list[AppInfo]:
        """Every app the key can see (paged ``GET /v1/apps``), up to ``most``; ``search``:
        those whose name holds it (the service's partial match)."""
        apps: list[AppInfo] = []
        offset = 0
        while len(apps) < most:
            params: dict[str, Any] = {"limit": page, "offset": offset}
            if search is not None:
                params["search"] = search
            data = self._request("GET", "/v1/apps", params=params)
            batch = parse_apps(data)
            apps += batch
            offset += len(batch)
            total = apps_total(data)
            # ``total_count`` says when the last page is read; without it, a short page does.
            if not batch or (offset >= total if total is not None else len(batch) < page):
                break
        return apps[:most]

    def list_versions(self, app_id: str) -> list[VersionRecord]:
        """The app's versions, newest first."""
        from mixpeek_cli.service.versions import parse_versions

        return parse_versions(self._request("GET", f"/v1/apps/{app_id}/versions"))

    def get_version(self, app_id: str, version: int) -> VersionDetail:
        """One version's detail, with ``is_active`` (where it is live now)."""
        from mixpeek_cli.service.versions import parse_version_detail

        data = self._request("GET", f"/v1/apps/{app_id}/versions/{version}")
        return parse_version_detail(data, version=version)

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
            creates=RESTORE_MAYBE,
        )
        try:
            return parse_restore(data, app_id=app_id, version=version)
        except ApiError as exc:
            raise maybe_created(exc, RESTORE_MAYBE) from None

    def promote(self, app_id: str, *, idempotency_key: str) -> Restored:
        """``POST /v1/apps/{id}/promote`` (no body): production serves staging's version."""
        from mixpeek_cli.service.versions import parse_promote

        data = self._request(
            "POST",
            f"/v1/apps/{app_id}/promote",
            idempotency_key=idempotency_key,
            creates=PROMOTE_MAYBE,
        )
        try:
            return parse_promote(data, app_id=app_id)
        except ApiError as exc:
            raise maybe_created(exc, PROMOTE_MAYBE) from None

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

    # -- the app's domains, repo, team and health (service/domains.py, repo.py, team.py,
    # analytics.py make their calls through this one and parse the answers) ---------------

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        creates: str | None = None,
    ) -> dict[str, Any]:
        """One published call, retried as every call is; its JSON object. A POST carries
        an ``Idempotency-Key``; ``creates``: see :meth:`_request`."""
        key = str(uuid.uuid4()) if method == "POST" else None
        return self._request(
            method, path, json_body=json_body, params=params, idempotency_key=key, creates=creates
        )

    # -- transport ----------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        creates: str | None = None,
        quiet: bool = False,
    ) -> dict[str, Any]:
        """Send with retries, every wait within the deadline; return the JSON object.

        ``creates`` marks a write that makes something (a deploy, a restore): its
        ``Idempotency-Key`` is not published, so a server may ignore it and make a second
        one. Such a write is sent again only when it provably never reached the server
        (no connection was made) or the server said it stored nothing (429, 503); when
        its answer is lost otherwise, :class:`MaybeCreated` names ``creates`` and how to
        check. Every other call is retried on any transient failure.
        """
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        content = None
        if json_body is not None:
            content = encode_body(json_body)  # once: every retry sends the same bytes
            headers["Content-Type"] = "application/json"
        attempt = 0
        reached = False  # an earlier attempt reached the server (its answer was lost)
        while True:
            attempt += 1
            self._check_time(method, path)
            started = time.monotonic()
            verdict: Verdict
            try:
                response = self._send(
                    self._http.build_request(
                        method,
                        path,
                        content=content,
                        params=params,
                        headers=headers,
                        timeout=self._timeout_now(),
                    )
                )
            except httpx.RequestError as exc:
                self._note(f"{method} {path} -> {type(exc).__name__}")
                verdict = transport_verdict(exc, self._deadline, method, path)
            else:
                self._note(
                    f"{method} {path} -> {response.status_code} ({time.monotonic() - started:.2f}s)"
                )
                if response.is_success:
                    try:
                        data = response.json()
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        # Garbled on the way (a proxy, a cut connection): the call ran, and
                        # a read may be asked again. Well-formed JSON of the wrong shape is
                        # the server's answer: asking again would not change it.
                        verdict = Verdict(
                            not_json(response, method, path),
                            reached=True,
                            retry=True,
                            short="a garbled answer from the API",
                        )
                    else:
                        return _json_object(data, method, path, creates)
                elif method == "DELETE" and response.status_code == 404 and reached:
                    # Sent again after a lost answer: the first attempt removed it.
                    return {"message": "removed (a retry found it already gone)"}
                else:
                    failure = failure_for(response, method, path, self._scrub)
                    verdict = status_verdict(response, failure)
            reached = reached or (verdict.reached and not verdict.stored_nothing)
            if creates is not None and verdict.reached and not verdict.stored_nothing:
                raise maybe_created(verdict.failure, creates)
            if not verdict.retry or attempt >= self._retry.max_attempts:
                raise verdict.failure
            wait = verdict.wait if verdict.wait is not None else self._retry.backoff(attempt)
            wait = min(wait, self._retry.max_retry_after)
            if self._deadline is not None and not self._deadline.allows(wait):
                raise out_of_time(verdict.failure, self._deadline)
            self._note(f"retrying in {wait:.1f}s (attempt {attempt + 1})")
            if self._notify is not None and not quiet:
                self._notify(
                    f"{verdict.short}; retrying in {_seconds(wait)} s "
                    f"({attempt + 1}/{self._retry.max_attempts})"
                )
            self._sleep(wait)

    def _send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read its answer whole, within the deadline and a size cap.

        Read chunk by chunk: a server that trickles its answer a byte at a time never
        trips a read timeout, and one that never stops would fill the memory."""
        response = self._http.send(request, stream=True)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise ApiError(
                        f"{request.method} {request.url.path}: the answer is over "
                        f"{MAX_ANSWER_BYTES >> 20} MiB: not an answer of this API",
                        hint="check --base-url",
                    )
                if self._deadline is not None and self._deadline.expired:
                    raise httpx.ReadTimeout("the deadline passed while reading", request=request)
                chunks.append(chunk)
        finally:
            response.close()
        return _with_body(response, b"".join(chunks))

    def _timeout_now(self) -> httpx.Timeout:
        """The client's timeouts, each cut to what is left of the deadline."""
        if self._deadline is None:
            return self._timeouts
        return shrink(self._timeouts, self._deadline)

    def _check_time(self, method: str, path: str) -> None:
        if self._deadline is not None and self._deadline.expired:
            raise DeadlineReached(
                f"{method} {path} was not sent: --timeout ({self._deadline.seconds:g}s) ran out",
                hint="give it more time with --timeout",
            )

    def _scrub(self, text: str) -> str:
        # A server that echoes the request (a debug page, a proxy) must not make us print
        # the key, in any form it may quote it in.
        from mixpeek_cli.service.redact import scrub

        return scrub(text, self._api_key)

    def _trace_request(self, request: httpx.Request) -> None:
        from mixpeek_cli.service.redact import redact_headers, redact_url

        headers = " ".join(f"{k}: {v};" for k, v in redact_headers(request.headers.items()))
        self._note(f"> {request.method} {redact_url(str(request.url))} [{headers.rstrip(';')}]")

    def _note(self, line: str) -> None:
        if self._trace is not None:
            self._trace(line)


def _head_of(response: httpx.Response, limit: int = 64 << 10) -> httpx.Response:
    """The streamed ``response`` with (at most ``limit`` bytes of) its body read: enough
    for an error message, whatever the server keeps sending."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk[: limit - len(body)]
        if len(body) >= limit:
            break
    return _with_body(response, bytes(body))


def _seconds(wait: float) -> str:
    """A wait as people read it: 0.3, 2, 40 (a back-off's fractions would show as 0)."""
    return f"{wait:.1f}".rstrip("0").rstrip(".") or "0"


def _with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    """``response``, whose stream was read, as an answer holding ``body``."""
    # The bytes are decoded already: a Content-Encoding kept would decode them again.
    headers = [(k, v) for k, v in response.headers.multi_items() if k != "content-encoding"]
    return httpx.Response(
        response.status_code, headers=headers, content=body, request=response.request
    )


def _json_object(data: Any, method: str, path: str, creates: str | None) -> dict[str, Any]:
    if not isinstance(data, dict):
        failure = ApiError(f"{method} {path}: expected a JSON object, got {type(data).__name__}")
        raise failure if creates is None else maybe_created(failure, creates)
    return data
