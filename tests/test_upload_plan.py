"""Upload arithmetic and settings, without a network: part sizes, S3's limits, ETags."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import pytest

from mixpeek_cli.errors import UploadError, UsageError
from mixpeek_cli.settings import resolve_settings
from mixpeek_cli.upload.digest import EtagJob, compute_etag, encrypted_with_kms, normalize_etag
from mixpeek_cli.upload.plan import (
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    SINGLE_PUT_LIMIT,
    GiB,
    MiB,
    check_single_put,
    plan_transfer,
)


@pytest.mark.parametrize(
    "size",
    [8 * MiB, 8 * MiB + 1, 100 * MiB, 1 * GiB, 7 * GiB, 50 * GiB, 999 * GiB, 5 * 1024 * GiB],
)
def test_multipart_plans_stay_within_s3_limits(size: int) -> None:
    plan = plan_transfer(size)
    assert plan.part_size is not None
    assert MIN_PART_SIZE <= plan.part_size <= MAX_PART_SIZE
    assert plan.parts == -(-size // plan.part_size) <= MAX_PARTS
    assert 1 <= plan.concurrency <= 8 and plan.concurrency <= plan.parts


def test_below_the_threshold_is_one_put_and_parts_grow_with_the_size() -> None:
    assert plan_transfer(8 * MiB - 1).part_size is None
    assert plan_transfer(100 * MiB).part_size == 8 * MiB
    # Past ~8 GiB parts grow so a bundle stays near 1,000 requests.
    big = plan_transfer(100 * GiB)
    assert big.part_size is not None and big.part_size > 8 * MiB and big.parts <= 1_000


def test_a_small_threshold_lowers_the_part_size_but_never_below_5_mib() -> None:
    plan = plan_transfer(13 * MiB, threshold=5 * MiB)
    assert (plan.part_size, plan.parts) == (5 * MiB, 3)


def test_over_5_tib_is_refused() -> None:
    with pytest.raises(UploadError, match="5 TiB"):
        plan_transfer(5 * 1024 * GiB + 1)


def test_single_put_limit_names_the_limit() -> None:
    check_single_put(SINGLE_PUT_LIMIT)  # exactly 5 GiB is allowed
    with pytest.raises(UploadError) as caught:
        check_single_put(SINGLE_PUT_LIMIT + 1)
    assert "5 GiB" in str(caught.value) and "--bucket" in str(caught.value)


def test_compute_etag_follows_s3s_rules(tmp_path: Path) -> None:
    data = bytes(range(256)) * (48 * 1024)  # 12 MiB
    path = tmp_path / "b.zip"
    path.write_bytes(data)
    assert compute_etag(path, None) == hashlib.md5(data).hexdigest()
    part = 5 * MiB
    digests = b"".join(hashlib.md5(data[i : i + part]).digest() for i in range(0, len(data), part))
    assert compute_etag(path, part) == hashlib.md5(digests).hexdigest() + "-3"
    exact = tmp_path / "exact.zip"
    exact.write_bytes(data[: 2 * part])  # a size that is a multiple of the part: no empty part
    assert compute_etag(exact, part).endswith("-2")


def test_etag_forms() -> None:
    assert normalize_etag('"0123456789ABCDEF0123456789abcdef"') == "0123456789abcdef" * 2
    assert normalize_etag('"0123456789abcdef0123456789abcdef-12"').endswith("-12")
    assert normalize_etag("W/whatever") is None and normalize_etag(None) is None
    assert encrypted_with_kms({"x-amz-server-side-encryption": "aws:kms"})
    assert not encrypted_with_kms({"X-Amz-Server-Side-Encryption": "AES256"})


def test_bucket_settings_resolve_flag_env_file_default(tmp_path: Path) -> None:
    (tmp_path / "mixpeek.toml").write_text(
        'bundle_bucket = "from-file"\ns3_prefix = "builds"\ns3_checksums = "when_required"\n'
    )
    s = resolve_settings(root=tmp_path, env={})
    assert (s.bundle_bucket, s.s3_prefix, s.s3_checksums) == (
        "from-file",
        "builds/",
        "when_required",
    )
    s = resolve_settings(
        root=tmp_path,
        env={
            "MIXPEEK_BUNDLE_BUCKET": "from-env",
            "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000/",
            "MIXPEEK_MULTIPART_THRESHOLD": str(6 * MiB),
        },
        bucket="from-flag",
        s3_prefix="",
    )
    assert s.bundle_bucket == "from-flag" and s.s3_prefix == ""
    assert s.s3_endpoint_url == "http://127.0.0.1:9000" and s.multipart_threshold == 6 * MiB
    default = resolve_settings(root=tmp_path / "none", env={})
    assert default.bundle_bucket is None and default.s3_prefix == "mixpeek-bundles/"
    assert default.s3_checksums == "when_supported" and default.multipart_threshold == 8 * MiB


@pytest.mark.parametrize(
    ("kwargs", "env", "match"),
    [
        ({"bucket": "s3://bucket/path"}, {}, "bucket name"),
        ({"s3_endpoint_url": "minio:9000"}, {}, "endpoint"),
        ({"s3_checksums": "crc32"}, {}, "checksum"),
        ({}, {"MIXPEEK_MULTIPART_THRESHOLD": "1024"}, "5 MiB"),
        ({}, {"MIXPEEK_MULTIPART_THRESHOLD": "lots"}, "MULTIPART_THRESHOLD"),
    ],
)
def test_bad_upload_settings_are_usage_errors(tmp_path, kwargs, env, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=match):
        resolve_settings(root=tmp_path, env=env, **kwargs)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice is Linux's")
def test_the_etag_hash_runs_at_the_lowest_cpu_priority(tmp_path: Path) -> None:
    fifo = tmp_path / "bundle.zip"
    os.mkfifo(fifo)
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    job = EtagJob(fifo, None)  # its thread blocks opening the FIFO until we write
    native_id = job._thread.native_id
    assert native_id is not None
    deadline = time.monotonic() + 10
    while os.getpriority(os.PRIO_PROCESS, native_id) != 19:
        assert time.monotonic() < deadline, "the hash thread kept its priority"
        time.sleep(0.01)
    with open(fifo, "wb") as fh:
        fh.write(b"abc")
    assert job.result() == hashlib.md5(b"abc").hexdigest()
    assert os.getpriority(os.PRIO_PROCESS, 0) == ours  # the calling thread is left alone
