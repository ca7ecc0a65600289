"""Run inside ``unshare -n`` (loopback only) by test_upload_target.py: a fake API on
loopback whose upload-url answer points the PUT at ``sys.argv[1]``; the CLI deploys
against it. Prints the CLI's exit code, stdout and stderr, and the requests seen, as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from netfaults import answer_json, read_body, serve

target = sys.argv[1]
seen: list[str] = []


def handle(request):  # type: ignore[no-untyped-def]
    seen.append(f"{request.command} {request.path}")
    read_body(request)
    if request.path.endswith("/deploy/upload-url"):
        key = "app-builds/app_e2e/t/bundle.zip"
        answer_json(request, 200, {"upload_url": target, "bundle_s3_key": key})
    else:
        answer_json(request, 200, {"app_id": "app_e2e", "slug": "app-e2e"})


app = Path(tempfile.mkdtemp()) / "app"
app.mkdir()
(app / "index.html").write_text("<!doctype html><title>t</title>\n")
with serve(handle) as api:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(app.parent),
        "MIXPEEK_BASE_URL": api,
        "MIXPEEK_API_KEY": "sk_test_netns_0123456789",
        "MIXPEEK_APP_ID": "app_e2e",
        "NO_COLOR": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "mixpeek_cli", "deploy", str(app), "-m", "x", "--timeout", "20"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
print(
    json.dumps(
        {"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "seen": seen}
    )
)
