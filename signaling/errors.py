"""The one error root of `signaling`, and the one table that turns any error into a wire code."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from hearing import HearingError
from media import MediaError
from recording.errors import RecordingError
from security import SecurityError


class SignalingError(Exception):
    """Root of every error raised by `signaling`."""

    code = "signaling_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadRequest(SignalingError):
    code = "bad_request"


class RateLimited(SignalingError):
    code = "rate_limited"


class NotAdmitted(SignalingError):
    code = "not_admitted"


class NotWaiting(SignalingError):
    """A message for the lobby names someone of this hearing who is not waiting in it now
    (admitted, gone, or denied): what is written to the lobby never reaches the courtroom."""

    code = "not_waiting"


class WitnessWithoutMedia(SignalingError):
    """A witness whose camera does not reach the court is called only if the judge confirms
    they testify by audio only."""

    code = "witness_without_media"


class Refused(SignalingError):
    """A connection that may not proceed (unknown hearing, denied, already connected)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class StoreUnusable(SignalingError):
    """The records cannot be kept safely: the embedded store's file cannot be opened or is
    newer than this code, or Redis does not persist. The server refuses to start."""

    code = "store_unusable"


class WrongNode(Refused):
    """The hearing lives on another node; the client goes there (`node_url`)."""

    def __init__(self, node_url: str) -> None:
        super().__init__("wrong_node", "this hearing is hosted by another node")
        self.node_url = node_url


class StaleEpoch(SignalingError):
    """A store refused a write of an older epoch than one it took: the writer had lost the
    hearing to another node (`docs/cluster.md#leases`)."""

    code = "stale_epoch"


class ServiceUnavailable(Refused):
    """A store this node needs (Redis) does not answer, or a hearing's host cannot be known
    yet: try again after `retry_after` seconds. Running hearings are not affected."""

    def __init__(self, message: str, retry_after: float = 2.0) -> None:
        super().__init__("service_unavailable", message)
        self.retry_after = retry_after


class LeaveReason(StrEnum):
    """Why a participant's connection ended. Sent to the client and written to the log."""

    LEFT = "left"
    DISCONNECTED = "disconnected"
    DENIED = "denied"
    EJECTED = "ejected"
    REVOKED = "revoked"
    HEARING_ENDED = "hearing_ended"
    REPLACED = "replaced"
    ABUSE = "abuse"
    NODE_DRAINING = "node_draining"
    """This node is stopping; the hearing carries on elsewhere: connect again."""
    NODE_LOST = "node_lost"
    """This node lost the hearing (its lease lapsed while it was stalled, and another node
    took it): connect again, the hearing carries on there."""
    PROTOCOL_ERROR = "protocol_error"


def wire_error(exc: BaseException) -> dict[str, Any]:
    """`{"code", "message"[, "field"]}` for any error; unknown ones say only `internal`."""
    if isinstance(exc, SignalingError | HearingError):
        body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.field:
            body["field"] = exc.field
        if isinstance(exc, ServiceUnavailable):
            body["retry_after"] = exc.retry_after
        return body
    if isinstance(exc, MediaError | SecurityError | RecordingError):
        # their own stable codes: sdp_invalid, recording_forbidden, livestream_forbidden ...
        return {"code": exc.code, "message": str(exc)}
    return {"code": "internal", "message": "the server failed; nothing else was affected"}
