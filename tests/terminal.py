"""Running the CLI on a pseudo-terminal, answering its prompts as a person would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_on_a_terminal(
    env: dict[str, str], answers: list[str], *args: str, cwd: Path | None = None
) -> tuple[int, str]:
    """Run the CLI with stdin and stdout on a pseudo-terminal (stderr a pipe), typing each
    answer once its whole prompt (ending in ": " on stderr) has appeared; its exit code,
    and stderr with the answers typed."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mixpeek_cli", *args],
            cwd=cwd,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=subprocess.PIPE,
            # No controlling terminal: getpass then reads the pty on stdin, not /dev/tty.
            start_new_session=True,
        )
        assert proc.stderr is not None
        seen = b""
        for answer in answers:
            # getpass flushes input typed before its prompt, so wait for the prompt.
            while not seen.endswith(b": "):
                chunk = os.read(proc.stderr.fileno(), 1024)
                if not chunk:
                    break
                seen += chunk
            os.write(master, answer.encode() + b"\n")
            seen += b"\n"
        rest = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    return proc.returncode, (seen + rest).decode()
