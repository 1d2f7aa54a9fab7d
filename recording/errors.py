"""The one error root of `recording`."""

from __future__ import annotations


class RecordingError(Exception):
    """Root of every error raised by `recording`."""

    code = "recording_error"


class RecordingForbidden(RecordingError):
    """The court's policy forbids recording this hearing, room or phase."""

    code = "recording_forbidden"


class RecordingFenced(RecordingError):
    """This node no longer holds the hearing, or a node of a newer epoch has written the
    recording's manifest: it writes nothing more to the recording."""

    code = "recording_fenced"


class RecordingNotFound(RecordingError):
    code = "recording_not_found"


class RecordingInvalid(RecordingError):
    """A recording's files are missing, malformed or fail verification."""

    code = "recording_invalid"


class RecordingIncomplete(RecordingError):
    """The recording is not whole (a crash, or still running): exported only on request, and
    only where the audit log shows the crash."""

    code = "recording_incomplete"


class AnchorUnavailable(RecordingError):
    """The audit checkpoint store did not answer, so nothing can be verified against it."""

    code = "audit_store_unavailable"


class KeysRotationRefused(RecordingError):
    """A data key could not be unwrapped, so no data key was re-wrapped at all."""

    code = "keys_rotation_refused"


class LegalHold(RecordingError):
    """The recording is under a legal hold and cannot be shredded."""

    code = "legal_hold"


class RecordingShredded(RecordingError):
    """The recording's data keys were destroyed: its media can never be read again."""

    code = "recording_shredded"


class LivestreamForbidden(RecordingError):
    """The court's policy forbids streaming this hearing now (not public, not in session)."""

    code = "livestream_forbidden"
