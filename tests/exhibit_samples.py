"""Files for the exhibit tests, made here from their formats: good PDFs, PNGs, JPEGs, MP3s
and MP4s, and every kind of bad one the checks refuse."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image


def pdf(*objects: bytes, root_extra: bytes = b"", pages: int = 1) -> bytes:
    """A PDF with `pages` empty pages, then `objects` (numbered after them), with a correct
    cross-reference table. `root_extra` goes into the catalogue."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    bodies = [
        b"<</Type/Catalog/Pages 2 0 R" + root_extra + b">>",
        b"<</Type/Pages/Kids[" + kids + b"]/Count %d>>" % pages,
        *[b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 300]>>" for _ in range(pages)],
        *objects,
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    return bytes(out)


def stream(data: bytes, *, flate: bool = True) -> bytes:
    body = zlib.compress(data) if flate else data
    kind = b"/Filter/FlateDecode" if flate else b""
    return b"<</Length %d%s>>\nstream\n" % (len(body), kind) + body + b"\nendstream"


def clean_pdf(pages: int = 3) -> bytes:
    return pdf(pages=pages)


def pdf_with_javascript() -> bytes:
    action = b"<</S/JavaScript/JS(app.alert\\(1\\))>>"
    return pdf(action, root_extra=b"/OpenAction 4 0 R")


def pdf_with_escaped_javascript() -> bytes:
    return pdf(b"<</S/J#61vaScript/J#53(app.alert\\(1\\))>>", root_extra=b"/OpenAction 4 0 R")


def pdf_with_javascript_in_an_object_stream() -> bytes:
    hidden = b"5 0 <</S/JavaScript/JS(app.alert\\(1\\))>>"
    return pdf(b"<</Type/ObjStm/N 1/First 4" + stream(hidden)[2:])


def pdf_with_embedded_file() -> bytes:
    names = b"<</EmbeddedFiles<</Names[(a.exe) 5 0 R]>>>>"
    return pdf(names, b"<</Type/Filespec/F(a.exe)>>", root_extra=b"/Names 4 0 R")


def pdf_with_launch_action() -> bytes:
    return pdf(b"<</S/Launch/F(cmd.exe)>>", root_extra=b"/OpenAction 4 0 R")


def truncated_pdf() -> bytes:
    whole = clean_pdf(pages=4)
    return whole[: len(whole) * 2 // 3]


def pdf_bomb(inflated: int = 300 * 1024 * 1024) -> bytes:
    """A PDF whose one stream inflates to `inflated` bytes of zeros."""
    packer = zlib.compressobj(9)
    block = bytes(1024 * 1024)
    packed = b"".join(packer.compress(block) for _ in range(inflated // len(block)))
    packed += packer.flush()
    return pdf(
        b"<</Length %d/Filter/FlateDecode>>\nstream\n" % len(packed) + packed + b"\nendstream"
    )


def big_pdf(size: int) -> bytes:
    """A valid PDF of about `size` bytes: one incompressible stream (random-looking, cheap)."""
    filler = (bytes(range(256)) * 7 + b"\x01") * (size // 1793 + 1)
    return pdf(stream(filler[:size], flate=False))


def zip_file(member_bytes: int = 10 * 1024 * 1024) -> bytes:
    """A ZIP whose one member inflates to `member_bytes` zeros (a small zip bomb)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("payload.bin", bytes(member_bytes))
    return out.getvalue()


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 30, 200)).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 130, 90)).save(out, "JPEG")
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 30_000) -> bytes:
    """A PNG that says it is side x side pixels, in a few hundred bytes."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(bytes(side + 1) * 4)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", rows)
        + _png_chunk(b"IEND", b"")
    )


def png_with_pdf_inside() -> bytes:
    """A PNG with a PDF header in a text chunk, where a PDF reader looks for one."""
    good = png()
    text = _png_chunk(b"tEXt", b"Comment\x00%PDF-1.4 1 0 obj<<>>endobj")
    return good[:33] + text + good[33:]


def malformed_png() -> bytes:
    good = png()
    return good[:33] + _png_chunk(b"IDAT", b"not zlib at all") + _png_chunk(b"IEND", b"")


def mp3(frames: int = 20) -> bytes:
    """MPEG-1 layer III frames at 128 kbit/s, 44.1 kHz (417 bytes each), behind an ID3v2 tag."""
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10)
    frame = b"\xff\xfb\x90\x00" + bytes(413)
    return tag + frame * frames


def _box(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", 8 + len(data)) + kind + data


def mp4() -> bytes:
    return (
        _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
        + _box(b"moov", _box(b"mvhd", bytes(100)))
        + _box(b"mdat", bytes(256))
    )


def document_pdf(pages: int = 5, title: str = "Contract of sale No. 12/2026") -> bytes:
    """A PDF with words and a rule on every page (Helvetica, one of PDF's standard fonts)."""
    font = 3 + 2 * pages
    kids = b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(pages))
    bodies = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[" + kids + b"]/Count %d>>" % pages,
    ]
    for number in range(1, pages + 1):
        text = (
            b"BT /F1 22 Tf 56 760 Td (" + title.encode() + b") Tj ET\n"
            b"BT /F1 14 Tf 56 730 Td (Page %d of %d) Tj ET\n"
            % (number, pages)
            + b"0.2 0.3 0.6 RG 3 w 56 715 m 540 715 l S\n"
            + b"".join(
                b"BT /F1 11 Tf 56 %d Td (Clause %d.%d: the seller delivers the goods.) Tj ET\n"
                % (690 - 18 * line, number, line + 1)
                for line in range(12)
            )
        )
        bodies.append(
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents %d 0 R"
            b"/Resources<</Font<</F1 %d 0 R>>>>>>" % (4 + 2 * (number - 1), font)
        )
        bodies.append(b"<</Length %d>>\nstream\n" % len(text) + text + b"\nendstream")
    bodies.append(b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>")
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    return bytes(out)
