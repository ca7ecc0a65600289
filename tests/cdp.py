"""A small Chrome DevTools Protocol client: Debian's chromium, headless, driven from a test.

Only what a test of a page needs: open a tab, go to a URL and wait for its load, read a
value the page's script computed, click an element where a person would (real mouse
events at its centre, not ``element.click()``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


class Browser:
    def __init__(self, program: str, profile: Path) -> None:
        self._proc = subprocess.Popen(
            [
                program,
                "--headless=new",
                "--no-sandbox",  # as root (CI) chromium refuses to start otherwise
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--no-proxy-server",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # With port 0 chromium says which port it took in this file of its profile.
        marker = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (marker.is_file() and marker.read_text().count("\n") >= 1):
            assert self._proc.poll() is None, "chromium ended at start"
            assert time.monotonic() < deadline, "chromium gave no DevTools port"
            time.sleep(0.05)
        self.http = f"http://127.0.0.1:{marker.read_text().split()[0]}"

    def new_page(self) -> Page:
        target = httpx.put(f"{self.http}/json/new?about:blank", timeout=10).json()
        return Page(target["webSocketDebuggerUrl"])

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


class Page:
    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect

        self._connection = connect(url, max_size=None, open_timeout=10)
        self._socket = self._connection.__enter__()
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=30))
            if message.get("id") == ident:
                assert "error" not in message, (method, message["error"])
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def _event(self, name: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == name:
                    self.events.remove(event)
                    return event
            left = deadline - time.monotonic()
            assert left > 0, f"no {name} event"
            self.events.append(json.loads(self._socket.recv(timeout=left)))

    def goto(self, url: str) -> None:
        self.events.clear()
        navigated = self.call("Page.navigate", url=url)
        assert "errorText" not in navigated, navigated
        self._event("Page.loadEventFired", 30)

    def value(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20) -> Any:
        """The value of ``expression`` once it is truthy."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.value(expression)
            if found:
                return found
            assert time.monotonic() < deadline, f"never true: {expression}"
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        box = self.value(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        x, y = box
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def close(self) -> None:
        self._connection.__exit__(None, None, None)
