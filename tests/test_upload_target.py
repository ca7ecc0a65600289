"""The presigned URLs the API hands out are checked before any byte goes there: https, or
plain http to this machine only; never an internal address."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mixpeek_cli.errors import ApiError
from mixpeek_cli.service.models import parse_upload_url

KEY = "app-builds/app_e2e/t/bundle.zip"

REFUSED = [
    "http://s3.example.com/bucket/bundle.zip?X-Amz-Signature=abc",
    "http://169.254.169.254/latest/meta-data/",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.8/bucket/x",
    "https://[fd00::1]/x",
    "ftp://127.0.0.1/x",
    "file:///etc/passwd",
    "https:///no-host",
]


@pytest.mark.parametrize("url", REFUSED)
def test_refused_upload_urls(url):
    with pytest.raises(ApiError) as caught:
        parse_upload_url({"upload_url": url, "bundle_s3_key": KEY})
    assert "X-Amz-Signature" not in caught.value.one_line()


@pytest.mark.parametrize(
    "url",
    [
        "https://bucket.s3.amazonaws.com/app-builds/x?X-Amz-Signature=abc",
        "http://127.0.0.1:9000/bucket/x",
        "http://localhost:9000/bucket/x",
        "http://[::1]:9000/bucket/x",
    ],
)
def test_accepted_upload_urls(url):
    assert parse_upload_url({"upload_url": url, "bundle_s3_key": KEY}).upload_url == url


def in_netns(target: str) -> dict:  # type: ignore[type-arg]
    """The deploy against a fake API whose upload URL is ``target``, run in a network
    namespace where only loopback exists: whatever the CLI did, nothing left the machine."""
    tests = Path(__file__).parent
    script = f'ip link set lo up && exec {sys.executable} {tests / "offline_upload_target.py"} "$0"'
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), *sys.path])}
    proc = subprocess.run(
        ["unshare", "-n", "sh", "-c", script, target],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


needs_netns = pytest.mark.skipif(
    not (sys.platform == "linux" and shutil.which("unshare") and shutil.which("ip"))
    or os.geteuid() != 0,
    reason="a network namespace needs Linux, unshare, ip and root",
)


@needs_netns
@pytest.mark.parametrize(
    ("target", "shown"),
    [
        (
            "http://s3.example.com/b/bundle.zip?X-Amz-Signature=sig",
            "plain-http 'upload_url' on s3.example.com",
        ),
        ("http://169.254.169.254/latest/meta-data/", "plain-http 'upload_url' on 169.254.169.254"),
        ("https://10.1.2.3/b/bundle.zip", "points 'upload_url' at 10.1.2.3"),
    ],
)
def test_a_refused_upload_host_gets_no_connection(target, shown):
    run = in_netns(target)

    assert run["code"] == 5, run["stderr"]
    [error] = [line for line in run["stderr"].splitlines() if line.startswith("error:")]
    assert shown in error and "refused" in error
    assert "retrying" not in run["stderr"]  # refused at once: no connection was tried
    assert "sig" not in run["stderr"]
    assert not [r for r in run["seen"] if r.endswith("/deploy")], "no deploy was made"
