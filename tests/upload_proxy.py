"""A small HTTP/1.1 proxy on loopback, in front of moto, that breaks S3 requests on purpose.

The faults a real network and a real store produce and moto does not: a connection cut
mid-body, a 500 on one part, a flipped byte, a rewritten ETag, a slow link. Rules match
a method and a regex searched in ``path?query``; each use of a rule is logged.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOP_HEADERS = {"host", "expect", "transfer-encoding", "content-length", "connection"}


@dataclass
class Rule:
    method: str
    pattern: re.Pattern[str]
    action: str  # drop | status | corrupt | etag | slow
    times: int | None
    params: dict[str, Any]


@dataclass
class Entry:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body_bytes: int
    action: str | None
    status: int | None = None


@dataclass
class S3Proxy:
    upstream: str
    rules: list[Rule] = field(default_factory=list)
    log: list[Entry] = field(default_factory=list)
    slow_rate: float | None = None  # bytes/s for "slow" rules; None: full speed
    slow_started: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        up = urlsplit(self.upstream)
        self._up = (up.hostname or "127.0.0.1", up.port or 80)
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    # -- control ---------------------------------------------------------------------------

    def add(self, method: str, pattern: str, action: str, times: int | None = 1, **params: Any):
        with self._lock:
            self.rules.append(Rule(method.upper(), re.compile(pattern), action, times, params))

    def requests(self, method: str | None = None, pattern: str = "") -> list[Entry]:
        with self._lock:
            return [
                e
                for e in self.log
                if (method is None or e.method == method)
                and re.search(
                    pattern, e.path + "?" + "&".join(f"{k}={v}" for k, v in e.query.items())
                )
            ]

    def close(self) -> None:
        self._stopped = True
        self._sock.close()

    def __enter__(self) -> S3Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- serving ---------------------------------------------------------------------------

    def _take(self, method: str, target: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.method in ("*", method) and rule.pattern.search(target):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self.rules.remove(rule)
                    return rule
            return None

    def _accept(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        rfile = conn.makefile("rb")
        try:
            while self._one(conn, rfile):
                pass
        except (OSError, ValueError):
            pass
        finally:
            rfile.close()
            conn.close()

    def _one(self, conn: socket.socket, rfile: Any) -> bool:
        line = rfile.readline()
        if not line.strip():
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: list[tuple[str, str]] = []
        while (raw := rfile.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = raw.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        lower = {k.lower(): v for k, v in headers}
        rule = self._take(method, target)
        parts = urlsplit(target)
        entry = Entry(
            method,
            parts.path,
            {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
            lower,
            0,
            rule.action if rule else None,
        )
        with self._lock:
            self.log.append(entry)
        if "100-continue" in lower.get("expect", "").lower():
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        length = int(lower.get("content-length") or 0)
        chunked = "chunked" in lower.get("transfer-encoding", "").lower()
        if rule is not None and rule.action == "drop":
            # Take part of the body, then vanish: the client sees a reset or a closed socket.
            entry.body_bytes = len(rfile.read(min(length, rule.params.get("after", length // 2))))
            conn.shutdown(socket.SHUT_RDWR)
            return False
        slow = rule is not None and rule.action == "slow"
        body = self._read_body(rfile, length, chunked, slow)
        entry.body_bytes = len(body)
        if rule is not None and rule.action == "status":
            code = rule.params.get("code", "InternalError")
            xml = (
                f"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>{code}</Code>"
                f"<Message>{rule.params.get('message', 'injected by the test proxy')}</Message>"
                "</Error>"
            ).encode()
            status = rule.params.get("status", 500)
            entry.status = status
            conn.sendall(
                f"HTTP/1.1 {status} Injected\r\nContent-Type: application/xml\r\n"
                f"Content-Length: {len(xml)}\r\n\r\n".encode()
                + xml
            )
            return True
        if rule is not None and rule.action == "corrupt" and body:
            middle = len(body) // 2
            body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
        upstream = http.client.HTTPConnection(*self._up, timeout=60)
        try:
            forward = {k: v for k, v in headers if k.lower() not in HOP_HEADERS}
            forward["Host"] = f"{self._up[0]}:{self._up[1]}"
            forward["Content-Length"] = str(len(body))
            upstream.request(method, target, body=body, headers=forward)
            response = upstream.getresponse()
            data = response.read()
            out = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_HEADERS]
            status = response.status
        finally:
            upstream.close()
        entry.status = status
        if rule is not None and rule.action == "etag":
            out = [(k, v) for k, v in out if k.lower() != "etag"] + [("ETag", rule.params["etag"])]
        if method == "HEAD":
            length_header = response.getheader("Content-Length", "0")
        else:
            length_header = str(len(data))
        head = f"HTTP/1.1 {status} {response.reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in out)
        head += f"Content-Length: {length_header}\r\n\r\n"
        conn.sendall(head.encode("latin-1") + (b"" if method == "HEAD" else data))
        return lower.get("connection", "").lower() != "close"

    def _read_body(self, rfile: Any, length: int, chunked: bool, slow: bool) -> bytes:
        if chunked:
            pieces = []
            while True:
                size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(pieces)
                pieces.append(rfile.read(size))
                rfile.readline()
        if not slow:
            return rfile.read(length) if length else b""
        self.slow_started.set()
        pieces, remaining = [], length
        while remaining:
            piece = rfile.read(min(remaining, 64 * 1024))
            if not piece:
                break
            pieces.append(piece)
            remaining -= len(piece)
            rate = self.slow_rate
            if rate:
                time.sleep(len(piece) / rate)
        return b"".join(pieces)
