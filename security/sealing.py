"""Sealed segments: AES-256-GCM in the STREAM construction, written chunk by chunk.

A `SealedWriter` holds plaintext in memory only. It writes the header at once, then one chunk
whenever `chunk_bytes` of plaintext are buffered or the oldest buffered byte is `chunk_seconds`
old, and a final chunk (last flag set, possibly empty) on `close()`. Each chunk is flushed to the
OS as soon as it is written, so a crash loses at most the chunk in progress. `open_sealed` and
`verify_sealed` (security/seal_open.py) read it back; docs/recording-format.md gives the layout.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass

from security.datakey import NONCE_PREFIX_BYTES, DataKey
from security.seal_errors import (
    SealBroken,
    SealChunkInvalid,
    SealClosed,
    SealHeaderInvalid,
    SealIncomplete,
    SealKeyUnknown,
    SealNonceReused,
    SealRefused,
    SealTrailingData,
)
from security.seal_format import (
    FORMAT_VERSION,
    LENGTH_BYTES,
    MAX_CHUNK_PLAINTEXT,
    MAX_COUNTER,
    MAX_SEALED_CHUNK,
    TAG_BYTES,
    SealHeader,
    chunk_nonce,
)
from security.seal_open import (
    OpenedSegment,
    SealVerified,
    open_sealed,
    open_sealed_into,
    verify_sealed,
)

__all__ = [
    "FORMAT_VERSION",
    "MAX_CHUNK_PLAINTEXT",
    "MAX_SEALED_CHUNK",
    "NONCE_PREFIX_BYTES",
    "TAG_BYTES",
    "DataKey",
    "OpenedSegment",
    "SealBroken",
    "SealChunkInvalid",
    "SealClosed",
    "SealHeader",
    "SealHeaderInvalid",
    "SealIncomplete",
    "SealKeyUnknown",
    "SealNonceReused",
    "SealRefused",
    "SealSinkFailed",
    "SealSummary",
    "SealTrailingData",
    "SealVerified",
    "SealedWriter",
    "open_sealed",
    "open_sealed_into",
    "verify_sealed",
]


class SealSinkFailed(SealRefused):
    """Writing to the sink failed earlier; the segment ends there (it verifies as incomplete)."""

    code = "seal_sink_failed"


@dataclass(frozen=True, slots=True)
class SealSummary:
    """What a closed writer wrote."""

    sha256: str
    """Hex SHA-256 of every byte written to the sink: header and all chunks."""
    chunks: int
    plaintext_bytes: int
    sealed_bytes: int


class SealedWriter:
    """Seals one segment into `sink`. Not thread-safe: use it from one thread or event loop."""

    def __init__(
        self,
        sink: typing.BinaryIO,
        key: DataKey,
        header: SealHeader,
        *,
        chunk_bytes: int = 65536,
        chunk_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        fsync: bool = False,
    ) -> None:
        if not isinstance(chunk_bytes, int) or not 1 <= chunk_bytes <= MAX_CHUNK_PLAINTEXT:
            raise SealRefused(f"chunk_bytes must be 1..{MAX_CHUNK_PLAINTEXT}")
        if not (isinstance(chunk_seconds, int | float) and math.isfinite(chunk_seconds)):
            raise SealRefused("chunk_seconds must be a finite number of seconds")
        if chunk_seconds <= 0:
            raise SealRefused("chunk_seconds must be more than 0")
        if not isinstance(key, DataKey) or not isinstance(header, SealHeader):
            raise SealRefused("a SealedWriter needs a DataKey and a SealHeader")
        if header.key_id != key.key_id:
            raise SealRefused("the header names another data key than the one given")
        key.claim_nonce_prefix(header.nonce_prefix)
        self._sink = sink
        self._cipher = key.cipher
        self._header = header
        self._prefix = header.nonce_prefix
        self._ad = header.encode()
        self._chunk_bytes = chunk_bytes
        self._chunk_seconds = float(chunk_seconds)
        self._clock = clock
        self._fsync = fsync
        self._hash = hashlib.sha256()
        self._frame = bytearray(LENGTH_BYTES + chunk_bytes + TAG_BYTES)
        self._buffer = bytearray()
        self._oldest = 0.0
        self._counter = 0
        self._plaintext_bytes = 0
        self._sealed_bytes = 0
        self._summary: SealSummary | None = None
        self._failed = False
        self._put(self._ad)

    @property
    def header(self) -> SealHeader:
        return self._header

    @property
    def closed(self) -> bool:
        return self._summary is not None

    @property
    def chunks(self) -> int:
        """Chunks written so far."""
        return self._counter

    @property
    def buffered_bytes(self) -> int:
        """Plaintext held in memory, not yet sealed: what a crash now would lose."""
        return len(self._buffer)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Buffer `data`; seal every full chunk, and the rest once its oldest byte is due."""
        self._check_open()
        now = self._clock()
        with memoryview(data) as view:
            flat = view.cast("B") if view.ndim != 1 or view.format != "B" else view
            size = len(flat)
            if size == 0:
                self._seal_if_due(now)
                return
            self._plaintext_bytes += size
            start = 0
            if not self._buffer:
                # Fast path: seal whole chunks straight from the caller's buffer.
                while size - start >= self._chunk_bytes:
                    self._emit(flat[start : start + self._chunk_bytes], last=False)
                    start += self._chunk_bytes
                if start == size:
                    return
                self._oldest = now
                self._buffer += flat[start:]
            else:
                self._buffer += flat
                if len(self._buffer) >= self._chunk_bytes:
                    self._drain_full_chunks()
                    if 0 < len(self._buffer) <= size:
                        # What is left came from this write alone.
                        self._oldest = now
        self._seal_if_due(now)

    def flush_due(self) -> None:
        """Seal the buffer if its oldest byte is `chunk_seconds` old (for a periodic timer)."""
        if self._summary is not None or self._failed:
            return
        self._seal_if_due(self._clock())

    def close(self) -> SealSummary:
        """Seal what is buffered as the final chunk and flush. Idempotent."""
        if self._summary is not None:
            return self._summary
        self._check_open()
        with memoryview(self._buffer) as view:
            self._emit(view, last=True)
        self._clear_buffer()
        self._summary = SealSummary(
            sha256=self._hash.hexdigest(),
            chunks=self._counter,
            plaintext_bytes=self._plaintext_bytes,
            sealed_bytes=self._sealed_bytes,
        )
        return self._summary

    def _check_open(self) -> None:
        if self._summary is not None:
            raise SealClosed("the segment is closed; start a new one")
        if self._failed:
            raise SealSinkFailed("writing this segment failed earlier; start a new segment")

    def _seal_if_due(self, now: float) -> None:
        if self._buffer and now - self._oldest >= self._chunk_seconds:
            with memoryview(self._buffer) as view:
                self._emit(view, last=False)
            self._clear_buffer()

    def _drain_full_chunks(self) -> None:
        step = self._chunk_bytes
        used = 0
        with memoryview(self._buffer) as view:
            while len(view) - used >= step:
                self._emit(view[used : used + step], last=False)
                used += step
        del self._buffer[:used]

    def _clear_buffer(self) -> None:
        self._buffer.clear()

    def _emit(self, plaintext: memoryview, *, last: bool) -> None:
        if self._counter > MAX_COUNTER or (not last and self._counter == MAX_COUNTER):
            raise SealRefused("the segment has reached its chunk limit; start a new segment")
        sealed = len(plaintext) + TAG_BYTES
        nonce = chunk_nonce(self._prefix, self._counter, last)
        frame = self._frame
        struct.pack_into(">I", frame, 0, sealed)
        with memoryview(frame) as view:
            self._cipher.encrypt_into(
                nonce, plaintext, self._ad, view[LENGTH_BYTES : LENGTH_BYTES + sealed]
            )
            self._put(view[: LENGTH_BYTES + sealed])
        self._counter += 1

    def _put(self, data: bytes | memoryview) -> None:
        """Write all of `data`, hash it, and hand it to the OS (and the disk, with fsync)."""
        try:
            with memoryview(data) as view:
                done = 0
                while done < len(view):
                    written = self._sink.write(view[done:])
                    if written is None:  # a sink that does not count: it took everything
                        break
                    if written <= 0:
                        raise OSError("the sink accepted no bytes")
                    done += written
                self._hash.update(view)
            self._sink.flush()
            if self._fsync:
                os.fsync(self._sink.fileno())
        except BaseException:
            self._failed = True
            raise
        self._sealed_bytes += len(data)
