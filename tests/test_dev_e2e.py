"""`mixpeek dev` on the README's example, end to end: one real CLI serving a copy of it,
its functions run in a real Node, /api reaching a stand-in API on loopback."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from runtime_support import ApiStub, DevRun, esbuild_program, start_dev

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hello"
KEY = "sk_dev_e2e_key_0123456789abcdef"
PROXY_ENV_KEY = "sk_app_env_var_key_never_in_pages"
SECRET = "secret-value-from-dotenv"
APP = {
    "app_id": "hello-example",
    "slug": "hello-slug",
    "build_config": {
        "env_vars": {"REMOTE_FLAG": "on", "SHARED": "remote", "MIXPEEK_API_KEY": PROXY_ENV_KEY}
    },
}
TYPED = """\
import { label } from "../../lib/label";
type Ctx = { req: { method: string; query: Record<string, string> }; env: Record<string, string> };
export default async function handler(ctx: Ctx): Promise<{ body: object }> {
  return { body: { label: label(ctx.req.query.name ?? "none"), method: ctx.req.method } };
}
"""


def injected(html: str) -> dict[str, str]:
    match = re.search(r"window\.__MIXPEEK__ = (\{.*?\});</script>", html)
    assert match, html[:300]
    return json.loads(match.group(1))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def stub() -> Iterator[ApiStub]:
    with ApiStub({"hello-example": APP}).running() as api:
        yield api


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dev") / "hello"
    shutil.copytree(EXAMPLE, root)
    (root / "api" / "data").mkdir()
    (root / "lib").mkdir()
    (root / "lib" / "label.ts").write_text(
        "export const label = (s: string): string => `<${s}>`;\n"
    )
    (root / "api" / "data" / "typed.ts").write_text(TYPED)
    (root / "api" / "env.ts").write_text(
        "export default async (ctx: { env: Record<string, string> }) => ({ body: ctx.env });\n"
    )
    (root / "api" / "boom.ts").write_text(
        "export default async function handler(): Promise<never> {\n"
        "  console.warn('about to fail');\n  throw new Error('kaboom');\n}\n"
    )
    (root / "api" / "leak.js").write_text(
        "export default async (ctx) => { console.log('key', ctx.env.MIXPEEK_API_KEY); };\n"
    )
    (root / ".env.local").write_text("SHARED=local\nLOCAL_FLAG=yes\n")
    (root / ".env.secrets").write_text(f"SECRET_TOKEN={SECRET}\n")
    return root


@pytest.fixture(scope="module")
def dev_env(tmp_path_factory: pytest.TempPathFactory, stub: ApiStub) -> dict[str, str]:
    import os

    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIXPEEK_")}
    return {
        **env,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "NO_COLOR": "1",
        "MIXPEEK_BASE_URL": stub.base_url,
        "MIXPEEK_API_KEY": KEY,
        "MIXPEEK_NAMESPACE": "ns_e2e",
    }


@pytest.fixture(scope="module")
def dev(app: Path, dev_env: dict[str, str]) -> Iterator[DevRun]:
    run = start_dev([str(app), "--port", "0"], dev_env)
    yield run
    run.stop()


def get(dev: DevRun, path: str, **kwargs: object) -> httpx.Response:
    return httpx.request(str(kwargs.pop("method", "GET")), dev.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]


def test_the_page_carries_window_mixpeek_with_env_vars_but_no_key_or_secret(dev: DevRun) -> None:
    page = get(dev, "/")
    assert page.status_code == 200 and "<h1>Hello from Canvas</h1>" in page.text
    assert injected(page.text) == {
        "REMOTE_FLAG": "on",  # the app's env vars, read from the API at start
        "SHARED": "local",  # .env.local wins
        "LOCAL_FLAG": "yes",
        "apiBaseUrl": "/api",
        "appId": "hello-example",
        "slug": "hello-slug",
        "environment": "development",
    }
    for hidden in ("/.env.secrets", "/.env.local", "/.mixpeek/kv.json", "/api/../.env.secrets"):
        answer = get(dev, hidden)
        assert SECRET not in answer.text and PROXY_ENV_KEY not in answer.text, hidden
    for data in (page.content, get(dev, "/app.js").content):
        assert KEY.encode() not in data and SECRET.encode() not in data
    assert get(dev, "/app.js").headers["content-type"].startswith("text/javascript")
    assert get(dev, "/settings/profile").text == page.text  # the single-page-app fallback
    assert get(dev, "/missing.png").status_code == 404


def test_functions_answer_count_in_kv_read_env_and_throw(dev: DevRun, app: Path) -> None:
    first = get(dev, "/functions/hello?name=x").json()
    posted = get(dev, "/functions/hello", method="POST", json={"name": "post"}).json()
    assert first["message"] == "Hello, x!" and posted["message"] == "Hello, post!"
    assert posted["count"] == first["count"] + 1
    assert json.loads((app / ".mixpeek" / "kv.json").read_text())["hello:count"]["value"] == str(
        posted["count"]
    )
    typed = get(dev, "/functions/data/typed?name=t", method="POST").json()
    assert typed == {"label": "<t>", "method": "POST"}  # TypeScript, nested, its own import
    env = get(dev, "/functions/env").json()
    assert env["SECRET_TOKEN"] == SECRET and env["SHARED"] == "local"
    assert (env["MIXPEEK_API_KEY"], env["MIXPEEK_NAMESPACE_ID"]) == (KEY, "ns_e2e")
    assert env["REMOTE_FLAG"] == "on"

    boom = get(dev, "/functions/boom")
    assert boom.status_code == 500 and "kaboom" not in boom.text
    dev.err.wait_for("[fn boom] Error: kaboom")
    dev.err.wait_for("api/boom.ts:3")  # its stack, at the TypeScript line
    assert "[fn boom] about to fail" in dev.err.text
    assert get(dev, "/functions/nothing").status_code == 404

    # Saved: the next request runs it.
    (app / "api" / "data" / "typed.ts").write_text(TYPED.replace("label(", "'saved:' + label("))
    assert get(dev, "/functions/data/typed?name=t").json()["label"] == "saved:<t>"


def test_api_reaches_the_api_with_the_key_and_namespace_and_never_hands_the_key_back(
    dev: DevRun, stub: ApiStub
) -> None:
    cookies = {"session": "local-cookie"}
    answer = get(
        dev, "/api/v1/things?limit=2", headers={"Authorization": "Bearer browser"}, cookies=cookies
    )
    assert answer.status_code == 200
    seen = stub.requests[-1]
    assert (seen["method"], seen["path"]) == ("GET", "/v1/things?limit=2")
    assert seen["headers"]["authorization"] == f"Bearer {KEY}"
    assert seen["headers"]["x-namespace"] == "ns_e2e"
    assert "cookie" not in seen["headers"]
    # The stub echoes the Authorization it got, in the body and a header: masked.
    raw = answer.content + json.dumps(dict(answer.headers)).encode()
    assert KEY.encode() not in raw
    assert answer.json()["headers"]["authorization"] == "Bearer " + "*" * len(KEY)
    assert answer.headers["x-echo-auth"] == "Bearer " + "*" * len(KEY)

    posted = get(dev, "/_api/v1/collections", method="POST", json={"name": "c"})
    assert posted.status_code == 200 and KEY not in posted.text
    assert (stub.requests[-1]["path"], stub.requests[-1]["body"]) == (
        "/v1/collections",
        '{"name":"c"}',
    )


def test_one_line_per_request_on_the_terminal(dev: DevRun) -> None:
    get(dev, "/functions/hello")
    get(dev, "/api/v1/ping")
    get(dev, "/style.css")
    assert get(dev, "/functions/leak").status_code == 200  # it prints the key: masked
    dev.err.wait_for("[fn leak] key ")
    assert re.search(
        r"GET /functions/hello 200 \d+ ms fn", dev.err.wait_for("/functions/hello 200")
    )
    assert re.search(r"GET /api/v1/ping 200 \d+ ms api", dev.err.wait_for("/api/v1/ping"))
    assert re.search(r"GET /style\.css 200 \d+ ms page", dev.err.wait_for("/style.css"))
    assert KEY not in dev.err.text and SECRET not in dev.err.text


def test_ctrl_c_stops_kv_survives_a_restart_and_the_bundle_ships_none_of_it(
    dev: DevRun, app: Path, dev_env: dict[str, str]
) -> None:
    count = get(dev, "/functions/hello").json()["count"]
    code, stderr = dev.stop()
    assert code == 0 and "mixpeek dev stopped" in stderr and "Traceback" not in stderr
    again = start_dev([str(app), "--port", "0", "--offline"], dev_env)
    try:
        assert get(again, "/functions/hello").json()["count"] == count + 1
        # --offline: no env vars from the API, /api not forwarded.
        assert "REMOTE_FLAG" not in injected(get(again, "/").text)
        assert get(again, "/api/v1/things").status_code == 503
    finally:
        code, _ = again.stop()
    assert code == 0

    out = app.parent / "hello.zip"
    bundled = subprocess.run(
        [sys.executable, "-m", "mixpeek_cli", "bundle", str(app), "-o", str(out)],
        env=dev_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bundled.returncode == 0, bundled.stderr
    names = zipfile.ZipFile(out).namelist()
    assert "index.html" in names and "api/hello.js" in names
    assert not [n for n in names if n.startswith(".mixpeek/") or n.startswith(".env")], names


def test_what_stops_mixpeek_dev_before_it_serves_is_one_line_and_exit_2(
    run_cli, app: Path, tmp_path: Path
) -> None:
    import socket

    # esbuild given: none of these may reach a registry to install it.
    env = {"MIXPEEK_ESBUILD": esbuild_program()}
    no_node = run_cli(
        "dev", str(app), "--offline", env={**env, "MIXPEEK_NODE": str(tmp_path / "node")}
    )
    assert no_node.code == 2
    assert "server functions (api/*.ts, api/*.js) run in Node.js 18 or later" in no_node.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = run_cli("dev", str(app), "--offline", "--port", port, env=env)
    assert busy.code == 2 and f"port {port} is taken" in busy.stderr
    failing = run_cli(
        "dev", str(app), "--offline", "--port", "0", "--dev-command", "echo no; exit 3", env=env
    )
    assert failing.code == 2
    assert "[dev] no" in failing.stderr
    assert "the dev command ended (exit code 3) before it answered" in failing.stderr
    missing = run_cli(
        "dev", str(app), "--offline", "--env-file", str(tmp_path / "none.env"), env=env
    )
    assert missing.code == 2 and "none.env does not exist" in missing.stderr
    assert "Traceback" not in no_node.stderr + busy.stderr + failing.stderr + missing.stderr
