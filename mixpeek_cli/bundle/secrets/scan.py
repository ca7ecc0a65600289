"""Scan the files about to ship for credentials that must never leave the machine.

Only high-confidence patterns: a hit stops the deploy, so a false positive costs a user
a blocked deploy. Each pattern is a token format with a fixed prefix or structure; values
that look like placeholders (``sk_xxxxxxxx``, ``...EXAMPLE``, low-entropy runs) are ignored.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mixpeek_cli.errors import UsageError

if TYPE_CHECKING:
    from threading import Event

_O_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0)  # O_BINARY: no newline translation on Windows
# Larger files are data (models, media), not where people paste tokens.
MAX_SCAN_BYTES = 8 * 1024 * 1024
MIN_ENTROPY = 3.0  # bits per character of the random part; real tokens are near 5
# Part of the re-deploy cache's key (mixpeek_cli.bundle.cache): findings kept with a bundle
# made under other rules are not reused, or an unchanged tree scanned before a pattern was
# added would never be scanned for it. Bump it with any change to what the scan finds.
RULES_VERSION = 2


class ScanFile(Protocol):
    """What the scan needs of a file (a bundle.files.BundleFile has it)."""

    @property
    def path(self) -> str: ...

    @property
    def source(self) -> str | os.PathLike[str]: ...

    @property
    def size(self) -> int: ...


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    masked: str

    def describe(self) -> str:
        return f"{self.path}:{self.line} holds {self.kind} ({self.masked})"

    def to_list(self) -> list[str | int]:
        """A JSON-friendly form (it holds no secret: the value is masked)."""
        return [self.path, self.line, self.kind, self.masked]

    @classmethod
    def from_list(cls, raw: list[str | int]) -> Finding:
        path, line, kind, masked = raw
        if not (isinstance(path, str) and isinstance(line, int)):
            raise TypeError("malformed finding")
        return cls(path, line, str(kind), str(masked))


@dataclass(frozen=True)
class _Pattern:
    kind: str
    # What every match contains: a file without it is not searched with the (much slower)
    # regex, and most files are without it, so this is most of the scan's speed. A literal
    # is found with `in` (memchr speed); where several share a stem, one small regex finds
    # any of them in one pass (the six GitHub prefixes as six literals took 3-4x as long).
    gate: bytes | re.Pattern[bytes]
    regex: re.Pattern[bytes]
    prefix_len: int  # characters shown when masking: the token's fixed, public prefix
    # The regex starts with a literal (which lets `re` skip ahead fast, where a leading
    # \b would not); the start-of-word check is then made here instead.
    word_start: bool = False


# A PEM block's line break, as a file holds it: a real one (LF or CRLF), or the two
# characters `\n` of a key inside a JSON string or a quoted dotenv value (a Google service
# account's `serviceAccountKey.json`, `PRIVATE_KEY="-----BEGIN…\n…"`), `\\n` once more
# escaped (JSON inside a JSON string), or none at all (newlines stripped on pasting).
_PEM_BREAK = rb"(?:[ \t]*(?:\r?\n|(?:\\+r)?\\+n))*[ \t]*"
_PRIVATE_KEY = re.compile(
    rb"(?P<shown>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)"
    # Header lines (`Proc-Type: 4,ENCRYPTED`, PGP's `Version: …`), then the base64 body;
    # `\/` is a slash as PHP's json_encode writes it.
    rb"(?:"
    + _PEM_BREAK
    + rb"[A-Za-z][A-Za-z0-9-]*: [^\r\n\\]*)*"
    + _PEM_BREAK
    + rb"(?P<body>(?:[A-Za-z0-9+/=]|\\/){40,})"
)

_PATTERNS = (
    _Pattern("a private key block", b"PRIVATE KEY", _PRIVATE_KEY, len("-----BEGIN ")),
    _Pattern(
        "a Stripe live key",
        b"k_live_",
        re.compile(rb"\b[rs]k_live_[A-Za-z0-9]{20,}\b"),
        len("sk_live_"),
    ),
    _Pattern(
        "a GitHub token",
        re.compile(rb"gh[pousr]_|github_pat_"),
        re.compile(rb"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b"),
        4,
    ),
    _Pattern(
        "a Slack token",
        b"xox",  # one cheap literal; the regex then checks the token's letter and dash
        re.compile(rb"xox[abposr]-[0-9A-Za-z-]{20,}"),
        5,
        word_start=True,
    ),
    _Pattern(
        "a Slack webhook URL",
        b"hooks.slack.com/services/",
        re.compile(rb"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,}"),
        len("https://hooks.slack.com/services/"),
    ),
    _Pattern(
        "a Mixpeek API key",
        b"sk_",
        re.compile(rb"sk_(?!live_)[A-Za-z0-9]{24,}(?![A-Za-z0-9_])"),
        3,
        word_start=True,
    ),
)
_AWS_GATE = re.compile(rb"A[KS]IA")
_AWS_KEY_ID = re.compile(rb"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
_AWS_SECRET = re.compile(
    rb"(?i)aws.{0,20}?secret.{0,20}?[=:]\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)


_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _passes(data: bytes, gate: bytes | re.Pattern[bytes]) -> bool:
    return gate in data if isinstance(gate, bytes) else gate.search(data) is not None


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _is_placeholder(value: str) -> bool:
    lowered = value.lower()
    if any(word in lowered for word in ("example", "xxxx", "your", "dummy", "placeholder")):
        return True
    body = re.sub(r"^[a-z]+_(?:live_|test_)?", "", value, flags=re.I)
    return len(body) < 16 or _entropy(body) < MIN_ENTROPY or not re.search(r"\d", body)


def _mask(value: str, shown: int) -> str:
    return f"{value[:shown]}{'*' * 8}, {len(value)} characters"


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


# A NUL in a file's first bytes makes it binary (an image, an archive): not scanned.
BINARY_PROBE = 8192


def scan_bytes(path: str, data: bytes) -> Iterator[Finding]:
    """Findings in one file's content."""
    if b"\0" in data[:BINARY_PROBE]:
        return
    for pattern in _PATTERNS:
        if not _passes(data, pattern.gate):
            continue
        for match in pattern.regex.finditer(data):
            if pattern.word_start and match.start() and data[match.start() - 1] in _WORD:
                continue
            value = match.group(0).decode("ascii", "replace")
            if pattern.regex is _PRIVATE_KEY:
                # Not the word tests: a long random body holds "your" or "xxxx" by chance.
                if _entropy(match.group("body").decode("ascii")) < MIN_ENTROPY:
                    continue  # `AAAA…` or `XXXX…`: a placeholder
                value = match.group("shown").decode("ascii")
            elif _is_placeholder(value):
                continue
            yield Finding(
                path, _line_of(data, match.start()), pattern.kind, _mask(value, pattern.prefix_len)
            )
    if not _passes(data, _AWS_GATE):
        return
    key_ids = [m for m in _AWS_KEY_ID.finditer(data) if b"EXAMPLE" not in m.group(0)]
    secrets = [m for m in _AWS_SECRET.finditer(data) if not _is_placeholder_aws(m.group(1))]
    # A key id alone identifies, it does not authenticate; the pair is what leaks access.
    if key_ids and secrets:
        value = secrets[0].group(1).decode("ascii")
        yield Finding(
            path, _line_of(data, secrets[0].start(1)), "an AWS secret access key", _mask(value, 0)
        )


def _is_placeholder_aws(value: bytes) -> bool:
    text = value.decode("ascii", "replace")
    return "EXAMPLE" in text or _entropy(text) < 4.0


def scan_files(files: Sequence[ScanFile], stop: Event | None = None) -> list[Finding]:
    """Findings in ``files``; stops early (returning what it has) once ``stop`` is set."""
    findings: list[Finding] = []
    for file in files:
        if stop is not None and stop.is_set():
            break
        if file.size > MAX_SCAN_BYTES:
            continue
        try:
            data = _read_text(file)
        except OSError as exc:
            raise UsageError(
                f"cannot read {file.path}: {exc.strerror or exc}",
                hint="fix its permissions or add it to .mixpeekignore",
            ) from exc
        if data is not None:
            findings.extend(scan_bytes(file.path, data))
    return findings


def _read_text(file: ScanFile) -> bytes | None:
    """The file's bytes; None for a binary one, of which only the first bytes are read
    (images and media are most of a site's bytes: the scan need not read them)."""
    # A descriptor read, not a file object: for thousands of small files the object cost
    # as much as the read (one read of size + 1 also sees a file that grew).
    fd = os.open(file.source, _O_READ)
    try:
        data = os.read(fd, min(file.size + 1, BINARY_PROBE))
        if len(data) <= file.size and len(data) < BINARY_PROBE:
            return data  # all of it (or a file that shrank: scanned as it is now)
        if b"\0" in data:
            return None
        parts = [data]
        while block := os.read(fd, 1024 * 1024):
            parts.append(block)
        return b"".join(parts)
    finally:
        os.close(fd)


def refuse_on_findings(findings: Sequence[Finding]) -> None:
    if not findings:
        return
    first = findings[0]
    more = f" and {len(findings) - 1} more" if len(findings) > 1 else ""
    raise UsageError(
        f"refusing to upload: {first.describe()}{more}",
        hint=(
            f"remove it, add {first.path} to .mixpeekignore, "
            f"or pass --include-secret {first.path} if it is meant to ship"
        ),
    )
