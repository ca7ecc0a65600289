"""The parallel zip writer gives exactly the bytes of the serial rule in docs/bundle.md."""

from __future__ import annotations

import hashlib
import io
import os
import random
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from mixpeek_cli.bundle import deflate
from mixpeek_cli.bundle.build import write_zip
from mixpeek_cli.bundle.files import BundleFile
from mixpeek_cli.bundle.zipformat import Entry, central_header, end_records, local_header
from mixpeek_cli.bundle.zipwriter import CHUNK_SIZE, SAMPLE_SIZE, WINDOW_SIZE, write_entries
from mixpeek_cli.output.reporter import NullReporter

MIB = 1024 * 1024
# The compressor of each way a bundle can be written, spelled out here and not taken from the
# code under test: zlib-ng at level 3, and the fallback (zlib, level 6).
ZLIB_NG = ("zlib_ng.zlib_ng", 3)
FALLBACK = ("zlib", 6)


@pytest.fixture(params=["zlib-ng", "zlib fallback"])
def compressor(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ModuleType, int]]:
    """Write with zlib-ng, or as where it cannot be loaded (the writer's seam)."""
    if request.param == "zlib fallback":
        monkeypatch.setattr(deflate, "MODULE", "mixpeek_test_no_such_compressor")
        name, level = FALLBACK
    else:
        name, level = ZLIB_NG
    deflate.reset()
    module = pytest.importorskip(name)
    assert deflate.active().module is module
    yield module, level
    deflate.reset()


def reference_deflate(data: bytes, module: ModuleType, level: int) -> bytes:
    """The rule spelled out plainly: 1 MiB chunks, each primed with the 32 KiB before it."""
    out = b""
    chunks = [data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)] or [b""]
    for index, chunk in enumerate(chunks):
        start = index * CHUNK_SIZE
        window = data[max(0, start - WINDOW_SIZE) : start]
        if window:
            comp = module.compressobj(level, 8, -15, 8, 0, window)
        else:
            comp = module.compressobj(level, 8, -15, 8, 0)
        last = index == len(chunks) - 1
        out += comp.compress(chunk) + comp.flush(module.Z_FINISH if last else module.Z_SYNC_FLUSH)
    return out


def reference_zip(files: list[BundleFile], module: ModuleType, level: int) -> bytes:
    """A one-thread writer of the documented rule, sharing no logic with the real one."""
    out = io.BytesIO()
    central = b""
    for file in files:
        data = file.source.read_bytes()
        sample = data[:SAMPLE_SIZE]
        probe = module.compressobj(level, 8, -15, 8, 0)
        probe_size = len(probe.compress(sample) + probe.flush())
        stored = 20 * probe_size > 19 * len(sample)
        payload = data if stored else reference_deflate(data, module, level)
        name = file.path.encode()
        flags = 0 if name.isascii() else 0x800
        mode = 0o100755 if file.executable else 0o100644
        offset = out.tell()
        fields = (0 if stored else 8, 0, 0x21, zlib.crc32(data), len(payload), len(data))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, *fields, len(name), 0))
        out.write(name + payload)
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            0x0314,
            20,
            flags,
            *fields,
            len(name),
            0,
            0,
            0,
            0,
            mode << 16,
            offset,
        )
        central += name
    start = out.tell()
    out.write(central)
    count = len(files)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), start, 0))
    return out.getvalue()


def text(rng: random.Random, size: int) -> bytes:
    words = [b"alpha", b"beta", b"gamma", b"delta", b"return", b"def", b"self", b"(x)", b"\n"]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + b" " + str(rng.randrange(1000)).encode() + b" "
    return bytes(out[:size])


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> list[BundleFile]:
    """Many files of many sizes: empty, tiny, around the 64 KiB probe and the 1 MiB chunk
    boundaries, several chunks long, compressible and not, a non-ASCII name."""
    root = tmp_path_factory.mktemp("tree")
    rng = random.Random(7)
    sizes = [0, 0, 1, 2, 20, 100, 4096, SAMPLE_SIZE - 1, SAMPLE_SIZE, SAMPLE_SIZE + 1]
    sizes += [CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE + 12_345]
    sizes += [rng.randrange(50_000) for _ in range(300)]
    files = []
    for index, size in enumerate(sizes):
        kind = index % 3
        if kind == 0:
            data = text(rng, size)
        elif kind == 1:
            data = rng.randbytes(size)  # incompressible: stored
        else:  # compressible head, noise after it: the probe decides on the head alone
            data = text(rng, min(size, SAMPLE_SIZE)) + rng.randbytes(max(0, size - SAMPLE_SIZE))
        name = f"d{index % 7}/f{index:04d}-{size}.bin" if index != 5 else "caf\u00e9/\u00fcber.txt"
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append(BundleFile(name, path, size, index % 11 == 0))
    files.sort(key=lambda f: f.path.encode())
    return files


@pytest.mark.parametrize("workers", [1, 2, 8])
def test_parallel_output_is_the_serial_rule(
    tree: list[BundleFile], tmp_path: Path, workers: int, compressor: tuple[ModuleType, int]
) -> None:
    dest = tmp_path / "out.zip"
    sha256, size = write_zip(tree, dest, NullReporter(), workers=workers)
    expected = reference_zip(tree, *compressor)
    assert dest.read_bytes() == expected
    assert sha256 == hashlib.sha256(expected).hexdigest()
    assert size == len(expected)


def test_entries_read_back_with_zipfile_and_unzip(
    tree: list[BundleFile], tmp_path: Path, compressor: tuple[ModuleType, int]
) -> None:
    dest = tmp_path / "out.zip"
    write_zip(tree, dest, NullReporter())
    stored = deflated = 0
    with zipfile.ZipFile(dest) as zf:
        assert [i.filename for i in zf.infolist()] == [f.path for f in tree]
        for file, info in zip(tree, zf.infolist(), strict=True):
            assert zf.read(info) == file.source.read_bytes()
            stored += info.compress_type == zipfile.ZIP_STORED
            deflated += info.compress_type == zipfile.ZIP_DEFLATED
    assert stored > 50 and deflated > 50  # both kinds of entry were exercised
    check = subprocess.run(["unzip", "-tq", str(dest)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    out = tmp_path / "x"
    subprocess.run(["unzip", "-q", str(dest), "-d", str(out)], check=True)
    for file in tree:
        assert (out / file.path).read_bytes() == file.source.read_bytes()


def test_already_compressed_content_is_stored_not_deflated(
    tmp_path: Path, compressor: tuple[ModuleType, int]
) -> None:
    # A "compressible" extension does not matter: the measured ratio decides.
    noise = random.Random(3).randbytes(3 * MIB + 5)
    (tmp_path / "weights.txt").write_bytes(noise)
    (tmp_path / "notes.png").write_bytes(b"a line of text\n" * 10_000)
    files = [
        BundleFile("notes.png", tmp_path / "notes.png", 150_000, False),
        BundleFile("weights.txt", tmp_path / "weights.txt", len(noise), False),
    ]
    dest = tmp_path / "out.zip"
    write_zip(files, dest, NullReporter())
    with zipfile.ZipFile(dest) as zf:
        assert zf.getinfo("notes.png").compress_type == zipfile.ZIP_DEFLATED
        weights = zf.getinfo("weights.txt")
        assert weights.compress_type == zipfile.ZIP_STORED
        assert weights.compress_size == len(noise)
        assert zf.read("weights.txt") == noise


@pytest.mark.parametrize("kind", ["deflated", "stored"])  # by the workers; by the writer
def test_a_file_that_grows_during_bundling_is_refused(tmp_path: Path, kind: str) -> None:
    from mixpeek_cli.errors import UsageError

    data = b"x" * (2 * MIB) if kind == "deflated" else random.Random(5).randbytes(2 * MIB)
    (tmp_path / "big.log").write_bytes(data + b"more")
    stale = BundleFile("big.log", tmp_path / "big.log", len(data), False)
    with pytest.raises(UsageError, match="changed while"):
        write_zip([stale], tmp_path / "out.zip", NullReporter())
    assert not (tmp_path / "out.zip").exists()


def test_zip64_records_for_big_sizes_and_offsets() -> None:
    # Sizes and offsets past 4 GiB cannot be produced cheaply in a test; check the records.
    big = Entry(b"w.bin", 0, 0x1234, 5 << 30, 5 << 30, 0o100644, 6 << 30, zip64=True)
    local = local_header(big)
    assert struct.unpack_from("<II", local, 18) == (0xFFFFFFFF, 0xFFFFFFFF)
    assert struct.unpack_from("<HHQQ", local, 30 + 5) == (1, 16, 5 << 30, 5 << 30)
    central = central_header(big)
    assert struct.unpack_from("<II", central, 20) == (0xFFFFFFFF, 0xFFFFFFFF)
    assert struct.unpack_from("<I", central, 42) == (0xFFFFFFFF,)
    assert struct.unpack_from("<HH3Q", central, 46 + 5) == (1, 24, 5 << 30, 5 << 30, 6 << 30)
    # Only the offset overflows: the extra holds the offset alone.
    late = Entry(b"a", 8, 0, 10, 12, 0o100644, 5 << 30, zip64=False)
    assert struct.unpack_from("<HHQ", central_header(late), 46 + 1) == (1, 8, 5 << 30)
    end = end_records(70_000, 5 << 30, 1000)
    assert end[:4] == b"PK\x06\x06" and end[56:60] == b"PK\x06\x07"
    assert struct.unpack_from("<HHII", end, 76 + 8) == (0xFFFF, 0xFFFF, 1000, 0xFFFFFFFF)


def test_zip64_entries_are_read_by_zipfile_and_unzip(tmp_path: Path) -> None:
    # A real archive whose entries carry ZIP64 sizes (forced on small entries).
    data = b"hello zip64\n"
    packed = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = packed.compress(data * 100) + packed.flush()
    entries = [
        Entry(b"h.txt", 0, zlib.crc32(data), len(data), len(data), 0o100644, 0, zip64=True),
        Entry(b"d.txt", 8, zlib.crc32(data * 100), len(deflated), 1200, 0o100755, 0, zip64=True),
    ]
    blob = b""
    central = b""
    for entry, payload in zip(entries, [data, deflated], strict=True):
        placed = Entry(**{**entry.__dict__, "offset": len(blob)})
        blob += local_header(placed) + payload
        central += central_header(placed)
    blob += central + end_records(2, len(blob), len(central))
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert zf.read("h.txt") == data
        assert zf.read("d.txt") == data * 100
    path = tmp_path / "z64.zip"
    path.write_bytes(blob)
    check = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_interrupted_write_stops_the_workers(tmp_path: Path) -> None:
    files = []
    for index in range(40):
        path = tmp_path / f"f{index}.txt"
        path.write_bytes(os.urandom(10) * 1000)
        files.append(BundleFile(path.name, path, 10_000, False))
    calls = 0

    def on_file() -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), open(tmp_path / "out.zip", "w+b") as fh:
        write_entries(files, fh, on_file=on_file, workers=4)
    assert calls == 3
