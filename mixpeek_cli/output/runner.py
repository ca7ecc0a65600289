"""The one place where failures become a one-line message and an exit code.

Commands hand their work to :func:`run_command`; it owns the stderr console, picks
the reporter, and catches :class:`~mixpeek_cli.errors.MixpeekError`, ``OSError``
and ``KeyboardInterrupt``, so no traceback reaches a user.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, TypeVar

from mixpeek_cli import interrupts
from mixpeek_cli.errors import ExitCode, Interrupted, MixpeekError
from mixpeek_cli.output.reporter import Reporter
from mixpeek_cli.printable import printable, printable_json

if TYPE_CHECKING:
    from mixpeek_cli.output.console import Console

T = TypeVar("T")


def _unchanged(text: str) -> str:
    return text


@dataclass(frozen=True, kw_only=True)
class Output:
    """Where a command writes: stdout for the result, a stderr console for people."""

    json: bool = False
    quiet: bool = False
    verbose: bool = False
    # Whole lines, no colour or control codes even on a terminal (git hooks).
    plain: bool = False
    # Masks the API key, in every form it can be quoted in, out of failure messages and
    # --verbose lines. Commands pass commands.keys.key_redactor: only they can know the
    # key (this room may not import config or service, where keys and scrubbing live).
    redact: Callable[[str], str] = _unchanged

    def console(self) -> Console:
        """rich's console on a terminal; elsewhere (and in hooks) its plain twin, which
        writes the same lines without loading rich."""
        if self.plain or not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
            from mixpeek_cli.output.console import PlainConsole

            return PlainConsole()
        from rich.console import Console as RichConsole

        # highlight=False: never colour numbers or ids inside messages we did not mark up;
        # emoji=False: a ":name:" in a message or a path is text. rich honours NO_COLOR.
        return RichConsole(stderr=True, highlight=False, emoji=False)

    def reporter(self, console: Console) -> Reporter:
        from mixpeek_cli.output.display import make_reporter

        return make_reporter(quiet=self.quiet, console=console)

    def tracer(self, console: Console) -> Callable[[str], None] | None:
        """Where ``--verbose`` HTTP lines go (already redacted by their producers)."""
        if not self.verbose:
            return None

        def trace(line: str) -> None:
            line = printable(self.redact(line))  # its producers redacted it; a second net
            console.print(f"http: {line}", style="dim", markup=False, soft_wrap=True)

        return trace

    def emit(self, data: Any, text: str) -> None:
        """The command's result: ``data`` as one JSON document with --json, else ``text``."""
        self.result(printable_json(data) if self.json else text)

    def result(self, text: str, stream: IO[str] | None = None) -> None:
        out = stream or sys.stdout
        out.write(text if text.endswith("\n") else text + "\n")
        out.flush()


def can_prompt() -> bool:
    """Whether a question may be asked: stdin and stdout are terminals and CI is unset.

    Anywhere else (CI jobs, hooks, pipes) a prompt would hang or eat piped input, so
    commands behave as if ``--yes`` was given and take everything from flags.
    """
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    return sys.stdin.isatty() and sys.stdout.isatty()


def run_command(output: Output, body: Callable[[Console, Reporter], int]) -> int:
    """Run ``body`` and return the exit code for it, rendering any failure on stderr."""
    console = output.console()
    reporter = output.reporter(console)
    handler = interrupts.install()
    try:
        try:
            return body(console, reporter)
        finally:
            reporter.close()
    except KeyboardInterrupt:
        return _fail(output, console, Interrupted("interrupted", hint="run the command again"))
    except MixpeekError as exc:
        return _fail(output, console, exc)
    except OSError as exc:
        # Disk full, a temp dir we cannot write: local trouble the user can fix.
        return _fail(output, console, _local_error(exc))
    finally:
        interrupts.restore(handler)


def _local_error(exc: OSError) -> MixpeekError:
    from mixpeek_cli.errors import UsageError

    where = f" ({exc.filename})" if exc.filename else ""
    return UsageError(f"{exc.strerror or exc}{where}", hint="check the path and free disk space")


def _fail(output: Output, console: Console, exc: MixpeekError) -> int:
    code = int(exc.exit_code)
    # Everything printed here goes through the key's redaction: an exception may quote a
    # header value (httpx does), a server's error body may echo the request.
    message = output.redact(exc.one_line())
    console.print(f"[red]error:[/] {_escape(message)}", highlight=False, soft_wrap=True)
    if output.verbose and exc.__cause__ is not None:
        cause = exc.__cause__
        because = output.redact(str(cause))
        console.print(f"  caused by {type(cause).__name__}: {_escape(because)}", markup=True)
    if output.json:
        payload = {
            "error": message,
            "exit_code": code,
            "deploy_id": exc.deploy_id,
            # True when a deploy (or restore) may exist though its answer was lost.
            "maybe_created": exc.maybe_created,
        }
        # The service's fine-grained error code (ErrorResponse ``error.code``), only when
        # it gave one: the four keys above stay the whole document otherwise.
        code_id = getattr(exc, "code", None)
        if isinstance(code_id, str) and code_id:
            payload["code"] = printable(code_id)
        output.result(json.dumps(payload))
    elif exc.deploy_id:
        output.result(printable(exc.deploy_id))
    return code if code in {int(c) for c in ExitCode} else int(ExitCode.API)


def _escape(text: str) -> str:
    """``text`` for markup, its control characters shown: error messages quote servers."""
    from mixpeek_cli.output.console import escape

    return escape(printable(text))
