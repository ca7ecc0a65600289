"""How a bundle of a given size travels to S3: one PUT, or multipart with which part size.

Pure arithmetic, so the limits can be tested without writing gigabytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mixpeek_cli.errors import UploadError

MiB = 1024**2
GiB = 1024**3
# S3's own limits (the same on MinIO and R2).
SINGLE_PUT_LIMIT = 5 * GiB
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
MAX_OBJECT_SIZE = 5 * 1024 * GiB

DEFAULT_MULTIPART_THRESHOLD = 8 * MiB
# Parts of at least 8 MiB and at most ~1,000 of them: few enough requests that per-request
# latency does not dominate, small enough that a failed part costs little to resend.
PREFERRED_MIN_PART = 8 * MiB
TARGET_PARTS = 1_000
MAX_CONCURRENCY = 8


@dataclass(frozen=True)
class TransferPlan:
    part_size: int | None  # None: a single PUT
    parts: int
    concurrency: int

    @property
    def multipart(self) -> bool:
        return self.part_size is not None


def plan_transfer(size: int, threshold: int = DEFAULT_MULTIPART_THRESHOLD) -> TransferPlan:
    """Single PUT below ``threshold``; above it, parts sized for ``size`` within S3's limits."""
    if size > MAX_OBJECT_SIZE:
        raise UploadError(
            f"the bundle is {size} bytes; S3 objects are limited to 5 TiB",
            hint="shrink the bundle (see .mixpeekignore)",
        )
    if size < threshold:
        return TransferPlan(part_size=None, parts=1, concurrency=1)
    # A small threshold (a tuning knob, and how tests get several parts from a few MiB)
    # lowers the smallest part, never below S3's 5 MiB.
    floor = min(max(threshold, MIN_PART_SIZE), PREFERRED_MIN_PART)
    part = max(floor, _round_up(math.ceil(size / TARGET_PARTS), MiB))
    part = min(part, MAX_PART_SIZE)
    parts = math.ceil(size / part)
    return TransferPlan(part_size=part, parts=parts, concurrency=min(MAX_CONCURRENCY, parts))


def check_single_put(size: int) -> None:
    """Refuse, before sending anything, a bundle too big for one PUT."""
    if size > SINGLE_PUT_LIMIT:
        raise UploadError(
            f"the bundle is {size / GiB:.2f} GiB, over S3's 5 GiB limit for a single upload "
            "and the server offered only a presigned single-PUT URL",
            hint="shrink the bundle (see .mixpeekignore), or upload to your own bucket with "
            "--bucket, which uses multipart",
        )


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step
