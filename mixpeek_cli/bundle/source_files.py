"""Pick the project's text files whose contents are sent inline with a deploy (``source_files``).

They come from the project's source: the files under PATH that the ignore rules and the
secret guard keep, never the build output. Files under ``api/`` are Canvas server
functions (``api/hello.ts`` serves ``/functions/hello``): they go first, in path order,
and are never dropped; if they alone pass a limit the deploy stops, since dropping one
would break the app. Then the rest, in bundle order: only UTF-8 text without NUL bytes,
each file at most :data:`MAX_FILE_BYTES`, until the total content would pass
:data:`MAX_TOTAL_BYTES`; from then on every file is left out. Sizes are bytes of the
UTF-8 content.

A deploy of PATH itself takes them through :func:`sources_for`, which keeps the encoded
selection with a cached bundle: an unchanged tree then neither reads the files again nor
re-encodes megabytes of JSON. A deploy of an output directory walks PATH for them
(:func:`sources_of_project`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mixpeek_cli.bundle.files import BundleFile
from mixpeek_cli.errors import UsageError

if TYPE_CHECKING:
    from mixpeek_cli.bundle.build import Bundle
    from mixpeek_cli.output.reporter import Reporter

# The secret guard as a whole (select, scan, judge): SecretGuard.__call__.
SourceGuard = Callable[[list[BundleFile]], list[BundleFile]]

MAX_FILE_BYTES = 262_144
MAX_TOTAL_BYTES = 4_194_304
FUNCTIONS_DIR = "api/"


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
            left_out=(self.skipped_binary, self.skipped_large, self.skipped_budget),
        )


@dataclass(frozen=True)
class EncodedSources:
    """The selection as the deploy body carries it: a JSON object of path -> content."""

    json: bytes | memoryview  # a view of the bytes the cache read back, not a copy
    count: int
    left_out: tuple[int, int, int]  # binary, too large, over the total budget

    @property
    def skipped(self) -> int:
        return sum(self.left_out)

    def left_out_json(self) -> dict[str, int]:
        binary, large, budget = self.left_out
        return {"binary": binary, "too_large": large, "over_budget": budget}

    def to_bytes(self) -> bytes:
        return json.dumps([self.count, *self.left_out]).encode("ascii") + b"\n" + self.json

    @classmethod
    def from_bytes(cls, data: bytes) -> EncodedSources | None:
        end = data.find(b"\n")
        if end < 0:
            return None
        try:
            count, binary, large, budget = json.loads(data[:end])
        except (ValueError, TypeError):
            return None
        if not all(isinstance(n, int) for n in (count, binary, large, budget)):
            return None
        body = memoryview(data)[end + 1 :]
        return cls(json=body, count=count, left_out=(binary, large, budget))


# Names the rules in its key: other limits, or another selection rule, make other selections.
EXTRA_NAME = f"source-files-2-{MAX_FILE_BYTES}-{MAX_TOTAL_BYTES}.json"


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
    functions = [f for f in files if f.path.startswith(FUNCTIONS_DIR)]
    total = _take_functions(functions, result)
    rest = [f for f in files if not f.path.startswith(FUNCTIONS_DIR)]
    for index, file in enumerate(rest):
        text = _text_of(file, result)
        if text is None:
            continue
        size = len(text.encode("utf-8"))
        if total + size > MAX_TOTAL_BYTES:
            result.skipped_budget += len(rest) - index
            break
        total += size
        result.files[file.path] = text
    return result


def _take_functions(functions: Sequence[BundleFile], result: SourceFiles) -> int:
    """Add every text file under api/ to ``result``; their total size."""
    total = 0
    for file in functions:
        if file.size > MAX_FILE_BYTES:
            raise UsageError(
                f"the server function {file.path} is {file.size} bytes, over the "
                f"{MAX_FILE_BYTES}-byte limit for a source file; left out, the app would "
                "break",
                hint="split it, or move what is not function code out of api/",
            )
        text = _text_of(file, result)
        if text is None:
            continue  # binary: not function source
        total += len(text.encode("utf-8"))
        result.files[file.path] = text
    if total > MAX_TOTAL_BYTES:
        raise UsageError(
            f"the server functions under api/ hold {total} bytes of source, over the "
            f"{MAX_TOTAL_BYTES}-byte limit of source_files; left out, the app would break",
            hint="move what is not function code out of api/",
        )
    return total


def _text_of(file: BundleFile, result: SourceFiles) -> str | None:
    """The file's text, or None (counted in ``result``) when it is too large or binary."""
    if file.size > MAX_FILE_BYTES:
        result.skipped_large += 1
        return None
    data = _read_limited(file)
    if len(data) > MAX_FILE_BYTES:
        result.skipped_large += 1
        return None
    if b"\0" in data:
        result.skipped_binary += 1
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        result.skipped_binary += 1
        return None


def sources_of_project(
    project: Path, output_dir: str, guard: SourceGuard, reporter: Reporter
) -> EncodedSources:
    """The source files of ``project`` when an output directory of it is what ships.

    PATH is walked with its own rules (git's included, so ``dist/`` and ``node_modules/``
    stay out), the output directory is left out, and the secret guard judges the rest:
    these contents go to Mixpeek too.
    """
    from mixpeek_cli.bundle.cache import BundleCache
    from mixpeek_cli.bundle.walk import collect_files
    from mixpeek_cli.bundle.walk_cache import WalkCache

    cache = WalkCache(BundleCache(Path(os.path.realpath(project))).dir, project)
    inside = output_dir.rstrip("/") + "/"
    files = collect_files(project, reporter, cache=cache)
    files = [f for f in files if not f.path.startswith(inside)]
    return select_source_files(guard(files)).encode()
