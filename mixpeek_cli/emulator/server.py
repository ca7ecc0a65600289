"""Run the emulator: moto's S3 server and the FastAPI app, each on its own loopback thread."""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

import uvicorn
from botocore.exceptions import BotoCoreError, ClientError

from mixpeek_cli.emulator import storage
from mixpeek_cli.emulator.app import create_app
from mixpeek_cli.emulator.s3_server import GatedMotoServer, GateHooks
from mixpeek_cli.emulator.state import EmulatorConfig, EmulatorState

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def _url_host(host: str) -> str:
    """The host to put in URLs: a wildcard address is reached through loopback."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Emulator:
    """A running emulator; use as a context manager or call ``start()`` / ``stop()``.

    ``port=0`` and ``s3_port=0`` pick free ports; read the result from ``base_url`` and
    ``s3_endpoint_url``. Each instance has its own state and its own S3 bucket.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        s3_port: int = 0,
        build_seconds: float = 2.0,
        *,
        s3_host: str = "127.0.0.1",
        fail_builds_with: str | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._s3_host = s3_host
        self._s3_port = s3_port
        self._startup_timeout = startup_timeout
        self._config = EmulatorConfig(
            build_seconds=build_seconds, fail_builds_with=fail_builds_with
        )
        self._moto: GatedMotoServer | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._state: EmulatorState | None = None
        self._s3: S3Client | None = None
        self._base_url = ""
        self._s3_endpoint_url = ""
        self._bucket = f"mixpeek-emulator-{secrets.token_hex(6)}"

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._thread is not None:
            raise RuntimeError("emulator already started")
        try:
            self._start_s3()
            self._start_api()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_s3(self) -> None:
        # werkzeug (under moto) logs every request at INFO to stderr unless told otherwise.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._moto = GatedMotoServer(self._s3_host, self._s3_port, self._gate_hooks)
        self._moto.start()
        _, port = self._moto.get_host_and_port()
        self._s3_endpoint_url = f"http://{_url_host(self._s3_host)}:{port}"
        self._s3 = storage.make_s3_client(self._s3_endpoint_url)
        self._s3.create_bucket(Bucket=self._bucket)
        self._state = EmulatorState(self._bucket, self._s3_endpoint_url, self._config)

    def _gate_hooks(self) -> GateHooks | None:
        # None until the bucket exists: the emulator's own set-up calls go unrecorded.
        return self._state

    def _start_api(self) -> None:
        assert self._state is not None and self._s3 is not None
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        # Binding here, not in uvicorn, is what makes port 0 usable: we learn the port
        # before the server thread starts and nobody can take it in between.
        # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY on an accepted connection
        # only when its socket says IPPROTO_TCP. Without it every answer after the first on a
        # kept-alive connection came about 40 ms late: uvicorn sends the head and the body in
        # two writes, and Nagle held the body until the client's delayed ACK of the head.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError:
            sock.close()
            raise
        port = sock.getsockname()[1]
        self._base_url = f"http://{_url_host(self._host)}:{port}"
        self._state.api_base_url = self._base_url
        config = uvicorn.Config(
            create_app(self._state, self._s3),
            log_level="warning",
            log_config=None,  # leave the host program's logging configuration alone
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name="mixpeek-emulator",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("emulator API server failed to start")
            if time.monotonic() > deadline:
                raise RuntimeError("emulator API server did not start in time")
            time.sleep(0.01)

    def stop(self) -> None:
        """Shut both servers down; safe to call more than once."""
        if self._state is not None:
            self._state.stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._s3 is not None:
            # Best effort: moto is going away anyway.
            with contextlib.suppress(ClientError, BotoCoreError):
                storage.empty_and_delete_bucket(self._s3, self._bucket)
            self._s3 = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if self._state is not None:
            # The published sites live in memory: let them go with the server.
            self._state.sites.clear()
            for close in self._state.on_stop:
                close()
            self._state.on_stop.clear()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server stops (or ``timeout`` passes); True if it stopped.

        Joins in short slices so Ctrl-C reaches the caller promptly.
        """
        if self._thread is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._thread.is_alive():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._thread.join(timeout=0.2)
        return True

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what clients need --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def s3_endpoint_url(self) -> str:
        return self._s3_endpoint_url

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def state(self) -> EmulatorState:
        if self._state is None:
            raise RuntimeError("emulator not started")
        return self._state

    def s3_client(self) -> S3Client:
        """A fresh boto3 S3 client for this emulator's moto server (dummy credentials)."""
        if not self._s3_endpoint_url:
            raise RuntimeError("emulator not started")
        return storage.make_s3_client(self._s3_endpoint_url)


def start_emulator(
    host: str = "127.0.0.1",
    port: int = 0,
    s3_port: int = 0,
    build_seconds: float = 2.0,
    *,
    s3_host: str = "127.0.0.1",
    fail_builds_with: str | None = None,
    startup_timeout: float = 10.0,
) -> Emulator:
    """Start an emulator and return its handle; call ``.stop()`` when done."""
    return Emulator(
        host,
        port,
        s3_port,
        build_seconds,
        s3_host=s3_host,
        fail_builds_with=fail_builds_with,
        startup_timeout=startup_timeout,
    ).start()
