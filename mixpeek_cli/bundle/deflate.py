"""The deflate compressor a bundle is written with, and the bundle format version it belongs to.

A deflate stream is not defined by its input: each compressor, and each version of one, may
pick other matches and other Huffman blocks for the same bytes. The zip's sha256 is only the
same on every machine when the compressed bytes come from one pinned library, so bundles are
deflated by python-zlib-ng (:data:`PINNED_SPEC`, as pinned in ``pyproject.toml``), whose
wheels embed zlib-ng :data:`ENGINE_VERSION`, at :data:`LEVEL`. With the zip's other rules
(docs/bundle.md, "The zip is deterministic") that is bundle format :data:`FORMAT_VERSION`.

Where zlib-ng cannot be imported (no wheel for the platform), bundles are compressed by the
zlib Python was built with, at level 6; where another zlib-ng is installed, by that one. Both
are said once per bundle: the zip is then as deterministic as before on that machine, but
its sha256 may differ from other machines'.

The library is imported on first use only (``mixpeek --help`` must not load it).
"""

from __future__ import annotations

import importlib
import threading
import zlib
from dataclasses import dataclass
from typing import Any, Protocol

# Bump with any change to the bytes of a bundle's zip (docs/bundle.md lists what that
# covers), and change the golden sha256 in tests/test_bundle_golden.py with it.
FORMAT_VERSION = 1

LIBRARY = "zlib-ng"  # the distribution pyproject.toml pins: python-zlib-ng
PINNED_MODULE = "zlib_ng.zlib_ng"  # a seam: tests point it at a module that cannot be imported
PINNED_SPEC = ">=1.1.0,<1.2"  # as pyproject.toml pins it (a test checks they agree)
PINNED_RANGE = ((1, 1, 0), (1, 2))  # the same, as numbers
ENGINE_VERSION = "2.3.3"  # the zlib-ng C library those releases embed: what decides the bytes
LEVEL = 3  # zlib-ng's deflate_medium: zip's size (level 6) in less time
MEM_LEVEL = 8  # zlib's default; part of the format (it sizes the blocks)
WBITS = -15  # raw deflate, 32 KiB window

FALLBACK_LEVEL = 6  # zlib's own default, the level zip uses

Buffer = bytes | memoryview


class Compressor(Protocol):
    def compress(self, data: Buffer, /) -> bytes: ...
    def flush(self, mode: int = ..., /) -> bytes: ...
    def copy(self) -> Compressor: ...


@dataclass(frozen=True)
class Deflater:
    """One compressor at one level, writing raw deflate streams (and chunks of one)."""

    name: str  # e.g. "zlib-ng 2.3.3 (python-zlib-ng 1.1.0) level 3", "zlib 1.2.13 level 6"
    level: int
    pinned: bool  # the compressor FORMAT_VERSION names, so the bytes match other machines'
    fallback_reason: str  # why the pinned one is not used ("" when it is)
    module: Any  # zlib's interface: compressobj(level, method, wbits, memLevel, strategy, zdict)

    def compressobj(self, zdict: Buffer | None = None) -> Compressor:
        m = self.module
        if zdict:
            return m.compressobj(  # type: ignore[no-any-return]
                self.level, m.DEFLATED, WBITS, MEM_LEVEL, m.Z_DEFAULT_STRATEGY, zdict
            )
        return m.compressobj(  # type: ignore[no-any-return]
            self.level, m.DEFLATED, WBITS, MEM_LEVEL, m.Z_DEFAULT_STRATEGY
        )

    def chunk(self, data: Buffer, window: Buffer, last: bool) -> bytes:
        """One chunk of a stream: primed with the ``window`` before it (if any), ended by a
        sync flush, or by the end of the stream when ``last``."""
        comp = self.compressobj(window or None)
        return comp.compress(data) + comp.flush(self.finish if last else self.sync)

    def crc32(self, data: Buffer, value: int = 0, /) -> int:
        """CRC-32 of ``data`` (continuing ``value``): the same number from either library,
        but zlib-ng's SIMD one runs ~3.5x faster than the zlib most Pythons are built with."""
        return int(self.module.crc32(data, value))

    @property
    def finish(self) -> int:
        return int(self.module.Z_FINISH)

    @property
    def sync(self) -> int:
        return int(self.module.Z_SYNC_FLUSH)

    @property
    def format_key(self) -> str:
        """What the zip's bytes depend on, for the re-deploy cache's key."""
        if self.pinned:
            return f"bundle format {FORMAT_VERSION}"
        return self.name

    @property
    def warning(self) -> str:
        """What to say once per bundle; empty when the pinned compressor is in use."""
        if self.pinned:
            return ""
        return (
            f"{self.fallback_reason}: compressing with {self.name} instead, so this bundle's "
            f"sha256 may differ from other machines' (bundle format {FORMAT_VERSION} needs "
            f"{pinned_text()})"
        )


def pinned_text() -> str:
    return f"{LIBRARY}{PINNED_SPEC}, zlib-ng {ENGINE_VERSION}"


def _version(text: str) -> tuple[int, ...]:
    """The leading numbers of a version: "1.1.0" -> (1, 1, 0), "1.2.0rc1" -> (1, 2, 0)."""
    parts: list[int] = []
    for piece in text.split("."):
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) != len(piece):
            break
    return tuple(parts)


def zlib_deflater(reason: str) -> Deflater:
    """The fallback: the zlib this Python was built with, at zip's level."""
    name = f"zlib {zlib.ZLIB_RUNTIME_VERSION} level {FALLBACK_LEVEL}"
    return Deflater(name, FALLBACK_LEVEL, False, reason, zlib)


def _load() -> Deflater:
    try:
        module = importlib.import_module(PINNED_MODULE)
        package = importlib.import_module(PINNED_MODULE.partition(".")[0])
        version = str(package.__version__)
        engine = str(module.ZLIBNG_RUNTIME_VERSION)
    # What stops a binary wheel from loading (missing, built for another platform, a
    # library it links against absent, an attribute gone) means the same here: compress
    # with zlib instead, and say so.
    except (ImportError, OSError, AttributeError) as exc:
        return zlib_deflater(f"{LIBRARY} could not be loaded ({type(exc).__name__}: {exc})")
    name = f"zlib-ng {engine} (python-zlib-ng {version}) level {LEVEL}"
    low, high = PINNED_RANGE
    if not low <= _version(version) < high or engine != ENGINE_VERSION:
        # Still deflate, just not the format's bytes: use it, and say so.
        reason = f"{LIBRARY} {version} (zlib-ng {engine}) is installed"
        return Deflater(name, LEVEL, False, reason, module)
    return Deflater(name, LEVEL, True, "", module)


_lock = threading.Lock()
_active: Deflater | None = None


def active() -> Deflater:
    """The compressor bundles are written with here (loaded once per process)."""
    global _active
    with _lock:
        if _active is None:
            _active = _load()
        return _active


def reset() -> None:
    """Forget the loaded compressor: the next :func:`active` loads it again (for tests)."""
    global _active
    with _lock:
        _active = None
