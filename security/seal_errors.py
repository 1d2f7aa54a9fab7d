"""Errors of sealed segments and of the key ring. Each carries a stable `code`.

A reader that finds a segment broken raises a `SealBroken` subclass: its `code` says what kind
of damage, `reason` says it in words, and `chunk` names the chunk (0-based) or is None. A writer
that is asked to do something unsafe raises a `SealRefused` subclass. Neither ever carries key
material or plaintext.
"""

from __future__ import annotations

from enum import StrEnum

from security.errors import SecurityError


class SealBroken(SecurityError):
    """A sealed segment that does not open: altered, reordered, truncated or unreadable."""

    code = "seal_broken"

    def __init__(self, reason: str, *, chunk: int | None = None) -> None:
        where = f" (chunk {chunk})" if chunk is not None else ""
        super().__init__(f"{reason}{where}")
        self.reason = reason
        self.chunk = chunk


class SealHeaderInvalid(SealBroken):
    """The segment header is missing, malformed, or of an unknown format version."""

    code = "seal_header_invalid"


class SealKeyUnknown(SealBroken):
    """The data key named in the header is not available."""

    code = "seal_key_unknown"


class SealChunkInvalid(SealBroken):
    """A chunk failed authentication or has an impossible length field.

    Altered bytes, a dropped, reordered, duplicated or spliced chunk all end here, at the
    first chunk whose tag does not verify under its expected nonce.
    """

    code = "seal_chunk_invalid"


class SealTrailingData(SealBroken):
    """Bytes follow the final chunk."""

    code = "seal_trailing_data"


class SealIncomplete(SealBroken):
    """No final chunk: the segment was cut short (a crash, or truncation)."""

    code = "seal_incomplete"

    def __init__(self, reason: str, *, chunk: int | None = None, torn_tail_bytes: int = 0) -> None:
        super().__init__(reason, chunk=chunk)
        self.torn_tail_bytes = torn_tail_bytes


class SealRefused(SecurityError):
    """A writer refused an unsafe or impossible request."""

    code = "seal_refused"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SealNonceReused(SealRefused):
    """A nonce prefix that was not issued by this data key, or was already used with it."""

    code = "seal_nonce_reused"


class SealClosed(SealRefused):
    """Data written to a segment that was already closed."""

    code = "seal_closed"


class KeyRingProblem(StrEnum):
    """Why the key ring refused. The same value goes to the CLI, the log and the audit."""

    UNSAFE = "keyring_unsafe"
    CORRUPT = "keyring_corrupt"
    UNWRAP_FAILED = "keyring_unwrap_failed"
    VERSION_UNKNOWN = "keyring_version_unknown"
    WRAPPED_INVALID = "keyring_wrapped_invalid"
    REFUSED = "keyring_refused"
    SHREDDED = "keyring_recording_shredded"
    """The recording's own key was destroyed in the key ring: its data keys never unwrap."""


class KeyRingError(SecurityError):
    """The key ring file or a wrapped key could not be used; `code` says why."""

    def __init__(self, problem: KeyRingProblem, reason: str) -> None:
        super().__init__(reason)
        self.problem = problem
        self.reason = reason

    @property
    def code(self) -> str:  # type: ignore[override]
        return self.problem.value
