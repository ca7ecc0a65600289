"""Whether a failed API call may be sent again, after how long, and what to say when not.

The rules (docs/api.md, "Which calls are sent again"):

- a call that never reached the server (no connection was made, the pool had none) may
  always be sent again;
- 429 and 503 mean the server stored nothing (the SDK says so of 503): sent again after
  ``Retry-After``, else ``error.details.retry_after_seconds``, else the back-off;
- ``error.details.retryable: false`` is never sent again;
- 408, 500, 502, 504, a lost or garbled answer: a read is sent again; a write that
  creates something (``creates``) is not, since the server may have made it: the caller
  raises :func:`maybe_created` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from mixpeek_cli.deadline import Deadline
from mixpeek_cli.errors import ApiError, DeadlineReached, MixpeekError
from mixpeek_cli.service.error_bodies import describe_transport_error, mixpeek_error
from mixpeek_cli.service.retry import RETRYABLE_STATUS, parse_retry_after

# The server said it stored nothing.
STORED_NOTHING = frozenset({429, 503})


@dataclass(frozen=True)
class Verdict:
    failure: MixpeekError
    reached: bool  # the request may have been processed by the server
    retry: bool  # worth another try (for a read; a creating write checks more)
    wait: float | None = None  # the server's own wait, when it gave one
    stored_nothing: bool = False  # the server said the write did nothing
    short: str = "the API call failed"  # for the retry notice on stderr


def transport_verdict(
    exc: httpx.RequestError, deadline: Deadline | None, method: str, path: str
) -> Verdict:
    """No answer: a connection never made is safe to repeat; anything later may have run."""
    if deadline is not None and deadline.expired and isinstance(exc, httpx.TimeoutException):
        failure: MixpeekError = DeadlineReached(
            f"{method} {path}: no answer before --timeout ({deadline.seconds:g}s) ran out",
            hint="give it more time with --timeout, or check the API's status",
        )
        return Verdict(failure, reached=not _unsent(exc), retry=False)
    failure = ApiError(
        f"{method} {path} failed: {describe_transport_error(exc)}",
        hint="check your network and --base-url, then retry",
    )
    if _unsent(exc):
        short = (
            "cannot connect to the API"
            if isinstance(exc, httpx.ConnectError)
            else ("no connection to the API in time")
        )
        return Verdict(failure, reached=False, retry=True, short=short)
    return Verdict(failure, reached=True, retry=True, short="the API's answer was lost")


def _unsent(exc: httpx.RequestError) -> bool:
    # Raised before a byte of the request was written: the server never saw it.
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def status_verdict(response: httpx.Response, failure: MixpeekError) -> Verdict:
    status = response.status_code
    body = mixpeek_error(response)
    short = f"HTTP {status} from the API"
    if body is not None and body.retryable is False:
        stored_nothing = status in STORED_NOTHING
        return Verdict(
            failure, reached=True, retry=False, stored_nothing=stored_nothing, short=short
        )
    if status in STORED_NOTHING:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        if wait is None and body is not None:
            wait = body.retry_after_seconds
        return Verdict(
            failure, reached=True, retry=True, wait=wait, stored_nothing=True, short=short
        )
    return Verdict(failure, reached=True, retry=status in RETRYABLE_STATUS, short=short)


def maybe_created(failure: MixpeekError, creates: str) -> MixpeekError:
    """The failure of a creating write whose outcome is unknown: say so, and how to check.

    ``creates`` reads as a sentence's start, e.g. "the deploy may have been created:
    check `mixpeek versions list` before deploying again"."""
    if not isinstance(failure, ApiError) or failure.status_code in (None, *RETRYABLE_STATUS):
        # A lost answer, or a server error: nothing says whether it was made.
        failure = ApiError(
            f"{failure.message.rstrip('.')}; {creates}",
            status_code=getattr(failure, "status_code", None),
        )
        failure.maybe_created = True
    return failure


def out_of_time(failure: MixpeekError, deadline: Deadline) -> MixpeekError:
    """``failure``, saying that the next try would have come after --timeout."""
    out = DeadlineReached(
        f"{failure.message.rstrip('.')} (not retried: the next try would come after "
        f"--timeout ({deadline.seconds:g}s) ran out)",
        hint=failure.hint,
        status_code=getattr(failure, "status_code", None),
    )
    if isinstance(failure, ApiError):
        out.error_type, out.code = failure.error_type, failure.code
    return out


def shrink(timeouts: httpx.Timeout, deadline: Deadline) -> httpx.Timeout:
    """``timeouts`` with each phase cut to what is left of ``deadline`` (at least a
    millisecond: httpx reads 0 as "no wait at all", which fails before trying)."""
    left = max(deadline.left(), 0.001)

    def cut(value: float | None) -> float:
        return left if value is None else min(value, left)

    return httpx.Timeout(
        connect=cut(timeouts.connect),
        read=cut(timeouts.read),
        write=cut(timeouts.write),
        pool=cut(timeouts.pool),
    )
