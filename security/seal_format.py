"""The byte layout of a sealed segment: the header, the chunk frame and the nonce.

docs/recording-format.md describes the same layout for anyone verifying offline.

    segment = header || chunk*            (the last chunk carries the last flag)
    header  = "ECSEAL" || version(1) || str8 recording_id || str8 hearing_id || str8 track
              || segment(4, big-endian) || str8 key_id || 7 || nonce_prefix(7)
    str8    = length(1) || UTF-8 bytes
    chunk   = length(4, big-endian) of ciphertext||tag || ciphertext || tag(16)
    nonce   = nonce_prefix(7) || counter(4, big-endian, from 0) || last(1: 0 or 1)
    AD      = the header bytes exactly as written
"""

from __future__ import annotations

import struct
import unicodedata
from dataclasses import dataclass

from security.datakey import NONCE_PREFIX_BYTES, check_key_id
from security.seal_errors import SealHeaderInvalid

FORMAT_VERSION = 1
MAGIC = b"ECSEAL"
TAG_BYTES = 16
NONCE_BYTES = NONCE_PREFIX_BYTES + 4 + 1
LENGTH_BYTES = 4
MAX_SEALED_CHUNK = 16 * 1024 * 1024
"""The largest ciphertext||tag a chunk may declare; a reader refuses anything longer."""
MAX_CHUNK_PLAINTEXT = MAX_SEALED_CHUNK - TAG_BYTES
MAX_COUNTER = 0xFFFFFFFF
MAX_NAME_BYTES = 128
MAX_SEGMENT = 0xFFFFFFFF
MAX_HEADER_BYTES = len(MAGIC) + 1 + 3 * (1 + MAX_NAME_BYTES) + 4 + (1 + 32) + 1 + NONCE_PREFIX_BYTES

_LAST = b"\x01"
_NOT_LAST = b"\x00"


def chunk_nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    """The 12-byte nonce of chunk `counter`."""
    return prefix + counter.to_bytes(4, "big") + (_LAST if last else _NOT_LAST)


def _check_name(field: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise SealHeaderInvalid(f"the header's {field} must be a non-empty string")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise SealHeaderInvalid(f"the header's {field} is longer than {MAX_NAME_BYTES} bytes")
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs", "Cf", "Zl", "Zp"):
            raise SealHeaderInvalid(f"the header's {field} holds a control character")
    return value


@dataclass(frozen=True, slots=True)
class SealHeader:
    """What a segment is: bound into every chunk as associated data."""

    recording_id: str
    hearing_id: str
    track: str
    segment: int
    key_id: str
    nonce_prefix: bytes
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        _check_name("recording_id", self.recording_id)
        _check_name("hearing_id", self.hearing_id)
        _check_name("track", self.track)
        if (
            not isinstance(self.segment, int)
            or isinstance(self.segment, bool)
            or not 0 <= self.segment <= MAX_SEGMENT
        ):
            raise SealHeaderInvalid(f"the header's segment must be an integer 0..{MAX_SEGMENT}")
        try:
            check_key_id(self.key_id)
        except ValueError as exc:
            raise SealHeaderInvalid(f"the header's key_id is invalid: {exc}") from exc
        if not isinstance(self.nonce_prefix, bytes) or len(self.nonce_prefix) != (
            NONCE_PREFIX_BYTES
        ):
            raise SealHeaderInvalid(f"the header's nonce prefix must be {NONCE_PREFIX_BYTES} bytes")
        if self.format_version != FORMAT_VERSION or isinstance(self.format_version, bool):
            raise SealHeaderInvalid(
                f"format version {self.format_version!r} is not supported (only {FORMAT_VERSION})"
            )

    def encode(self) -> bytes:
        parts = [MAGIC, bytes((self.format_version,))]
        for name in (self.recording_id, self.hearing_id, self.track):
            raw = name.encode("utf-8")
            parts += [bytes((len(raw),)), raw]
        key_id = self.key_id.encode("ascii")
        parts += [
            struct.pack(">I", self.segment),
            bytes((len(key_id),)),
            key_id,
            bytes((NONCE_PREFIX_BYTES,)),
            self.nonce_prefix,
        ]
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes | memoryview) -> tuple[SealHeader, int]:
        """Parse a header from the start of `data`: (header, bytes consumed)."""
        reader = _Reader(data)
        if reader.take(len(MAGIC), "magic") != MAGIC:
            raise SealHeaderInvalid("not a sealed segment (no ECSEAL magic)")
        version = reader.take(1, "format version")[0]
        if version != FORMAT_VERSION:
            raise SealHeaderInvalid(
                f"format version {version} is not supported (only {FORMAT_VERSION})"
            )
        recording_id = reader.text("recording_id", MAX_NAME_BYTES)
        hearing_id = reader.text("hearing_id", MAX_NAME_BYTES)
        track = reader.text("track", MAX_NAME_BYTES)
        (segment,) = struct.unpack(">I", reader.take(4, "segment"))
        key_id = reader.text("key_id", 32)
        if reader.take(1, "nonce prefix length")[0] != NONCE_PREFIX_BYTES:
            raise SealHeaderInvalid(f"the nonce prefix must be {NONCE_PREFIX_BYTES} bytes")
        prefix = reader.take(NONCE_PREFIX_BYTES, "nonce prefix")
        header = cls(recording_id, hearing_id, track, segment, key_id, prefix, version)
        return header, reader.offset


class _Reader:
    """Bounded reads from the front of a buffer; running short is a header error."""

    def __init__(self, data: bytes | memoryview) -> None:
        self._data = data
        self.offset = 0

    def take(self, count: int, what: str) -> bytes:
        end = self.offset + count
        if end > len(self._data):
            raise SealHeaderInvalid(f"the header is cut short in its {what}")
        chunk = bytes(self._data[self.offset : end])
        self.offset = end
        return chunk

    def text(self, what: str, limit: int) -> str:
        length = self.take(1, f"{what} length")[0]
        if not 1 <= length <= limit:
            raise SealHeaderInvalid(f"the header's {what} must be 1..{limit} bytes")
        try:
            return self.take(length, what).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SealHeaderInvalid(f"the header's {what} is not UTF-8") from exc
