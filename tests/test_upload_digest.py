"""Upload checks without a network: S3's single-PUT limit, the zip's MD5, ETag forms, and
how a verify-upload answer is judged."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import pytest

from mixpeek_cli.errors import UploadError
from mixpeek_cli.service.models import UploadCheck
from mixpeek_cli.upload.digest import Md5Job, compute_md5, encrypted_with_kms, plain_md5_etag
from mixpeek_cli.upload.presigned import SINGLE_PUT_LIMIT, check_single_put
from mixpeek_cli.upload.reuse import PreviousUpload, decode, record_name
from mixpeek_cli.upload.verify import check_landed, difference

MD5 = hashlib.md5(b"zip bytes").hexdigest()


def test_single_put_limit_names_the_limit() -> None:
    check_single_put(SINGLE_PUT_LIMIT)
    with pytest.raises(UploadError) as caught:
        check_single_put(SINGLE_PUT_LIMIT + 1)
    assert "5 GiB" in str(caught.value) and ".mixpeekignore" in str(caught.value)


def test_compute_md5_is_the_md5_of_the_bytes(tmp_path: Path) -> None:
    data = bytes(range(256)) * (48 * 1024)  # 12 MiB: more than one read
    path = tmp_path / "b.zip"
    path.write_bytes(data)
    assert compute_md5(path) == hashlib.md5(data).hexdigest()


def test_only_a_plain_md5_etag_is_taken_for_one() -> None:
    assert plain_md5_etag('"0123456789ABCDEF0123456789abcdef"') == "0123456789abcdef" * 2
    assert plain_md5_etag('"0123456789abcdef0123456789abcdef-12"') is None  # multipart
    assert plain_md5_etag("W/whatever") is None and plain_md5_etag(None) is None
    assert encrypted_with_kms({"x-amz-server-side-encryption": "aws:kms"})
    assert not encrypted_with_kms({"X-Amz-Server-Side-Encryption": "AES256"})


def check(**fields: object) -> UploadCheck:
    base: dict[str, object] = {
        "bundle_s3_key": "app-builds/a/t/bundle.zip",
        "exists": True,
        "etag": f'"{MD5}"',
        "size_bytes": 9,
        "last_modified": None,
    }
    return UploadCheck(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"exists": False, "etag": None, "size_bytes": None}, "no object"),
        ({"size_bytes": 8}, "holds 8 bytes there, the zip has 9"),
        ({"size_bytes": None}, "an unknown number of bytes"),
        ({"etag": '"' + "0" * 32 + '"'}, f"ETag is {'0' * 32}, the zip's MD5 is {MD5}"),
    ],
)
def test_each_difference_is_named_and_fails_the_upload(fields, named) -> None:  # type: ignore[no-untyped-def]
    assert named in (difference(check(**fields), size=9, md5=MD5) or "")
    with pytest.raises(UploadError) as caught:
        check_landed(check(**fields), key="k", size=9, md5=MD5)
    assert named in str(caught.value) and caught.value.exit_code == 5


def test_etags_that_are_no_md5_and_a_server_without_verify_pass() -> None:
    assert difference(check(), size=9, md5=MD5) is None
    assert difference(check(etag='"' + "a" * 32 + '-3"'), size=9, md5=MD5) is None
    assert difference(check(etag=None), size=9, md5=MD5) is None
    check_landed(None, key="k", size=9, md5=MD5)


def test_the_reuse_record_is_only_for_its_api_app_and_size() -> None:
    record = PreviousUpload(
        base_url="https://api.mixpeek.com",
        app_id="a",
        bundle_s3_key="app-builds/a/t/bundle.zip",
        size=9,
        md5=MD5,
        uploaded_at="2026-12-01T18:00:00+00:00",
    )
    data = record.encode()
    assert decode(data, base_url="https://api.mixpeek.com", app_id="a", size=9) == record
    assert decode(data, base_url="http://127.0.0.1:1", app_id="a", size=9) is None
    assert decode(data, base_url="https://api.mixpeek.com", app_id="b", size=9) is None
    assert decode(data, base_url="https://api.mixpeek.com", app_id="a", size=10) is None
    assert decode(b"{not json", base_url="x", app_id="a", size=9) is None
    assert decode(b'{"size": 9}', base_url="x", app_id="a", size=9) is None
    assert record_name("https://api.mixpeek.com", "a") != record_name(
        "https://api.mixpeek.com", "b"
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice is Linux's")
def test_the_md5_hash_runs_at_the_lowest_cpu_priority(tmp_path: Path) -> None:
    fifo = tmp_path / "bundle.zip"
    os.mkfifo(fifo)
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    job = Md5Job(fifo)  # its thread blocks opening the FIFO until we write
    native_id = job._thread.native_id
    assert native_id is not None
    deadline = time.monotonic() + 10
    while os.getpriority(os.PRIO_PROCESS, native_id) != 19:
        assert time.monotonic() < deadline, "the hash thread kept its priority"
        time.sleep(0.01)
    assert os.getpriority(os.PRIO_PROCESS, 0) == ours  # the calling thread is left alone
    job.cancel()
    with open(fifo, "wb") as fh:
        fh.write(b"abc")
    job._thread.join(10)
    assert not job._thread.is_alive()


@pytest.mark.parametrize("wait", [False, True])
def test_the_md5_is_whole_whether_the_thread_finished_or_was_taken_over(
    tmp_path: Path, wait: bool
) -> None:
    data = os.urandom(5 * Md5Job.CHUNK + 123)
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    job = Md5Job(path)
    if wait:
        job._thread.join(30)  # all of it hashed by the thread
    assert job.result() == hashlib.md5(data).hexdigest()  # else: handed over mid-way
