"""Opening and verifying sealed segments.

Chunk N is opened with the nonce prefix || N || last-flag and the header bytes as associated
data, so a chunk authenticates only at its own place in its own segment. A reader tries the last
flag that its position suggests (a chunk that ends the data should be the final one) and then
the other one, which tells a truncated segment (no final chunk) from appended bytes (data after
the final chunk). What it returns is always authenticated plaintext, in order, from the start.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag

from security.datakey import DataKey
from security.seal_errors import (
    SealBroken,
    SealChunkInvalid,
    SealHeaderInvalid,
    SealIncomplete,
    SealKeyUnknown,
    SealTrailingData,
)
from security.seal_format import (
    LENGTH_BYTES,
    MAX_COUNTER,
    MAX_HEADER_BYTES,
    MAX_SEALED_CHUNK,
    TAG_BYTES,
    SealHeader,
    chunk_nonce,
)

KeyLookup = Callable[[str], DataKey]


class PlaintextSink(Protocol):
    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True, slots=True)
class OpenedSegment:
    """The authenticated content of a segment."""

    header: SealHeader
    chunks: tuple[bytes, ...]
    """The plaintext of each whole, authenticated chunk, in order."""
    complete: bool
    """True only if the last chunk carried the last flag and nothing follows it."""
    torn_tail_bytes: int
    """Bytes after the last whole chunk (a chunk cut by a crash); 0 if none."""

    @property
    def plaintext(self) -> bytes:
        return b"".join(self.chunks)


@dataclass(frozen=True, slots=True)
class SealVerified:
    """What `verify_sealed` found, without keeping any plaintext."""

    header: SealHeader
    chunks: int
    plaintext_bytes: int
    sealed_bytes: int
    sha256: str
    """Hex SHA-256 of every byte of the segment as given (compare with `SealSummary.sha256`)."""
    complete: bool
    torn_tail_bytes: int


class _Source(Protocol):
    size: int

    def read_at(self, offset: int, count: int) -> bytes | memoryview: ...


class _MemorySource:
    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._view = memoryview(data).cast("B")
        self.size = len(self._view)

    def read_at(self, offset: int, count: int) -> memoryview:
        return self._view[offset : offset + count]

    def sha256(self) -> str:
        return hashlib.sha256(self._view).hexdigest()


class _FileSource:
    """Reads a segment file front to back with pread, hashing every byte once."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.size = os.fstat(fd).st_size
        self._hash = hashlib.sha256()
        self._hashed = 0

    def read_at(self, offset: int, count: int) -> bytes:
        data = os.pread(self._fd, count, offset) if count > 0 else b""
        end = offset + len(data)
        if end > self._hashed:
            self._hash.update(memoryview(data)[self._hashed - offset :])
            self._hashed = end
        return data

    def sha256(self) -> str:
        while self._hashed < self.size:
            if not self.read_at(self._hashed, min(1 << 20, self.size - self._hashed)):
                break
        return self._hash.hexdigest()


@dataclass(frozen=True, slots=True)
class _Walked:
    header: SealHeader
    chunks: int
    plaintext_bytes: int
    complete: bool
    torn_tail_bytes: int


def _lookup(key_for: KeyLookup, key_id: str) -> DataKey:
    try:
        key = key_for(key_id)
    except SealBroken:
        raise
    except LookupError as exc:
        raise SealKeyUnknown(f"data key {key_id!r} is not available") from exc
    if not isinstance(key, DataKey) or key.key_id != key_id:
        raise SealKeyUnknown(f"the key lookup did not give data key {key_id!r}")
    return key


def _walk(
    source: _Source,
    key_for: KeyLookup,
    allow_incomplete: bool,
    deliver: Callable[[DataKey, bytes, bytes | memoryview, bytes], int | None],
) -> _Walked:
    """Check every chunk in order; `deliver` opens one (None: its tag did not verify)."""
    header, offset = SealHeader.decode(source.read_at(0, MAX_HEADER_BYTES))
    ad = bytes(source.read_at(0, offset))
    key = _lookup(key_for, header.key_id)
    total = source.size
    index = 0
    plaintext_bytes = 0

    def incomplete(torn: int) -> _Walked:
        if not allow_incomplete:
            raise SealIncomplete(
                "the segment has no final chunk: it was cut short by a crash or truncated"
                + (f", and {torn} bytes of a torn chunk follow" if torn else ""),
                chunk=index,
                torn_tail_bytes=torn,
            )
        return _Walked(header, index, plaintext_bytes, False, torn)

    while True:
        remaining = total - offset
        if remaining < LENGTH_BYTES:
            return incomplete(remaining)
        length = int.from_bytes(source.read_at(offset, LENGTH_BYTES), "big")
        if not TAG_BYTES <= length <= MAX_SEALED_CHUNK:
            raise SealChunkInvalid(
                f"the chunk length field says {length} bytes; it must be "
                f"{TAG_BYTES}..{MAX_SEALED_CHUNK}",
                chunk=index,
            )
        if remaining - LENGTH_BYTES < length:
            return incomplete(remaining)
        if index > MAX_COUNTER:
            raise SealChunkInvalid("more chunks than a segment may hold", chunk=index)
        end = offset + LENGTH_BYTES + length
        sealed = source.read_at(offset + LENGTH_BYTES, length)
        last = end == total
        opened = deliver(key, chunk_nonce(header.nonce_prefix, index, last), sealed, ad)
        if opened is None:
            last = not last
            opened = deliver(key, chunk_nonce(header.nonce_prefix, index, last), sealed, ad)
        if opened is None:
            raise SealChunkInvalid(
                "the chunk does not authenticate: it was altered, reordered, dropped, "
                "duplicated, or spliced from another segment",
                chunk=index,
            )
        plaintext_bytes += opened
        index += 1
        offset = end
        if last:
            if end != total:
                raise SealTrailingData(
                    f"{total - end} bytes follow the final chunk", chunk=index - 1
                )
            return _Walked(header, index, plaintext_bytes, True, 0)


def open_sealed(
    data: bytes | bytearray | memoryview,
    key_for: KeyLookup,
    *,
    allow_incomplete: bool = False,
) -> OpenedSegment:
    """Authenticate and decrypt a whole segment held in memory.

    Raises a `SealBroken` subclass with a stable `code`. With `allow_incomplete`, a segment
    without its final chunk (a crash) returns its whole chunks with `complete=False`.
    """
    chunks: list[bytes] = []

    def keep(key: DataKey, nonce: bytes, sealed: bytes | memoryview, ad: bytes) -> int | None:
        try:
            plaintext = key.cipher.decrypt(nonce, sealed, ad)
        except InvalidTag:
            return None
        chunks.append(plaintext)
        return len(plaintext)

    walked = _walk(_MemorySource(data), key_for, allow_incomplete, keep)
    return OpenedSegment(walked.header, tuple(chunks), walked.complete, walked.torn_tail_bytes)


def verify_sealed(
    source: bytes | bytearray | memoryview | str | os.PathLike[str],
    key_for: KeyLookup,
    *,
    allow_incomplete: bool = False,
) -> SealVerified:
    """Check every chunk tag of a segment (bytes, or a file path read piece by piece).

    Keeps no plaintext: each chunk is decrypted into one scratch buffer and dropped. Raises
    what `open_sealed` raises.
    """
    scratch = bytearray()

    def check(key: DataKey, nonce: bytes, sealed: bytes | memoryview, ad: bytes) -> int | None:
        size = len(sealed) - TAG_BYTES
        if len(scratch) < size:
            scratch.extend(bytes(size - len(scratch)))
        with memoryview(scratch) as view:
            try:
                key.cipher.decrypt_into(nonce, sealed, ad, view[:size])
            except InvalidTag:
                return None
        return size

    if isinstance(source, bytes | bytearray | memoryview):
        memory = _MemorySource(source)
        walked = _walk(memory, key_for, allow_incomplete, check)
        return _verified(walked, memory.size, memory.sha256())
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise SealHeaderInvalid(f"cannot open the segment file: {exc.strerror}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SealHeaderInvalid("the segment file is not a regular file")
        stream = _FileSource(fd)
        walked = _walk(stream, key_for, allow_incomplete, check)
        return _verified(walked, stream.size, stream.sha256())
    finally:
        os.close(fd)


def open_sealed_into(
    source: str | os.PathLike[str], key_for: KeyLookup, sink: PlaintextSink
) -> SealVerified:
    """Authenticate and decrypt a sealed file piece by piece into `sink` (an exhibit, tens of
    megabytes: never held whole). A chunk reaches `sink` only once its tag verified; on an
    error `sink` holds a prefix, which the caller discards. Raises what `open_sealed` raises;
    an incomplete file is refused."""

    def write(key: DataKey, nonce: bytes, sealed: bytes | memoryview, ad: bytes) -> int | None:
        try:
            plaintext = key.cipher.decrypt(nonce, sealed, ad)
        except InvalidTag:
            return None
        sink.write(plaintext)
        return len(plaintext)

    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise SealHeaderInvalid(f"cannot open the sealed file: {exc.strerror}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SealHeaderInvalid("the sealed file is not a regular file")
        stream = _FileSource(fd)
        walked = _walk(stream, key_for, False, write)
        return _verified(walked, stream.size, stream.sha256())
    finally:
        os.close(fd)


def _verified(walked: _Walked, size: int, sha256: str) -> SealVerified:
    return SealVerified(
        header=walked.header,
        chunks=walked.chunks,
        plaintext_bytes=walked.plaintext_bytes,
        sealed_bytes=size,
        sha256=sha256,
        complete=walked.complete,
        torn_tail_bytes=walked.torn_tail_bytes,
    )
