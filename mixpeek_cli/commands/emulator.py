"""`mixpeek emulator`: serve the Mixpeek deploy API and S3 on loopback until Ctrl-C."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from mixpeek_cli.commands.layer import Run, command


@command(json_only=True)
def emulator(
    run: Run,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="API port (0 = any free port).")] = 8787,
    s3_port: Annotated[int, typer.Option("--s3-port", help="S3 port (0 = any free port).")] = 0,
    build_seconds: Annotated[
        float, typer.Option("--build-seconds", help="How long each build takes.")
    ] = 2.0,
) -> int:
    from mixpeek_cli.errors import UsageError

    try:
        from mixpeek_cli.emulator import start_emulator
    except ImportError as exc:
        raise UsageError(
            f"the emulator's packages are not installed ({exc.name} is missing)",
            hint="pip install 'mixpeek-cli[emulator]'",
        ) from None
    handle = start_emulator(host=host, port=port, s3_port=s3_port, build_seconds=build_seconds)
    try:
        # One line, printed once the servers listen: a script reads it and goes on.
        urls = {"base_url": handle.base_url, "s3_endpoint_url": handle.s3_endpoint_url}
        run.output.emit(urls, handle.base_url)
        run.console.print(
            f"Mixpeek emulator on {handle.base_url} (S3 on {handle.s3_endpoint_url}).\n"
            f"Use it with:\n  export MIXPEEK_BASE_URL={handle.base_url}\n"
            "  export MIXPEEK_API_KEY=any-non-empty-key MIXPEEK_APP_ID=my-app\n"
            "Press Ctrl-C to stop.",
            markup=False,
        )
        threading.Event().wait()
    except KeyboardInterrupt:
        run.console.print("emulator stopped", markup=False)
    finally:
        handle.stop()
    return 0
