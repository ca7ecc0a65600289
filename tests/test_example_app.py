"""The example app, deployed as a user would, opens at the URL the CLI prints."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hello"


def get_site(url: str, path: str = "/") -> httpx.Response:
    """GET ``url`` as a browser does: every ``*.localhost`` name is this machine."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.hostname.endswith(".localhost"), url
    return httpx.get(
        f"http://127.0.0.1:{parts.port}{path}", headers={"Host": parts.netloc}, timeout=10
    )


def injected(html: str) -> dict[str, str]:
    match = re.search(r"window\.__MIXPEEK__\s*=\s*(\{.*?\});?\s*</script>", html, re.S)
    assert match, html[:300]
    return json.loads(match.group(1))  # type: ignore[no-any-return]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    copy = tmp_path / "hello"
    shutil.copytree(EXAMPLE, copy)
    return copy


def test_the_example_is_served_at_the_printed_url(emu, run_cli, remote_env, example):
    env = {**remote_env, "MIXPEEK_APP_ID": "hello-example"}
    result = run_cli("deploy", str(example), "-m", "hello", "--json", env=env)

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    url = data["url"]
    port = urlsplit(emu.base_url).port
    assert url == f"http://staging-hello-example.localhost:{port}"  # its mixpeek.toml: staging
    assert f"complete: {url}" in result.stderr

    page = get_site(url)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Hello from Canvas</h1>" in page.text
    assert injected(page.text) == {
        "apiBaseUrl": "/api",
        "appId": "hello-example",
        "slug": "hello-example",
        "environment": "staging",
    }
    script = get_site(url, "/app.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.content == (example / "app.js").read_bytes()
    style = get_site(url, "/style.css")
    assert style.headers["content-type"].startswith("text/css")
    assert "__MIXPEEK__" not in style.text
    # Its server function runs in the emulator too, counting in ctx.kv.
    assert get_site(url, "/functions/hello").json() == {"message": "Hello, world!", "count": 1}
    assert get_site(url, "/functions/hello?name=you").json()["count"] == 2
    assert get_site(url, "/README.md").status_code == 404  # .mixpeekignore keeps it home
    # The server function ships as source, for Canvas to build.
    [body] = [r["json"] for r in emu.state.requests if r["path"].endswith("/deploy")]
    assert next(iter(body["source_files"])) == "api/hello.js"


def test_staging_and_production_serve_their_own_versions(emu, run_cli, remote_env, example):
    env = {**remote_env, "MIXPEEK_APP_ID": "two-envs"}
    (example / "index.html").write_text("<html><head></head><body>one</body></html>\n")
    prod = run_cli("deploy", str(example), "-m", "one", "-e", "production", "--json", env=env)
    (example / "index.html").write_text("<html><head></head><body>two</body></html>\n")
    staging = run_cli("deploy", str(example), "-m", "two", "-e", "staging", "--json", env=env)

    assert prod.code == 0 and staging.code == 0, staging.stderr
    prod_url, staging_url = json.loads(prod.stdout)["url"], json.loads(staging.stdout)["url"]
    assert prod_url != staging_url
    assert "one" in get_site(prod_url).text and "two" in get_site(staging_url).text


def test_deploy_local_keeps_serving_on_a_terminal_until_ctrl_c(cli_env, example):
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mixpeek_cli", "deploy", "--local", str(example), "-m", "hi"],
        env={**cli_env, "MIXPEEK_EMULATOR_BUILD_SECONDS": "0.2"},
        stdin=slave,
        stdout=slave,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(slave)
    try:
        assert proc.stderr is not None
        seen = ""
        deadline = time.monotonic() + 60
        while "until you press Ctrl-C" not in seen:
            assert time.monotonic() < deadline, seen
            line = proc.stderr.readline()
            assert line, seen
            seen += line
        url = re.search(r"serves (http://\S+) until", seen)
        assert url, seen
        assert "<h1>Hello from Canvas</h1>" in get_site(url.group(1)).text
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        assert proc.wait(timeout=30) == 0  # the deploy succeeded; Ctrl-C only stops serving
        assert "local emulator stopped" in rest and "Traceback" not in rest
    finally:
        proc.kill()
        os.close(master)
