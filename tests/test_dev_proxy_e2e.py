"""`mixpeek dev` in front of a dev command: a Vite-shaped project (vite in its package.json,
`npm run dev` as init writes it) whose dev server is a small Node program speaking HTTP and
Vite's hot-reload WebSocket. The port flags reach it, pages are proxied with
window.__MIXPEEK__, the WebSocket upgrade goes through, and Ctrl-C leaves no process."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from runtime_support import DevRun, process_gone, start_dev

# Shaped like Vite's dev server: `--port N --strictPort`, pages, and a WebSocket that speaks
# the "vite-hmr" subprotocol: it says {"type":"connected"}, then answers each text message.
SERVER = r"""
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";

const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
writeFileSync("server.pid", String(process.pid));
const server = createServer((req, res) => {
  if (req.url.startsWith("/echo")) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ url: req.url, method: req.method, host: req.headers.host,
      strictPort: process.argv.includes("--strictPort"), PORT: process.env.PORT, port }));
    return;
  }
  res.writeHead(200, { "content-type": "text/html" });
  res.end("<!doctype html><html><head><title>vite</title></head>" +
    "<body>from the dev command</body></html>");
});
const frame = (text) => {
  const data = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, data.length]), data]); // short text frames only
};
server.on("upgrade", (req, socket) => {
  const accept = createHash("sha1")
    .update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
    .digest("base64");
  socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: vite-hmr\r\n\r\n`);
  socket.write(frame(JSON.stringify({ type: "connected", path: req.url })));
  socket.on("data", (buffer) => {
    if ((buffer[0] & 0x0f) === 0x8) { socket.end(Buffer.from([0x88, 0])); return; }
    const length = buffer[1] & 0x7f;
    const mask = buffer.subarray(2, 6);
    const payload = Buffer.from(buffer.subarray(6, 6 + length).map((b, i) => b ^ mask[i % 4]));
    socket.write(frame(`update:${payload}`));
  });
});
server.listen(port, "localhost", () => console.log(`  VITE ready on port ${port}`));
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vite") / "app"
    root.mkdir()
    package = {
        "name": "vite-shaped",
        "private": True,
        "scripts": {"dev": "node server.mjs", "build": "node server.mjs --build"},
        "devDependencies": {"vite": "5"},
    }
    (root / "package.json").write_text(json.dumps(package))
    (root / "server.mjs").write_text(SERVER)
    (root / "index.html").write_text("<!doctype html><title>src</title>\n")
    (root / "api").mkdir()
    (root / "api" / "ping.ts").write_text(
        "export default async () => ({ body: { pong: true } });\n"
    )
    # No dev_command: the detected Vite project's own (`npm run dev`) is run, and said.
    (root / "mixpeek.toml").write_text('app_id = "vite-app"\n')
    return root


@pytest.fixture(scope="module")
def dev(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevRun]:
    if shutil.which("npm") is None:
        pytest.fail("npm is needed (it comes with Node.js; .ci/run installs it)")
    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIXPEEK_")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), NO_COLOR="1")
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    run = start_dev([str(project), "--port", "0", "--offline"], env)
    yield run
    run.stop()


def test_the_dev_command_gets_its_port_and_pages_come_through_with_window_mixpeek(
    dev: DevRun, project: Path
) -> None:
    echo = httpx.get(dev.url + "/echo?q=1", timeout=30).json()
    assert echo["url"] == "/echo?q=1" and echo["strictPort"] is True
    assert echo["PORT"] == str(echo["port"])  # the port, as PORT and as Vite's flag
    assert echo["host"] == dev.url.removeprefix("http://")  # the browser's Host, kept
    page = httpx.get(dev.url + "/", timeout=30)
    assert "from the dev command" in page.text
    assert '"environment": "development"' in page.text and '"appId": "vite-app"' in page.text
    assert page.text.index("__MIXPEEK__") < page.text.index("<title>")
    assert httpx.get(dev.url + "/functions/ping", timeout=30).json() == {"pong": True}
    dev.err.wait_for("[dev]   VITE ready on port")
    dev.err.wait_for("no dev_command set: running Vite's `npm run dev`")
    dev.err.wait_for("starting the dev command: npm run dev -- --port")


def test_the_hot_reload_websocket_goes_through_the_proxy(dev: DevRun) -> None:
    from websockets.sync.client import connect

    url = dev.url.replace("http://", "ws://") + "/?token=abc"
    with connect(url, subprotocols=["vite-hmr"], open_timeout=10) as socket:  # type: ignore[list-item]
        assert socket.subprotocol == "vite-hmr"
        assert json.loads(socket.recv(timeout=10)) == {"type": "connected", "path": "/?token=abc"}
        socket.send("saved src/main.js")
        assert socket.recv(timeout=10) == "update:saved src/main.js"


def test_ctrl_c_leaves_no_process_behind(dev: DevRun, project: Path) -> None:
    server_pid = int((project / "server.pid").read_text())
    assert not process_gone(server_pid)
    code, stderr = dev.stop()
    assert code == 0 and "mixpeek dev stopped" in stderr, stderr
    deadline = time.monotonic() + 10
    while not process_gone(server_pid):  # npm, the shell and node: the whole group
        assert time.monotonic() < deadline, "the dev command's server outlived mixpeek dev"
        time.sleep(0.05)
    leftovers = [
        pid
        for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
        if not process_gone(pid) and _cwd(pid) == project
    ]
    assert leftovers == []


def _cwd(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None
