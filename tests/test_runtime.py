"""The runtime room in process: window.__MIXPEEK__, the static rules, dotenv files, ctx.kv,
the frameworks' dev commands, the key masking of /api, and server functions run in a real
Node (TypeScript through esbuild)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from runtime_support import esbuild_program

from mixpeek_cli.config.frontends import detect_frontend, dev_command_for_port
from mixpeek_cli.errors import UsageError
from mixpeek_cli.runtime.api_forward import _masked
from mixpeek_cli.runtime.dev_env import DotenvFile, read_dotenv
from mixpeek_cli.runtime.functions import FunctionHost, FunctionRequest, find_function
from mixpeek_cli.runtime.kv import KvError, KvStore
from mixpeek_cli.runtime.page import inject, mixpeek_globals_script, page_globals
from mixpeek_cli.runtime.static import find

# --- window.__MIXPEEK__ and the static host ------------------------------------------------


def test_page_globals_take_env_vars_but_never_the_key_and_the_system_values_win() -> None:
    env = {"FLAG": "on", "MIXPEEK_API_KEY": "sk_never", "appId": "spoofed"}
    assert page_globals("a1", "s1", "development", env) == {
        "FLAG": "on",
        "apiBaseUrl": "/api",
        "appId": "a1",
        "slug": "s1",
        "environment": "development",
    }
    script = mixpeek_globals_script("a1", "s1", "development", {"X": "</script><b>&\u2028"})
    assert b"</script><b>" not in script and b"sk_never" not in script
    assert b"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\\u2028" in script
    assert inject(b"<html><HEAD lang=x><title>", b"S") == b"<html><HEAD lang=x>S<title>"
    assert inject(b"\xef\xbb\xbfhello", b"S") == b"\xef\xbb\xbfShello"


def test_the_static_rules_are_canvas_s() -> None:
    files = {"index.html", "a.js", "docs/index.html"}
    assert find([], files.__contains__) == "index.html"
    assert find(["a.js"], files.__contains__) == "a.js"
    assert find(["docs"], files.__contains__) == "docs/index.html"
    assert find(["settings", "profile"], files.__contains__) == "index.html"  # client route
    assert find(["missing.png"], files.__contains__) is None


# --- dotenv files ----------------------------------------------------------------------------


def test_dotenv_files_are_read_as_env_push_reads_them_and_again_when_saved(tmp_path: Path) -> None:
    path = tmp_path / ".env.local"
    path.write_text('# c\nexport A=1\nB="two words"\nC=\'$lit\'\nD="l1\\nl2"\n')
    assert read_dotenv(path, required=False) == {
        "A": "1",
        "B": "two words",
        "C": "$lit",
        "D": "l1\nl2",
    }
    assert read_dotenv(tmp_path / "absent", required=False) == {}
    with pytest.raises(FileNotFoundError):
        read_dotenv(tmp_path / "absent", required=True)
    path.write_text("A=1\nnot a line\n")
    with pytest.raises(UsageError, match=r"\.env\.local:2"):
        read_dotenv(path, required=True)

    said: list[str] = []
    path.write_text("A=1\n")
    watched = DotenvFile(path, required=False, say=said.append)
    assert watched.values() == {"A": "1"}
    path.write_text("A=2\nB=3\n")
    assert watched.values() == {"A": "2", "B": "3"}
    path.write_text("A=2\nbroken line here\n")
    assert watched.values() == {"A": "2", "B": "3"}  # the last good values, said once
    assert len(said) == 1 and "keeping the values read before" in said[0]


# --- ctx.kv ----------------------------------------------------------------------------------


def test_kv_expires_persists_and_keeps_a_broken_file_aside(tmp_path: Path) -> None:
    now = [1000.0]
    path = tmp_path / ".mixpeek" / "kv.json"
    store = KvStore(path, clock=lambda: now[0])
    store.set("a", "1")
    store.set("b", "2", ttl=10)
    store.set("c:x", "3")
    assert store.get("a") == "1" and store.keys() == ["a", "b", "c:x"]
    assert store.keys("c:") == ["c:x"]
    now[0] += 11
    assert store.get("b") is None and store.keys() == ["a", "c:x"]
    now[0] += 30 * 24 * 3600  # the default TTL: 30 days
    assert store.get("a") is None
    store.set("d", "4")
    assert store.delete("d") is True and store.delete("d") is False
    store.set("kept", "yes")
    again = KvStore(path, clock=lambda: now[0])
    assert again.get("kept") == "yes" and again.keys() == ["kept"]
    for bad in (0, -1, "10", True):
        with pytest.raises(KvError, match="ttl"):
            store.set("x", "y", ttl=bad)  # type: ignore[arg-type]
    with pytest.raises(KvError):
        store.get("")
    path.write_text("{not json")
    assert KvStore(path).keys() == []
    assert [p.name for p in path.parent.iterdir() if "broken" in p.name]


# --- the frameworks' dev commands --------------------------------------------------------------


@pytest.mark.parametrize(
    ("deps", "scripts", "lock", "dev_command", "with_port"),
    [
        (
            {"vite": "5"},
            {"dev": "vite"},
            None,
            "npm run dev",
            "npm run dev -- --port 4100 --strictPort",
        ),
        (
            {"vite": "5"},
            {"dev": "vite"},
            "pnpm-lock.yaml",
            "pnpm run dev",
            "pnpm run dev --port 4100 --strictPort",
        ),
        ({"vite": "5"}, {}, None, "npx vite", "npx vite --port 4100 --strictPort"),
        ({"astro": "4"}, {"dev": "astro dev"}, "yarn.lock", "yarn dev", "yarn dev --port 4100"),
        ({"next": "14"}, {"dev": "next dev"}, None, "npm run dev", "npm run dev -- --port 4100"),
        ({"@sveltejs/kit": "2"}, {}, None, "npx vite dev", "npx vite dev --port 4100 --strictPort"),
        (
            {"@vue/cli-service": "5"},
            {"serve": "x"},
            None,
            "npm run serve",
            "npm run serve -- --port 4100",
        ),
        ({"react-scripts": "5"}, {"start": "x"}, None, "npm run start", "npm run start"),  # PORT
    ],
)
def test_each_framework_s_dev_command_and_its_port(
    tmp_path: Path,
    deps: dict[str, str],
    scripts: dict[str, str],
    lock: str | None,
    dev_command: str,
    with_port: str,
) -> None:
    (tmp_path / "package.json").write_text(
        json.dumps({"devDependencies": deps, "scripts": scripts})
    )
    if lock:
        (tmp_path / lock).write_text("")
    frontend = detect_frontend(tmp_path)
    assert frontend is not None and frontend.dev_command == dev_command
    assert dev_command_for_port(dev_command, 4100, frontend) == with_port
    # A command of one's own reads PORT, or says where the number goes.
    assert dev_command_for_port("node serve.js", 4100, frontend) == "node serve.js"
    assert (
        dev_command_for_port("serve -l {port} -p{port}", 4100, frontend) == "serve -l 4100 -p4100"
    )


# --- /api never hands the key back ------------------------------------------------------------


def test_the_key_is_masked_even_across_chunks() -> None:
    key = b"sk_live_0123456789"

    async def chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    async def collect(parts: list[bytes]) -> bytes:
        return b"".join([piece async for piece in _masked(chunks(parts), key)])

    body = b'{"echo": "Bearer sk_live_0123456789", "again": "sk_live_0123456789"}'
    for cut in range(len(body) + 1):
        out = asyncio.run(collect([body[:cut], body[cut:]]))
        assert key not in out and len(out) == len(body), cut
        assert out.count(b"*" * len(key)) == 2


# --- server functions in Node ------------------------------------------------------------------


def request(
    path: str, *, query: dict[str, str] | None = None, body: bytes = b""
) -> FunctionRequest:
    return FunctionRequest("POST" if body else "GET", path, query or {}, {"x-test": "1"}, body)


# A handler with types, a relative import, ctx.kv, console, status and headers.
TYPED = """\
import { shout } from "./lib";
interface Kv { get(k: string): Promise<string | null>; set(k: string, v: string): Promise<void> }
interface Req { query: Record<string, string>; body: unknown; headers: Record<string, string> }
interface Ctx { req: Req; env: Record<string, string>; kv: Kv }
export default async function handler(ctx: Ctx) {
  const n = Number((await ctx.kv.get("n")) ?? 0) + 1;
  await ctx.kv.set("n", String(n));
  console.log("typed ran", n);
  const { query, body, headers } = ctx.req;
  return {
    status: 201,
    headers: { "X-Made": "yes", "Content-Length": "1" },
    body: { hi: shout(query.name ?? "none"), n, posted: body, h: headers["x-test"],
      env: ctx.env.ONLY },
  };
}
"""


@pytest.fixture
def functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FunctionHost, Path]:
    monkeypatch.setenv("MIXPEEK_ESBUILD", esbuild_program())
    api = tmp_path / "api"
    (api / "data").mkdir(parents=True)
    (api / "lib.ts").write_text("export const shout = (s: string): string => s.toUpperCase();\n")
    (api / "typed.ts").write_text(TYPED)
    (api / "data" / "export.js").write_text(
        "export default async () => ({ body: 'plain text' });\n"
    )
    (api / "boom.ts").write_text(
        "export default async function handler(): Promise<never> {\n"
        "  throw new Error('kaboom');\n}\n"
    )
    (api / "status.js").write_text("export default async () => ({ status: 'nope' });\n")
    (api / "nodefault.js").write_text("export const x = 1;\n")
    (api / "slow.js").write_text("export default () => new Promise(() => {});\n")
    kv = KvStore(tmp_path / ".mixpeek" / "kv.json")
    return FunctionHost(tmp_path, env=lambda: {"ONLY": "env"}, kv=kv, timeout=1.5), tmp_path


def test_functions_run_in_node_typescript_kv_logs_and_a_saved_change(
    functions: tuple[FunctionHost, Path],
) -> None:
    host, root = functions
    logs: list[tuple[str, str]] = []

    def log(level: str, text: str) -> None:
        logs.append((level, text))

    first = host.run("typed", request("/functions/typed", query={"name": "ada"}), log)
    assert first is not None and first.status == 201
    assert json.loads(first.body) == {"hi": "ADA", "n": 1, "posted": None, "h": "1", "env": "env"}
    assert ("x-made", "yes") in first.headers and (
        "content-type",
        "application/json",
    ) in first.headers
    assert not any(name == "content-length" for name, _ in first.headers)  # the server's to set
    second = host.run("typed", request("/functions/typed", body=b'{"a": [1]}'), log)
    assert second is not None and json.loads(second.body)["n"] == 2
    assert json.loads(second.body)["posted"] == {"a": [1]}
    assert logs == [("log", "typed ran 1"), ("log", "typed ran 2")]

    text = host.run("data/export", request("/functions/data/export"), log)
    assert text is not None and (text.status, text.body) == (200, b"plain text")
    assert ("content-type", "text/plain; charset=utf-8") in text.headers
    assert host.run("missing", request("/functions/missing"), log) is None
    assert find_function(root, "../typed") is None and find_function(root, "") is None

    # Saved: the next request runs the new source, no restart.
    (root / "api" / "data" / "export.js").write_text(
        "export default async () => ({ body: 'v2' });\n"
    )
    again = host.run("data/export", request("/functions/data/export"), log)
    assert again is not None and again.body == b"v2"
    assert not list((root / ".mixpeek" / "build").iterdir())  # each run's module is removed


def test_a_failing_function_answers_500_and_logs_why(functions: tuple[FunctionHost, Path]) -> None:
    host, _ = functions
    logs: list[tuple[str, str]] = []
    boom = host.run("boom", request("/functions/boom"), lambda lv, t: logs.append((lv, t)))
    assert boom is not None and boom.status == 500
    assert "kaboom" not in boom.body.decode()  # the browser sees no message, no stack
    [(level, stack)] = logs
    assert level == "error" and stack.startswith("Error: kaboom")
    assert "api/boom.ts:2" in stack  # the TypeScript line, through the source map
    for name in ("status", "nodefault"):
        failed = host.run(name, request(f"/functions/{name}"), lambda lv, t: None)
        assert failed is not None and failed.status == 500, name
    started = time.monotonic()
    slow = host.run("slow", request("/functions/slow"), lambda lv, t: None)
    assert slow is not None and slow.status == 504
    assert time.monotonic() - started < 5


def test_the_dev_command_comes_from_the_flag_the_project_file_or_the_detected_frontend(
    tmp_path: Path,
) -> None:
    from mixpeek_cli.commands.dev import _dev_command
    from mixpeek_cli.config.frontends import detect_frontend

    (tmp_path / "package.json").write_text(
        '{"scripts": {"dev": "vite", "build": "vite build"}, "devDependencies": {"vite": "5"}}'
    )
    frontend = detect_frontend(tmp_path)
    told: list[str] = []
    assert _dev_command(tmp_path, None, frontend, told.append) == "npm run dev"
    assert told and "no dev_command set: running Vite's `npm run dev`" in told[0]
    assert _dev_command(tmp_path, "pnpm dev", frontend, told.append) == "pnpm dev"
    assert _dev_command(tmp_path, "", frontend, told.append) is None  # serve the files
    (tmp_path / "mixpeek.toml").write_text('dev_command = "yarn dev --host"\n')
    assert _dev_command(tmp_path, None, frontend, told.append) == "yarn dev --host"
    (tmp_path / "mixpeek.toml").write_text('dev_command = ""\n')
    assert _dev_command(tmp_path, None, frontend, told.append) is None
    assert len(told) == 1  # said only when it was detected
