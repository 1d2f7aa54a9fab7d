"""The PDF checks: whole (not truncated), openable by PDFium (pypdfium2), not encrypted, and
without anything that runs: JavaScript, embedded files, launch actions, XFA forms or rich
media. Those are refused, never stripped: an exhibit is kept exactly as it was submitted, so
that its SHA-256 is the one the submitter can reproduce.

Names are looked for twice: in the file's bytes, and in every stream that inflates (object
streams hide dictionaries there), with PDF's `#xx` escapes decoded (`/J#61vaScript` is
`/JavaScript`). The inflating reads at most `MAX_INFLATED` bytes in all, piece by piece, so a
decompression bomb costs a bounded amount of time and no more memory than one piece. PDFium
then opens the file and is asked for document-level JavaScript and attachments.

pypdfium2 (Apache-2.0 or BSD-3-Clause; PDFium itself BSD-3-Clause) fits an Apache-2.0
distribution. PyMuPDF would not: it is AGPL-3.0 (or commercial).
"""

from __future__ import annotations

import io
import mmap
import re
import threading
import zlib
from typing import Final

import pypdfium2
import pypdfium2.raw as pdfium_c

from recording.exhibits.errors import ExhibitRefusal, ExhibitRefused

MAX_INFLATED: Final = 256 * 1024 * 1024
"""Bytes the scan inflates in all, over every stream of one PDF."""
PIECE: Final = 1024 * 1024
OVERLAP: Final = 64
"""Bytes kept from the end of one piece, so a name cut between two is still seen."""
MAX_PAGES: Final = 10_000

_REFUSED_NAMES: Final = {
    b"JS": ExhibitRefusal.PDF_JAVASCRIPT,
    b"JavaScript": ExhibitRefusal.PDF_JAVASCRIPT,
    b"EmbeddedFile": ExhibitRefusal.PDF_EMBEDDED_FILE,
    b"EmbeddedFiles": ExhibitRefusal.PDF_EMBEDDED_FILE,
    b"Launch": ExhibitRefusal.PDF_LAUNCH_ACTION,
    b"XFA": ExhibitRefusal.PDF_ACTIVE_CONTENT,
    b"RichMedia": ExhibitRefusal.PDF_ACTIVE_CONTENT,
}
_DELIMITER: Final = rb"(?=[\s/<>\[\]()%{}]|\Z)"
_PLAIN: Final = re.compile(rb"/(JS|JavaScript|EmbeddedFiles?|Launch|XFA|RichMedia)" + _DELIMITER)
_ESCAPED: Final = re.compile(rb"/[^\s/<>\[\]()%{}#]*#[0-9A-Fa-f]{2}[^\s/<>\[\]()%{}]*")
_HEX: Final = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM: Final = re.compile(rb"stream\r?\n")
_PDFIUM = threading.Lock()
"""PDFium is not thread-safe: one call at a time in the process."""


def _refuse(reason: ExhibitRefusal, message: str) -> ExhibitRefused:
    return ExhibitRefused(reason, message)


def scan_names(data: bytes | mmap.mmap) -> None:
    """Refuse the first name of `_REFUSED_NAMES` found in `data`, spelled plainly or escaped."""
    found = _PLAIN.search(data)
    if found is not None:
        name = found.group(1)
        raise _refuse(_REFUSED_NAMES[name], f"the PDF holds /{name.decode()}")
    for match in _ESCAPED.finditer(data):
        name = _HEX.sub(lambda m: bytes((int(m.group(1), 16),)), match.group(0)[1:])
        reason = _REFUSED_NAMES.get(name)
        if reason is not None:
            raise _refuse(reason, f"the PDF holds /{name.decode('latin-1')} (escaped)")


def _scan_streams(data: mmap.mmap) -> None:
    budget = MAX_INFLATED
    for start in _STREAM.finditer(data):
        begin = start.end()
        end = data.find(b"endstream", begin)
        if end == -1:
            end = len(data)
        inflater = zlib.decompressobj()
        pending = data[begin : min(end, begin + PIECE)]
        fed = begin + len(pending)
        carry = b""
        while pending:
            try:
                piece = inflater.decompress(pending, PIECE)
            except zlib.error:
                break  # not a Flate stream (an image, or damaged): PDFium judges the rest
            budget -= len(piece)
            if budget < 0:
                raise _refuse(
                    ExhibitRefusal.PDF_TOO_COMPLEX,
                    f"the PDF's streams inflate past {MAX_INFLATED} bytes",
                )
            scan_names(carry + piece)
            carry = piece[-OVERLAP:] if piece else carry
            pending = inflater.unconsumed_tail
            if not pending and fed < end and not inflater.eof:
                pending = data[fed : min(end, fed + PIECE)]
                fed += len(pending)
            if inflater.eof:
                break


def _check_whole(data: mmap.mmap) -> None:
    tail = bytes(data[max(0, len(data) - 1024) :]).rstrip(b"\x00\t\n\x0c\r ")
    if not tail.endswith(b"%%EOF") or b"startxref" not in tail:
        raise _refuse(ExhibitRefusal.PDF_TRUNCATED, "the PDF does not end with startxref and %%EOF")


def check_pdf(path: object, data: mmap.mmap) -> int:
    """Check the PDF whose bytes are `data` (mapped from `path`); its number of pages."""
    _check_whole(data)
    scan_names(data)
    _scan_streams(data)
    with _PDFIUM:
        return _open_with_pdfium(str(path))


def _open_with_pdfium(path: str) -> int:
    try:
        document = pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise _refuse(ExhibitRefusal.PDF_ENCRYPTED, "the PDF is password-protected") from exc
        raise _refuse(ExhibitRefusal.PDF_MALFORMED, "PDFium cannot open the PDF") from exc
    try:
        if pdfium_c.FPDF_GetSecurityHandlerRevision(document.raw) != -1:
            raise _refuse(ExhibitRefusal.PDF_ENCRYPTED, "the PDF is encrypted")
        pages = len(document)
        if not 1 <= pages <= MAX_PAGES:
            raise _refuse(ExhibitRefusal.PDF_MALFORMED, f"the PDF has {pages} pages")
        if pdfium_c.FPDFDoc_GetJavaScriptActionCount(document.raw) > 0:
            raise _refuse(ExhibitRefusal.PDF_JAVASCRIPT, "the PDF holds JavaScript")
        if document.count_attachments() > 0:
            raise _refuse(ExhibitRefusal.PDF_EMBEDDED_FILE, "the PDF holds embedded files")
        return pages
    finally:
        document.close()


def render_page(data: bytes, page: int, width: int) -> bytes:
    """Page `page` (from 1) of the PDF `data` as a PNG `width` pixels wide (its height in
    proportion, at most four times the width)."""
    with _PDFIUM:
        document = pypdfium2.PdfDocument(data)
        try:
            sheet = document[page - 1]
            try:
                scale = width / max(1.0, sheet.get_width())
                scale = min(scale, 4 * width / max(1.0, sheet.get_height()))
                image = sheet.render(scale=scale).to_pil()
            finally:
                sheet.close()
        finally:
            document.close()
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def extract_page(data: bytes, page: int) -> bytes:
    """Page `page` (from 1) of the PDF `data` alone, as a one-page PDF (for pdf.js)."""
    with _PDFIUM:
        source = pypdfium2.PdfDocument(data)
        single = pypdfium2.PdfDocument.new()
        try:
            single.import_pages(source, [page - 1])
            out = io.BytesIO()
            single.save(out)
        finally:
            single.close()
            source.close()
    return out.getvalue()
