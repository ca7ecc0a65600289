"""Write a bundle's zip with compression spread over all cores, byte-identical to the serial rule.

The rule (docs/bundle.md, "The zip is deterministic"), per file:

* the *probe* is the raw deflate of the file's first 16 KiB, finished; the file
  is **stored** when the probe saves less than 5% (``20 * len(probe) > 19 * len(sample)``),
  so empty files, tiny files and already-compressed content are stored, and deflated
  otherwise;
* a deflated file is cut into 1 MiB chunks; each chunk is deflated by its own
  compressor, primed with the 32 KiB before it as a dictionary, and ends with a sync
  flush (the last one finishes the stream), as pigz does. The chunks concatenate into
  one valid deflate stream, and each depends only on the file's bytes, so they can be
  compressed in any order on any thread.

Probe and chunks use one compressor, :func:`mixpeek_cli.bundle.deflate.active`:
zlib-ng, or zlib where it cannot be loaded. Worker threads read and
compress (both release the GIL); the calling thread writes
entries strictly in bundle order. A file of more than one chunk is probed as the jobs are
planned: a stored one is copied by the calling thread itself when its turn comes (no
worker has anything to do for it). At most two chunks' worth of input per worker (and
never less than :data:`MIN_IN_FLIGHT`) is being worked on at once, so memory does not
grow with the bundle.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Protocol

from mixpeek_cli.bundle.cores import usable_cores
from mixpeek_cli.bundle.deflate import Deflater, active
from mixpeek_cli.bundle.files import FileChanged
from mixpeek_cli.bundle.zipformat import (
    DEFLATED,
    STORED,
    Entry,
    central_header,
    end_records,
    local_header,
    needs_zip64,
)
from mixpeek_cli.errors import UsageError

CHUNK_SIZE = 1024 * 1024
SAMPLE_SIZE = 16 * 1024  # the probe: 64 KiB cost 4x as much on images, for the same verdicts
WINDOW_SIZE = 32 * 1024  # deflate's window: the dictionary each chunk is primed with
MIN_IN_FLIGHT = 4 * 1024 * 1024
BATCH_BYTES = 512 * 1024  # small files go to workers in batches to amortise the hand-off
BATCH_FILES = 128
_IO_CHUNK = 1024 * 1024
_O_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0)  # O_BINARY: no newline translation on Windows
# os.pwrite/os.pread are POSIX only: without them (Windows) the sink patches a header by
# moving the file's position and back. Chosen once; both give the same bytes.
_POSITIONAL = hasattr(os, "pwrite") and hasattr(os, "pread")

Buffer = bytes | memoryview


class SourceFile(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def source(self) -> str | os.PathLike[str]: ...
    @property
    def size(self) -> int: ...
    @property
    def executable(self) -> bool: ...


def default_workers() -> int:
    return usable_cores()


def _stored_is_better(probe_size: int, sample_size: int) -> bool:
    return 20 * probe_size > 19 * sample_size


def _unreadable(file: SourceFile, exc: OSError) -> UsageError:
    return UsageError(
        f"cannot read {file.path}: {exc.strerror or exc}",
        hint="fix its permissions or add it to .mixpeekignore",
    )


def _changed(file: SourceFile) -> FileChanged:
    # The recorded size (and the ZIP64 choice made from it) would no longer match.
    return FileChanged(file.path)


def _read(file: SourceFile, offset: int, length: int) -> bytes:
    """Up to ``length`` bytes from ``offset``: fewer only at the end of the file.

    Plain descriptor calls rather than a buffered file object: for thousands of small files
    the objects cost more than the reads, and each call releases the GIL.
    """
    try:
        fd = os.open(file.source, _O_READ)
        try:
            if offset:
                os.lseek(fd, offset, os.SEEK_SET)
            data = os.read(fd, length)
            if not data or len(data) == length:
                return data
            parts = [data]
            got = len(data)
            while got < length:  # a short read: read on until the end of the file
                more = os.read(fd, length - got)
                if not more:
                    break
                parts.append(more)
                got += len(more)
            return b"".join(parts)
        finally:
            os.close(fd)
    except OSError as exc:
        raise _unreadable(file, exc) from exc


@dataclass(frozen=True)
class _Piece:
    """One compressed chunk of a file (or all of a small file)."""

    method: int
    payload: Buffer
    raw: Buffer  # kept only for chunks of multi-chunk files, whose CRC the writer chains
    crc: int  # CRC-32 of a whole small file; unused for chunks


def _first_chunk(deflater: Deflater, data: Buffer, last: bool) -> tuple[int, Buffer]:
    """Decide the method from the probe and deflate chunk 0; returns (method, payload)."""
    comp = deflater.compressobj()
    head = comp.compress(data[:SAMPLE_SIZE])
    if len(data) <= SAMPLE_SIZE and last:
        whole = head + comp.flush(deflater.finish)  # the file is its own sample and probe
        if _stored_is_better(len(whole), len(data)):
            return STORED, data
        return DEFLATED, whole
    probe = comp.copy()  # finishing a copy gives the probe without compressing twice
    sample_size = min(len(data), SAMPLE_SIZE)  # less only with a chunk size below it
    if _stored_is_better(len(head) + len(probe.flush(deflater.finish)), sample_size):
        return STORED, data
    rest = comp.compress(data[SAMPLE_SIZE:])
    return DEFLATED, head + rest + comp.flush(deflater.finish if last else deflater.sync)


# Told each file the writer reads whole (path, bytes), on the worker that read it.
Inspect = Callable[[str, bytes], None]


def _small_batch(
    deflater: Deflater, files: Sequence[SourceFile], inspect: Inspect | None = None
) -> list[_Piece]:
    pieces = []
    for file in files:
        data = _read(file, 0, file.size + 1)  # one byte more shows a file that grew
        if len(data) != file.size:
            raise _changed(file)
        if inspect is not None:
            inspect(file.path, data)
        method, payload = _first_chunk(deflater, data, last=True)
        pieces.append(_Piece(method, payload, b"", deflater.crc32(data)))
    return pieces


def _probe(deflater: Deflater, file: SourceFile, chunk_size: int) -> int:
    """The method of a multi-chunk file, by the rule: its sample's probe (read here)."""
    sample_size = min(chunk_size, SAMPLE_SIZE)
    sample = _read(file, 0, sample_size)
    if len(sample) != sample_size:
        raise _changed(file)
    comp = deflater.compressobj()
    probe = comp.compress(sample) + comp.flush(deflater.finish)
    return STORED if _stored_is_better(len(probe), sample_size) else DEFLATED


def _chunk_job(
    deflater: Deflater, file: SourceFile, index: int, count: int, chunk_size: int
) -> _Piece:
    """Chunk ``index`` of a multi-chunk file the plan found is to be deflated."""
    start = index * chunk_size
    last = index == count - 1
    want = file.size - start if last else chunk_size
    if index == 0:
        first = _read(file, 0, want)
        if len(first) != want:
            raise _changed(file)
        method, payload = _first_chunk(deflater, first, last)
        if method != DEFLATED:  # its sample is not what the plan probed: it changed
            raise _changed(file)
        return _Piece(method, payload, first, 0)
    lead = min(WINDOW_SIZE, start)
    block = _read(file, start - lead, lead + want + (1 if last else 0))
    if len(block) != lead + want:
        raise _changed(file)
    view = memoryview(block)  # slices without copying the chunk
    data = view[lead:]
    return _Piece(DEFLATED, deflater.chunk(data, view[:lead], last), data, 0)


def _copy_stored(out: _Entries, file: SourceFile, block_size: int) -> None:
    """Write a big stored file straight from disk, on the writer's thread.

    Its chunks would only be read by the workers and handed back: the hand-offs cost 22%
    on a media-heavy dist (docs/performance.md), and the writer reads while the workers
    deflate what comes after it.
    """
    count = -(-file.size // block_size)
    for index in range(count):
        start = index * block_size
        last = index == count - 1
        want = file.size - start if last else block_size
        data = _read(file, start, want + (1 if last else 0))  # one more: a file that grew
        if len(data) != want:
            raise _changed(file)
        out.chunk(file, index, count, _Piece(STORED, data, data, 0))


class _Sink:
    """The zip file being written (opened for reading too), hashed as it goes.

    Small entries are gathered into blocks of about :data:`_IO_CHUNK` before they are
    written and hashed: one hash update and one write per block instead of two per file
    (each of which gave the interpreter lock away to the workers and waited to get it back).

    A multi-chunk entry's header is only known after its data; the bytes after its
    placeholder are hashed once the header is patched (reading back what the page cache
    still holds), so the sha256 never needs a second pass over the whole zip.
    """

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self._fd = fh.fileno()
        self.offset = 0
        self._sha = hashlib.sha256()
        self._hashed_to = 0
        self._deferred = False
        self._block = bytearray()

    def write(self, data: Buffer) -> None:
        self.offset += len(data)
        if len(data) >= _IO_CHUNK:
            self._drain()
            self._emit(data)
            return
        self._block += data
        if len(self._block) >= _IO_CHUNK:
            self._drain()

    def _drain(self) -> None:
        if self._block:
            self._emit(self._block)
            self._block = bytearray()

    def _emit(self, data: Buffer | bytearray) -> None:
        self._fh.write(data)
        if not self._deferred:
            self._sha.update(data)
            self._hashed_to += len(data)

    def defer(self) -> None:
        """Stop hashing until :meth:`patch`: what comes next is a header to be patched."""
        self._drain()
        self._deferred = True

    def patch(self, at: int, data: bytes) -> None:
        """Overwrite the placeholder at ``at``, then hash everything not hashed yet."""
        self._drain()
        if _POSITIONAL:
            self._fh.flush()  # pwrite goes around the file object's buffer
            os.pwrite(self._fd, data, at)
        else:
            self._fh.seek(at)
            self._fh.write(data)
        position = self._hashed_to
        while position < self.offset:
            block = self._read_at(min(_IO_CHUNK, self.offset - position), position)
            if not block:
                raise OSError("the bundle being written was truncated")
            self._sha.update(block)
            position += len(block)
        if not _POSITIONAL:
            self._fh.seek(self.offset)  # back to where the next entry goes
        self._hashed_to = self.offset
        self._deferred = False

    def _read_at(self, size: int, at: int) -> bytes:
        if _POSITIONAL:
            return os.pread(self._fd, size, at)
        # Only this thread uses the file, so nothing else sees its position move.
        self._fh.seek(at)
        return self._fh.read(size)

    def finish(self) -> str:
        """Write what is left; returns the sha256 (hex) of everything written."""
        self._drain()
        return self._sha.hexdigest()


@dataclass(frozen=True)
class _Unit:
    """One job: a batch of small files or one chunk of a big file for the pool, or a big
    stored file for the writer itself (``stored``)."""

    cost: int  # input bytes it holds while in flight
    batch: list[SourceFile]
    file: SourceFile | None = None
    index: int = 0
    count: int = 1
    stored: bool = False


def _plan(files: Sequence[SourceFile], chunk_size: int, deflater: Deflater) -> Iterator[_Unit]:
    """The jobs, in bundle order; a big file's method is probed as it is planned."""
    batch: list[SourceFile] = []
    batch_bytes = 0
    for file in files:
        if file.size <= chunk_size:
            batch.append(file)
            batch_bytes += file.size
            if batch_bytes >= BATCH_BYTES or len(batch) >= BATCH_FILES:
                yield _Unit(batch_bytes, batch)
                batch, batch_bytes = [], 0
            continue
        if batch:
            yield _Unit(batch_bytes, batch)
            batch, batch_bytes = [], 0
        count = -(-file.size // chunk_size)
        if _probe(deflater, file, chunk_size) == STORED:
            yield _Unit(0, [], file, stored=True)
            continue
        for index in range(count):
            part = min(chunk_size, file.size - index * chunk_size)
            yield _Unit(part, [], file, index, count)
    if batch:
        yield _Unit(batch_bytes, batch)


@dataclass(frozen=True)
class _Job:
    unit: _Unit
    future: Future[list[_Piece]] | Future[_Piece] | None  # None: the writer's own


class _Entries:
    """Turns finished pieces into local entries, in order, and remembers them."""

    def __init__(self, sink: _Sink, deflater: Deflater, on_file: Callable[[], None]) -> None:
        self.sink = sink
        self.deflater = deflater
        self.on_file = on_file
        self.written: list[Entry] = []
        self._open: Entry | None = None  # the multi-chunk entry being written
        self._crc = 0

    def _entry(self, file: SourceFile, method: int, crc: int, compressed: int, at: int) -> Entry:
        return Entry(
            name=file.path.encode("utf-8"),
            method=method,
            crc=crc,
            compressed_size=compressed,
            size=file.size,
            mode=0o100755 if file.executable else 0o100644,
            offset=at,
            zip64=needs_zip64(file.size, method),
        )

    def whole(self, file: SourceFile, piece: _Piece) -> None:
        entry = self._entry(file, piece.method, piece.crc, len(piece.payload), self.sink.offset)
        self.sink.write(local_header(entry))
        self.sink.write(piece.payload)
        self.written.append(entry)
        self.on_file()

    def chunk(self, file: SourceFile, index: int, count: int, piece: _Piece) -> None:
        if index == 0:
            # Same length as the final header (ZIP64 is decided by size alone): patched later.
            self._open = self._entry(file, piece.method, 0, 0, self.sink.offset)
            self._crc = 0
            self.sink.defer()
            self.sink.write(local_header(self._open))
        assert self._open is not None
        self._crc = self.deflater.crc32(piece.raw, self._crc)
        self.sink.write(piece.payload)
        if index == count - 1:
            start = self._open.offset
            compressed = self.sink.offset - start - len(local_header(self._open))
            entry = self._entry(file, self._open.method, self._crc, compressed, start)
            self.sink.patch(start, local_header(entry))
            self.written.append(entry)
            self._open = None
            self.on_file()


def write_entries(
    files: Sequence[SourceFile],
    fh: IO[bytes],
    *,
    on_file: Callable[[], None],
    workers: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    deflater: Deflater | None = None,
    inspect: Inspect | None = None,
) -> tuple[str, list[int]]:
    """Write ``files`` (already in bundle order) as a zip to ``fh``.

    ``deflater`` defaults to :func:`~mixpeek_cli.bundle.deflate.active`. ``inspect`` is
    given the bytes of each file of at most ``chunk_size`` (read whole), on a worker.
    Returns the zip's sha256 (hex) and each file's CRC-32, in order.
    """
    deflater = deflater or active()
    sink = _Sink(fh)
    out = _Entries(sink, deflater, on_file)
    workers = workers or default_workers()
    limit = max(MIN_IN_FLIGHT, 2 * workers * chunk_size)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[_Job] = deque()
        in_flight = 0
        planned = _plan(files, chunk_size, deflater)

        def submit_more() -> None:
            nonlocal in_flight
            while in_flight < limit or not pending:
                unit = next(planned, None)
                if unit is None:
                    return
                future: Future[list[_Piece]] | Future[_Piece] | None = None
                if unit.file is None:
                    future = pool.submit(_small_batch, deflater, unit.batch, inspect)
                elif not unit.stored:
                    future = pool.submit(
                        _chunk_job, deflater, unit.file, unit.index, unit.count, chunk_size
                    )
                pending.append(_Job(unit, future))
                in_flight += unit.cost

        try:
            submit_more()
            while pending:
                job = pending.popleft()
                if job.future is None:
                    assert job.unit.file is not None
                    _copy_stored(out, job.unit.file, max(chunk_size, _IO_CHUNK))
                    submit_more()
                    continue
                result = job.future.result()
                in_flight -= job.unit.cost
                submit_more()
                if isinstance(result, list):
                    for file, piece in zip(job.unit.batch, result, strict=True):
                        out.whole(file, piece)
                else:
                    assert job.unit.file is not None
                    out.chunk(job.unit.file, job.unit.index, job.unit.count, result)
        except BaseException:
            # Drop what has not started; running jobs finish within one chunk.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    central_offset = sink.offset
    for entry in out.written:
        sink.write(central_header(entry))
    sink.write(end_records(len(out.written), central_offset, sink.offset - central_offset))
    return sink.finish(), [entry.crc for entry in out.written]
