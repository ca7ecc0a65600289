"""The emulator's deployed sites run their server functions (the runtime room's runner, a
real Node) and proxy /api to its own API: ctx.env from the app's env vars and secrets,
ctx.kv per app and environment, console lines and 500s in the app's logs and error rate."""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from runtime_support import esbuild_program

from mixpeek_cli.emulator import Emulator
from mixpeek_cli.emulator.sites import app_slug, site_url

KEY = "sk_emulator_functions_key_0123"
SECRET = "s3cret-token-value"
INDEX = "<!doctype html><html><head><title>f</title></head><body>f</body></html>"
SOURCES = {
    "api/count.ts": (
        "type Kv = { get(k: string): Promise<string | null>;\n"
        "  set(k: string, v: string): Promise<void> };\n"
        "export default async function handler(ctx: { kv: Kv; env: Record<string, string> }) {\n"
        "  const n = Number((await ctx.kv.get('n')) ?? 0) + 1;\n"
        "  await ctx.kv.set('n', String(n));\n"
        "  console.info('counted', n);\n"
        "  return { body: { n, env: ctx.env } };\n"
        "}\n"
    ),
    "api/boom.js": "export default async () => { throw new TypeError('no such thing'); };\n",
    "src/ignored.ts": "not a function: only api/ serves /functions\n",
}


@pytest.fixture
def api(emu: Emulator) -> Iterator[httpx.Client]:
    esbuild_program()  # ready before the first function (the in-process emulator's cache)
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=emu.base_url, headers=headers, timeout=30) as client:
        yield client


def ship(
    api: httpx.Client, app_id: str, environment: str, more: dict[str, str] | None = None
) -> None:
    """Upload a bundle and deploy it with SOURCES (and ``more``) as its source files; wait
    until live."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("index.html", INDEX)
    target = api.post(f"/v1/apps/{app_id}/deploy/upload-url", json={"filename": "a.zip"}).json()
    put = httpx.put(
        target["upload_url"], content=buffer.getvalue(), headers={"Content-Type": "application/zip"}
    )
    assert put.status_code == 200
    body = {
        "message": "f",
        "environment": environment,
        "bundle_s3_key": target["bundle_s3_key"],
        "source_files": {**SOURCES, **(more or {})},
    }
    deploy_id = api.post(f"/v1/apps/{app_id}/deploy", json=body).json()["deploy_id"]
    deadline = time.monotonic() + 20
    while api.get(f"/v1/apps/{app_id}/deploys/{deploy_id}").json()["status"] != "complete":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def site(emu: Emulator, app_id: str, environment: str) -> httpx.Client:
    netloc = urlsplit(site_url(emu.base_url, app_slug(app_id), environment)).netloc
    return httpx.Client(base_url=emu.base_url, headers={"Host": netloc}, timeout=30)


def test_functions_run_with_env_secrets_and_a_kv_per_environment(
    emu: Emulator, api: httpx.Client
) -> None:
    app_id = f"fn_{uuid.uuid4().hex[:8]}"
    emu.state.set_app(
        app_id, env_vars={"PUBLIC": "p", "MIXPEEK_API_KEY": KEY}, secrets={"TOKEN": SECRET}
    )
    ship(api, app_id, "production")
    ship(api, app_id, "staging")
    with site(emu, app_id, "production") as prod, site(emu, app_id, "staging") as staging:
        first = prod.get("/functions/count").json()
        assert first["env"] == {"PUBLIC": "p", "MIXPEEK_API_KEY": KEY, "TOKEN": SECRET}
        assert prod.post("/functions/count", json={}).json()["n"] == first["n"] + 1
        assert staging.get("/functions/count").json()["n"] == 1  # its own store
        assert prod.get("/functions/ignored").status_code == 404
        page = prod.get("/").text
        assert '"PUBLIC": "p"' in page and SECRET not in page and KEY not in page

        boom = prod.get("/functions/boom")
        assert boom.status_code == 500 and "no such thing" not in boom.text

    runtime = api.get(f"/v1/apps/{app_id}/logs", params={"log_type": "runtime"}).json()
    messages = [(e["level"], e["route_path"], e["message"]) for e in runtime["results"]]
    assert ("info", "count", f"counted {first['n']}") in messages
    [stack] = [m for level, route, m in messages if route == "boom"]
    assert stack.startswith("TypeError: no such thing")
    # The 500 counts as a runtime error, once.
    rate = api.get(f"/v1/apps/{app_id}/error-rate", params={"minutes": 5}).json()
    assert rate["error_count"] == 1
    analytics: dict[str, Any] = api.get(f"/v1/apps/{app_id}/analytics").json()
    [error] = analytics["recent_errors"]
    assert error["error_type"] == "FunctionError" and "no such thing" in error["error_message"]


def test_api_goes_to_the_emulator_s_own_api_with_the_app_s_key(
    emu: Emulator, api: httpx.Client
) -> None:
    app_id = f"px_{uuid.uuid4().hex[:8]}"
    emu.state.configure(api_keys=[KEY])  # only the app's key opens the API
    emu.state.set_app(app_id, env_vars={"MIXPEEK_API_KEY": KEY})
    ship(api, app_id, "production")
    without = f"nokey_{uuid.uuid4().hex[:8]}"
    ship(api, without, "production")
    with site(emu, app_id, "production") as client:
        answer = client.get(f"/api/v1/apps/{app_id}", headers={"Authorization": "Bearer x"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["app_id"] == app_id and KEY not in answer.text
        assert client.get(f"/_api/v1/apps/{app_id}").status_code == 200
    [*_, seen] = [r for r in emu.state.requests if r["path"] == f"/v1/apps/{app_id}"]
    assert seen["method"] == "GET"
    with site(emu, without, "production") as client:
        refused = client.get(f"/api/v1/apps/{without}")
        assert refused.status_code == 403 and "MIXPEEK_API_KEY" in refused.json()["error"]


def test_a_stopped_emulator_leaves_no_function_files_behind() -> None:
    import glob
    import tempfile

    # A function of a name no other test ships: the directory holding it is this
    # emulator's, whatever other workers' emulators write beside it meanwhile.
    unique = f"stop_{uuid.uuid4().hex[:8]}"
    pattern = f"{tempfile.gettempdir()}/mixpeek-emulator-functions-*/*/api/{unique}.js"
    esbuild_program()
    with Emulator(build_seconds=0.05) as other:
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=other.base_url, headers=headers, timeout=30) as client:
            ship(client, "fn_stop", "production", {f"api/{unique}.js": SOURCES["api/boom.js"]})
        with site(other, "fn_stop", "production") as prod:
            assert prod.get("/functions/count").status_code == 200
        [written] = glob.glob(pattern)  # the version's sources, written for Node to run
    assert not Path(written).exists()  # removed when the emulator stopped
