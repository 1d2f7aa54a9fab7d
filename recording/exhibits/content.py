"""What an uploaded file is, by its content alone: PDF, JPEG, PNG, MP3 or MP4, and whether it
is safe to keep as an exhibit. The name the submitter gave and the type they declared are
never asked. Each refusal raises `ExhibitRefused` with its reason; nothing else escapes
(`tests/fuzz_targets.py` holds it to that).

- The type comes from the first bytes (`sniff`); a file that another reader would take for
  another type is a polyglot: a ZIP's end record in the tail, `%PDF-` within the first 1024
  bytes of a non-PDF (where PDF readers look for it), bytes after an image's or a PDF's end.
- PDFs: `recording/exhibits/pdf.py` (pypdfium2, and a scan of the names in every stream).
- Images are decoded whole by Pillow, after their size is read and checked against a bound
  on pixels (a decompression bomb is small on disk and huge in memory); the file must end
  where the image ends (PNG's IEND, JPEG's EOI).
- MP3 and MP4 are walked, not decoded: MP4's top-level boxes must cover the file exactly,
  with `ftyp` first and a `moov`; MP3's frames must follow each other to the end (an ID3v2
  tag in front and an ID3v1 tag at the end are allowed).
"""

from __future__ import annotations

import mmap
import struct
import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from PIL import Image, UnidentifiedImageError

from recording.exhibits.errors import ExhibitRefusal, ExhibitRefused
from recording.exhibits.pdf import check_pdf

MAX_PIXELS: Final = 40_000_000
"""Pixels an image exhibit may hold (40 megapixels: a full-frame camera's photograph)."""
ZIP_END: Final = b"PK\x05\x06"
ZIP_TAIL: Final = 65_535 + 22
"""A ZIP reader looks for its end record in this many bytes from the end."""
PDF_LOOKS: Final = 1024
"""PDF readers accept `%PDF-` anywhere in this many first bytes."""


class ExhibitKind(StrEnum):
    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"
    MP3 = "mp3"
    MP4 = "mp4"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]

    @property
    def extension(self) -> str:
        return "jpg" if self is ExhibitKind.JPEG else self.value


_MEDIA_TYPES: Final = {
    ExhibitKind.PDF: "application/pdf",
    ExhibitKind.JPEG: "image/jpeg",
    ExhibitKind.PNG: "image/png",
    ExhibitKind.MP3: "audio/mpeg",
    ExhibitKind.MP4: "video/mp4",
}


@dataclass(frozen=True, slots=True)
class Inspected:
    """What the checks found in a file that passed them."""

    kind: ExhibitKind
    size: int
    pages: int = 0
    """A PDF's pages (1 for an image, 0 for sound and video)."""
    width: int = 0
    height: int = 0


def _refuse(reason: ExhibitRefusal, message: str) -> ExhibitRefused:
    return ExhibitRefused(reason, message)


def sniff(head: bytes) -> ExhibitKind:
    """The type the first bytes say (at least 12 of them are needed)."""
    if head.startswith(b"%PDF-"):
        return ExhibitKind.PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ExhibitKind.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return ExhibitKind.JPEG
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return ExhibitKind.MP4
    if head.startswith(b"ID3") or _mp3_header(head, 0) is not None:
        return ExhibitKind.MP3
    raise _refuse(ExhibitRefusal.TYPE_REFUSED, "not a PDF, JPEG, PNG, MP3 or MP4 by its content")


def inspect_file(path: Path, max_pixels: int = MAX_PIXELS) -> Inspected:
    """Check the file at `path` (already within the size bound) and say what it is."""
    size = path.stat().st_size
    if size == 0:
        raise _refuse(ExhibitRefusal.EMPTY, "the file is empty")
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        kind = sniff(bytes(data[:16]))
        if data.rfind(ZIP_END, max(0, size - ZIP_TAIL)) != -1:
            raise _refuse(ExhibitRefusal.POLYGLOT, "the file is also a ZIP archive")
        if kind is not ExhibitKind.PDF and data.find(b"%PDF-", 0, PDF_LOOKS) != -1:
            raise _refuse(ExhibitRefusal.POLYGLOT, "the file is also a PDF")
        if kind is ExhibitKind.PDF:
            return Inspected(kind, size, pages=check_pdf(path, data))
        if kind is ExhibitKind.PNG:
            _walk_png(data)
        elif kind is ExhibitKind.JPEG:
            _check_jpeg_end(data)
        elif kind is ExhibitKind.MP4:
            _walk_mp4(data)
            return Inspected(kind, size)
        else:
            _walk_mp3(data)
            return Inspected(kind, size)
    width, height = _decode_image(path, kind, max_pixels)
    return Inspected(kind, size, pages=1, width=width, height=height)


def inspect_bytes(data: bytes, scratch: Path) -> Inspected:
    """`inspect_file` for bytes held in memory (the fuzz target), through a scratch file."""
    scratch.write_bytes(data)
    try:
        return inspect_file(scratch)
    finally:
        scratch.unlink(missing_ok=True)


# -- images --------------------------------------------------------------------------------------


def _decode_image(path: Path, kind: ExhibitKind, max_pixels: int) -> tuple[int, int]:
    malformed = ExhibitRefusal.IMAGE_MALFORMED
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=["PNG" if kind is ExhibitKind.PNG else "JPEG"]) as image:
                width, height = image.size
                if width <= 0 or height <= 0:
                    raise _refuse(malformed, "the image has no pixels")
                if width * height > max_pixels:
                    raise _refuse(
                        ExhibitRefusal.IMAGE_TOO_LARGE,
                        f"the image is {width}x{height} pixels; at most {max_pixels} are kept",
                    )
                image.load()
        except ExhibitRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _refuse(ExhibitRefusal.IMAGE_TOO_LARGE, "the image decompresses too far") from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
            raise _refuse(malformed, f"the image does not decode: {type(exc).__name__}") from exc
        except (MemoryError, struct.error, IndexError, TypeError, ZeroDivisionError) as exc:
            raise _refuse(malformed, f"the image does not decode: {type(exc).__name__}") from exc
    return width, height


def _walk_png(data: mmap.mmap) -> None:
    """Chunk by chunk from the signature to IEND, which must end the file."""
    malformed = ExhibitRefusal.IMAGE_MALFORMED
    offset, size = 8, len(data)
    first = True
    while True:
        if offset + 12 > size:
            raise _refuse(malformed, "the PNG ends inside a chunk (no IEND)")
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if first and kind != b"IHDR":
            raise _refuse(malformed, "the PNG does not start with IHDR")
        first = False
        end = offset + 12 + length
        if length > 0x7FFFFFFF or end > size:
            raise _refuse(malformed, "a PNG chunk runs past the end of the file")
        offset = end
        if kind == b"IEND":
            break
    if offset != size:
        raise _refuse(ExhibitRefusal.POLYGLOT, f"{size - offset} bytes follow the PNG's end")


def _check_jpeg_end(data: mmap.mmap) -> None:
    end = len(data)
    if end < 4 or data[end - 2 : end] != b"\xff\xd9":
        if data.rfind(b"\xff\xd9") != -1:
            raise _refuse(ExhibitRefusal.POLYGLOT, "bytes follow the JPEG's end")
        raise _refuse(ExhibitRefusal.IMAGE_MALFORMED, "the JPEG has no end marker")


# -- sound and video -----------------------------------------------------------------------------

_MP4_TOP: Final = frozenset(
    {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"meta", b"moof", b"mfra"}
    | {b"styp", b"sidx", b"pdin", b"udta"}
)


def _walk_mp4(data: mmap.mmap) -> None:
    """Top-level boxes, each of a known type, covering the file exactly; `ftyp` first."""
    malformed = ExhibitRefusal.MEDIA_MALFORMED
    offset, size = 0, len(data)
    seen: set[bytes] = set()
    while offset < size:
        if offset + 8 > size:
            raise _refuse(malformed, "the MP4 ends inside a box header")
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if length == 1:
            if offset + 16 > size:
                raise _refuse(malformed, "the MP4 ends inside a box header")
            (length,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        elif length == 0:
            length = size - offset
        if length < 8 or offset + length > size:
            raise _refuse(malformed, "an MP4 box runs past the end of the file")
        if kind not in _MP4_TOP:
            raise _refuse(malformed, f"the MP4 holds an unknown top-level box {kind!r}")
        if not seen and kind != b"ftyp":
            raise _refuse(malformed, "the MP4 does not start with ftyp")
        seen.add(kind)
        offset += length
    if b"moov" not in seen:
        raise _refuse(malformed, "the MP4 has no moov box")


_BITRATES: Final = {  # kbit/s by index, for MPEG-1 and MPEG-2/2.5 layer III
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES: Final = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_header(data: bytes | mmap.mmap, offset: int) -> int | None:
    """The length of the layer III frame at `offset`, or None if none starts there."""
    if offset + 4 > len(data):
        return None
    b0, b1, b2 = data[offset], data[offset + 1], data[offset + 2]
    if b0 != 0xFF or (b1 & 0xE0) != 0xE0:
        return None
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
    bitrate_index, rate_index, padding = b2 >> 4, (b2 >> 2) & 3, (b2 >> 1) & 1
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    bitrate = _BITRATES[3 if version == 3 else 2][bitrate_index] * 1000
    rate = _RATES[version][rate_index]
    per_frame = 144 if version == 3 else 72
    return per_frame * bitrate // rate + padding


def _walk_mp3(data: mmap.mmap) -> None:
    malformed = ExhibitRefusal.MEDIA_MALFORMED
    offset, size = 0, len(data)
    if data[:3] == b"ID3":
        if size < 10 or any(b & 0x80 for b in data[6:10]):
            raise _refuse(malformed, "the ID3 tag's size is malformed")
        tag = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        offset = 10 + tag + (10 if data[5] & 0x10 else 0)
    frames = 0
    while offset < size:
        if size - offset == 128 and data[offset : offset + 3] == b"TAG":
            break
        length = _mp3_header(data, offset)
        if length is None or length < 4 or offset + length > size:
            raise _refuse(malformed, f"no whole MPEG audio frame at byte {offset}")
        offset += length
        frames += 1
    if frames == 0:
        raise _refuse(malformed, "the MP3 holds no audio frame")
