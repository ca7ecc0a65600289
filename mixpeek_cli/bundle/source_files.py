"""Pick the bundle's text files whose contents are sent inline with a deploy.

Only UTF-8 text without NUL bytes is sent, each file at most
:data:`MAX_FILE_BYTES`, and files are taken in bundle order until the total content
would pass :data:`MAX_TOTAL_BYTES`; from then on every file is left out. Sizes are
bytes of the UTF-8 content.

A deploy takes them through :func:`sources_for`, which keeps the encoded selection with
a cached bundle: an unchanged tree then neither reads the files again nor re-encodes
megabytes of JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mixpeek_cli.bundle.files import BundleFile
from mixpeek_cli.errors import UsageError

if TYPE_CHECKING:
    from mixpeek_cli.bundle.build import Bundle

MAX_FILE_BYTES = 262_144
MAX_TOTAL_BYTES = 4_194_304


@dataclass
class SourceFiles:
    """The selected contents and counts of what was left out, and why."""

    files: dict[str, str] = field(default_factory=dict)  # bundle path -> content, bundle order
    skipped_binary: int = 0
    skipped_large: int = 0
    skipped_budget: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(len(text.encode("utf-8")) for text in self.files.values())

    def encode(self) -> EncodedSources:
        return EncodedSources(
            json=json.dumps(self.files, separators=(",", ":")).encode("ascii"),
            count=len(self.files),
            skipped=self.skipped_binary + self.skipped_large + self.skipped_budget,
        )


@dataclass(frozen=True)
class EncodedSources:
    """The selection as the deploy body carries it: a JSON object of path -> content."""

    json: bytes
    count: int
    skipped: int

    def to_bytes(self) -> bytes:
        return json.dumps([self.count, self.skipped]).encode("ascii") + b"\n" + self.json

    @classmethod
    def from_bytes(cls, data: bytes) -> EncodedSources | None:
        header, _, body = data.partition(b"\n")
        try:
            count, skipped = json.loads(header)
        except (ValueError, TypeError):
            return None
        if not (isinstance(count, int) and isinstance(skipped, int)):
            return None
        return cls(json=body, count=count, skipped=skipped)


# Names the rules in its key: other limits make other selections.
EXTRA_NAME = f"source-files-{MAX_FILE_BYTES}-{MAX_TOTAL_BYTES}.json"


def sources_for(bundle: Bundle) -> EncodedSources:
    """The inline source files of ``bundle``, encoded; kept with a cached bundle."""
    kept = bundle.cached_extra(EXTRA_NAME)
    if kept is not None:
        cached = EncodedSources.from_bytes(kept)
        if cached is not None:
            return cached
    encoded = select_source_files(bundle.files).encode()
    bundle.keep_extra(EXTRA_NAME, encoded.to_bytes())
    return encoded


def _read_limited(file: BundleFile) -> bytes:
    try:
        with open(file.source, "rb") as fh:
            # One byte past the limit tells a file that grew since it was listed.
            return fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(
            f"cannot read {file.path}: {exc.strerror or exc}",
            hint="fix its permissions or add it to .mixpeekignore",
        ) from exc


def select_source_files(files: Sequence[BundleFile]) -> SourceFiles:
    """Select the inline source files from ``files`` (already in bundle order)."""
    result = SourceFiles()
    total = 0
    for index, file in enumerate(files):
        if file.size > MAX_FILE_BYTES:
            result.skipped_large += 1
            continue
        data = _read_limited(file)
        if len(data) > MAX_FILE_BYTES:
            result.skipped_large += 1
            continue
        if b"\0" in data:
            result.skipped_binary += 1
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            result.skipped_binary += 1
            continue
        if total + len(data) > MAX_TOTAL_BYTES:
            result.skipped_budget += len(files) - index
            break
        total += len(data)
        result.files[file.path] = text
    return result
