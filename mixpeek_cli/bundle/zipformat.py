"""The bytes of a zip's records, for entries whose data is already compressed.

zipfile cannot write precompressed data, and the parallel writer needs to, so the
few records a bundle uses are built here: local file header, central directory
header, and the end records (ZIP64 ones when sizes, offsets or the entry count
overflow the classic fields). Everything a bundle does not use (directories,
comments, encryption, data descriptors, extra fields other than ZIP64) is left out.
See APPNOTE.TXT sections 4.3 and 4.5.3.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

STORED = 0
DEFLATED = 8

_LOCAL_SIG = 0x04034B50
_CENTRAL_SIG = 0x02014B50
_END_SIG = 0x06054B50
_END64_SIG = 0x06064B50
_LOCATOR64_SIG = 0x07064B50
_ZIP64_TAG = 0x0001
_MAX32 = 0xFFFFFFFF  # the marker written where a ZIP64 extra holds the real value
_MAX16 = 0xFFFF
# A value at or past this goes to ZIP64. The marker's own value; a test lowers it to take
# the ZIP64 path without writing 4 GiB.
ZIP64_LIMIT = _MAX32
_UTF8_FLAG = 0x0800
_UNIX = 3  # "made by" host: extractors honour the mode bits in external_attr
_VERSION = 20  # deflate
_VERSION64 = 45  # ZIP64
_DOS_TIME = 0  # 00:00:00
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, the earliest a zip can say

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")


def max_deflated_size(size: int) -> int:
    """An upper bound of a deflate stream's length for ``size`` input bytes.

    zlib's deflateBound plus the per-chunk sync-flush markers, rounded up generously;
    it decides ZIP64 before the data exists, so it must never be too small. It holds for
    zlib and for zlib-ng from level 2 up, which fall back to stored blocks when deflate
    would grow the data (zlib-ng's level 1 does not: it can grow it by 12.5%).
    """
    return size + (size >> 12) + (size >> 14) + (size >> 25) + 64 + 16 * (size >> 16)


def needs_zip64(size: int, method: int) -> bool:
    """Whether an entry of ``size`` input bytes gets ZIP64 sizes (decided from size alone)."""
    worst = size if method == STORED else max_deflated_size(size)
    return max(size, worst) >= ZIP64_LIMIT


@dataclass(frozen=True)
class Entry:
    """What the central directory needs to know about one written entry."""

    name: bytes  # UTF-8
    method: int
    crc: int
    compressed_size: int
    size: int
    mode: int  # 0o100644 or 0o100755
    offset: int  # of the local header
    zip64: bool  # sizes in a ZIP64 extra (fixed by needs_zip64)


def _flags(name: bytes) -> int:
    return 0 if name.isascii() else _UTF8_FLAG


def local_header(entry: Entry) -> bytes:
    """The local header; ``offset`` is not part of it, so it can be written first."""
    if entry.zip64:
        extra = struct.pack("<HHQQ", _ZIP64_TAG, 16, entry.size, entry.compressed_size)
        sizes = (_MAX32, _MAX32)
    else:
        extra = b""
        sizes = (entry.compressed_size, entry.size)
    head = _LOCAL.pack(
        _LOCAL_SIG,
        _VERSION64 if entry.zip64 else _VERSION,
        _flags(entry.name),
        entry.method,
        _DOS_TIME,
        _DOS_DATE,
        entry.crc,
        *sizes,
        len(entry.name),
        len(extra),
    )
    return head + entry.name + extra


def central_header(entry: Entry) -> bytes:
    # In the central directory the ZIP64 extra holds exactly the fields set to 0xFFFFFFFF,
    # in the order uncompressed size, compressed size, offset.
    fields: list[int] = []
    size = compressed = offset = 0
    if entry.zip64:
        fields += [entry.size, entry.compressed_size]
        size = compressed = _MAX32
    else:
        size, compressed = entry.size, entry.compressed_size
    if entry.offset >= ZIP64_LIMIT:
        fields.append(entry.offset)
        offset = _MAX32
    else:
        offset = entry.offset
    extra = b""
    if fields:
        extra = struct.pack(f"<HH{len(fields)}Q", _ZIP64_TAG, 8 * len(fields), *fields)
    version = _VERSION64 if fields else _VERSION
    head = _CENTRAL.pack(
        _CENTRAL_SIG,
        (_UNIX << 8) | version,
        version,
        _flags(entry.name),
        entry.method,
        _DOS_TIME,
        _DOS_DATE,
        entry.crc,
        compressed,
        size,
        len(entry.name),
        len(extra),
        0,  # comment length
        0,  # disk number start
        0,  # internal attributes
        entry.mode << 16,
        offset,
    )
    return head + entry.name + extra


def end_records(count: int, central_offset: int, central_size: int) -> bytes:
    """The end of the archive: ZIP64 end record and locator when any field overflows."""
    zip64 = count >= _MAX16 or central_offset >= ZIP64_LIMIT or central_size >= ZIP64_LIMIT
    out = b""
    if zip64:
        end64_offset = central_offset + central_size
        out += _END64.pack(
            _END64_SIG,
            _END64.size - 12,  # size of the rest of the record
            (_UNIX << 8) | _VERSION64,
            _VERSION64,
            0,
            0,
            count,
            count,
            central_size,
            central_offset,
        )
        out += _LOCATOR64.pack(_LOCATOR64_SIG, 0, end64_offset, 1)
    out += _END.pack(
        _END_SIG,
        0,
        0,
        min(count, _MAX16),
        min(count, _MAX16),
        _MAX32 if zip64 and central_size >= ZIP64_LIMIT else central_size,
        _MAX32 if zip64 and central_offset >= ZIP64_LIMIT else central_offset,
        0,
    )
    return out
