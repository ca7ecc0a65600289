"""The deflate compressor a bundle is written with.

Bundles are deflated by zlib-ng (python-zlib-ng) at :data:`LEVEL` where it loads: zip's
size (level 6) in less time, and a CRC-32 about 3.5x faster than most Pythons' zlib. Where
it does not (no wheel for the platform), by the zlib Python was built with, at level 6.

Either way the zip is deterministic on the machine: the same files give the same bytes,
which is what the re-deploy cache and the upload reuse need. Across machines the bytes
may differ (a deflate stream is not defined by its input: each compressor version may
pick other matches), and nothing depends on them being the same: the service hashes each
asset it unpacks. So the compressor's name and version are part of the bundle cache's key,
and no version of it is pinned.

The library is imported on first use only (``mixpeek --help`` must not load it).
"""

from __future__ import annotations

import importlib
import threading
import zlib
from dataclasses import dataclass
from typing import Any, Protocol

MODULE = "zlib_ng.zlib_ng"  # a seam: tests point it at a module that cannot be imported
LEVEL = 3  # zlib-ng's deflate_medium: zip's size (level 6) in less time
MEM_LEVEL = 8  # zlib's default (it sizes the blocks)
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
        return self.name


def zlib_deflater() -> Deflater:
    """The fallback: the zlib this Python was built with, at zip's level."""
    return Deflater(
        f"zlib {zlib.ZLIB_RUNTIME_VERSION} level {FALLBACK_LEVEL}", FALLBACK_LEVEL, zlib
    )


def _load() -> Deflater:
    try:
        module = importlib.import_module(MODULE)
        package = importlib.import_module(MODULE.partition(".")[0])
        name = (
            f"zlib-ng {module.ZLIBNG_RUNTIME_VERSION} (python-zlib-ng {package.__version__}) "
            f"level {LEVEL}"
        )
    # What stops a binary wheel from loading (missing, built for another platform, a
    # library it links against absent, an attribute gone) means the same here: compress
    # with zlib instead. The bundle is as deterministic, only slower to write.
    except (ImportError, OSError, AttributeError):
        return zlib_deflater()
    return Deflater(name, LEVEL, module)


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
