"""The retry policy's arithmetic and the poll schedule."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timezone
from email.utils import format_datetime

from mixpeek_cli.deploy.follow import poll_intervals
from mixpeek_cli.service.retry import RetryPolicy, parse_retry_after


def test_retry_after_in_seconds_and_as_http_date():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    now = 1_700_000_000.0
    date = format_datetime(datetime.fromtimestamp(now + 7, tz=timezone.utc), usegmt=True)
    assert parse_retry_after(date, now=now) == 7.0
    past = format_datetime(datetime.fromtimestamp(now - 60, tz=timezone.utc), usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_is_full_jitter_capped_and_honours_retry_after():
    policy = RetryPolicy(rng=random.Random(1), base_delay=0.5, max_delay=8.0, max_retry_after=60.0)
    for attempt in range(1, 12):
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
        waits = [policy.backoff(attempt) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # jitter spans the whole range
    assert policy.backoff(1, "2") == 2.0
    assert policy.backoff(1, "3600") == 60.0  # clamped


def test_poll_intervals_grow_to_five_seconds_but_never_below_the_first():
    assert list(itertools.islice(poll_intervals(1.0), 7)) == [1.0, 1.5, 2.25, 3.375, 5.0, 5.0, 5.0]
    assert list(itertools.islice(poll_intervals(8.0), 3)) == [8.0, 8.0, 8.0]
    assert list(itertools.islice(poll_intervals(0.1), 2)) == [0.1, 0.15000000000000002]


def test_a_thirty_second_build_costs_about_ten_polls_at_the_defaults():
    elapsed, polls = 0.0, 0
    for interval in poll_intervals(1.0):
        elapsed += interval
        polls += 1
        if elapsed >= 30:
            break
    assert polls <= 12
