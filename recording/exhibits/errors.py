"""The exhibits' errors: under `RecordingError`, the one root of `recording`. A refused upload
says why with an `ExhibitRefusal`, whose value is the wire code (web/errors.py)."""

from __future__ import annotations

from enum import StrEnum

from recording.errors import RecordingError


class ExhibitRefusal(StrEnum):
    EMPTY = "exhibit_empty"
    TOO_LARGE = "exhibit_too_large"
    TYPE_REFUSED = "exhibit_type_refused"
    """Not a PDF, JPEG, PNG, MP3 or MP4 by its content (whatever its name says)."""
    POLYGLOT = "exhibit_polyglot"
    """Readable as two types at once (a PDF that is also a ZIP, a PNG with a ZIP behind it)."""
    PDF_JAVASCRIPT = "exhibit_pdf_javascript"
    PDF_EMBEDDED_FILE = "exhibit_pdf_embedded_file"
    PDF_LAUNCH_ACTION = "exhibit_pdf_launch_action"
    PDF_ACTIVE_CONTENT = "exhibit_pdf_active_content"
    """XFA forms or rich media: content that runs, other than JavaScript."""
    PDF_TRUNCATED = "exhibit_pdf_truncated"
    PDF_MALFORMED = "exhibit_pdf_malformed"
    PDF_ENCRYPTED = "exhibit_pdf_encrypted"
    PDF_TOO_COMPLEX = "exhibit_pdf_too_complex"
    """Its compressed streams inflate past the bound the check reads (a decompression bomb)."""
    IMAGE_TOO_LARGE = "exhibit_image_too_large"
    """More pixels than the bound: a decompression bomb, however small the file."""
    IMAGE_MALFORMED = "exhibit_image_malformed"
    MEDIA_MALFORMED = "exhibit_media_malformed"


class ExhibitRefused(RecordingError):
    """An upload refused, with its reason."""

    def __init__(self, reason: ExhibitRefusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    @property
    def code(self) -> str:  # type: ignore[override]
        return self.reason.value


class ExhibitNotFound(RecordingError):
    """No such exhibit in this hearing (ids of another hearing's exhibits are not found)."""

    code = "exhibit_not_found"


class ExhibitDecided(RecordingError):
    """The exhibit was already admitted or refused: a decision is final."""

    code = "exhibit_already_decided"


class ExhibitNotAdmitted(RecordingError):
    """Only an admitted exhibit is presented or exported."""

    code = "exhibit_not_admitted"


class ExhibitIndexInvalid(RecordingError):
    """An exported set of exhibits fails verification (a file or the index was altered)."""

    code = "exhibit_index_invalid"


class ExhibitTampered(RecordingError):
    """An exhibit's sealed content does not open, or opens to other bytes than were submitted."""

    code = "exhibit_tampered"


class ExhibitNotPresented(RecordingError):
    """No such exhibit is presented now, or not that page."""

    code = "exhibit_not_presented"


class ExhibitHidden(RecordingError):
    """The court's matrix keeps this viewer from the exhibit presented (a restricted one)."""

    code = "exhibit_hidden"
