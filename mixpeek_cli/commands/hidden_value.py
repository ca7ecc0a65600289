"""Values that are never shown: a secret, or the env var ``MIXPEEK_API_KEY``.

Such a value comes from a prompt that does not echo it (on a terminal) or from stdin
(anywhere else), never from the command line, where `ps` and the shell's history would
keep it. Once read, no failure may quote it: :func:`never_shown` masks it in the message
of any error raised while it is in use (a server may echo a request in its answer).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

# Far above any key or token; a bigger stdin is a file piped by mistake.
MAX_VALUE_BYTES = 64 << 10
# Below this a value is too common a string to mask everywhere (it would garble messages).
SHORTEST_MASKED = 3


def read_hidden_value(name: str) -> str:
    """The value for ``name``: prompted for without echo on a terminal, else all of stdin
    (one trailing newline dropped, as ``echo`` and here-strings add one)."""
    import typer

    from mixpeek_cli.errors import UsageError

    if sys.stdin.isatty():
        value: str = typer.prompt(f"Value of {name} (not shown)", hide_input=True, err=True)
    else:
        value = sys.stdin.read(MAX_VALUE_BYTES + 1)
        if len(value.encode("utf-8", "surrogatepass")) > MAX_VALUE_BYTES:
            raise UsageError(f"the value for {name} on stdin is over {MAX_VALUE_BYTES >> 10} KiB")
        if value.endswith("\n"):
            value = value[:-2] if value.endswith("\r\n") else value[:-1]
    if not value:
        raise UsageError(
            f"no value for {name}",
            hint='type it at the prompt, or give it on stdin: printf %s "$VALUE" | mixpeek ...',
        )
    return value


@contextmanager
def never_shown(value: str) -> Iterator[None]:
    """Mask ``value`` in any :class:`MixpeekError` raised inside the block."""
    from mixpeek_cli.errors import MixpeekError
    from mixpeek_cli.service.redact import scrub

    def mask(text: str) -> str:
        # scrub finds the encoded forms of values of 8 characters or more; a shorter one
        # (a weak secret, still a secret) is masked where it stands as written.
        text = scrub(text, value)
        return text.replace(value, "***") if len(value) >= SHORTEST_MASKED else text

    try:
        yield
    except MixpeekError as exc:
        exc.message = mask(exc.message)
        exc.hint = mask(exc.hint) if exc.hint else exc.hint
        raise exc from None
