"""The one table from errors to HTTP: status, wire code and the JSON body.

Handlers raise; they never build error bodies. Every error leaves as
``{"error": {"code", "message", "field"?}}``. Anything unexpected leaves as a bare 500
``internal`` and is logged here, so nothing from outside ever reaches a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Final

from aiohttp import web
from aiohttp.typedefs import Handler

from hearing import HearingError, InvalidHearing, NotPermitted, UnknownParticipant
from media import Busy, MediaError, SdpInvalid
from media.errors import PortsExhausted
from recording.errors import (
    AnchorUnavailable,
    KeysRotationRefused,
    LegalHold,
    LivestreamForbidden,
    RecordingError,
    RecordingFenced,
    RecordingForbidden,
    RecordingIncomplete,
    RecordingInvalid,
    RecordingNotFound,
    RecordingShredded,
)
from recording.exhibits.errors import (
    ExhibitDecided,
    ExhibitHidden,
    ExhibitNotAdmitted,
    ExhibitNotFound,
    ExhibitNotPresented,
    ExhibitRefusal,
    ExhibitTampered,
)
from security import TokenRefusal, TokenRefused
from signaling.errors import ServiceUnavailable, SignalingError
from signaling.outage import RETRY_AFTER, STORE_ERRORS

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Root of the errors raised by `web` itself."""

    code: ClassVar[str] = "api_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadRequest(ApiError):
    code = "bad_request"


class Unauthorized(ApiError):
    code = "unauthorized"


class NotFound(ApiError):
    code = "not_found"


class UnknownHearing(ApiError):
    code = "unknown_hearing"


class BoardDisabled(ApiError):
    code = "board_disabled"


class UnknownWebhook(ApiError):
    code = "unknown_webhook"


class MethodNotAllowed(ApiError):
    code = "method_not_allowed"


class TooLarge(ApiError):
    code = "too_large"


class RateLimited(ApiError):
    code = "rate_limited"


class MetricsDisabled(ApiError):
    code = "metrics_disabled"


INTERNAL: Final = "internal"
UNAVAILABLE: Final = "service_unavailable"

# The table. Raised code -> (HTTP status, code on the wire).
STATUS: Final[Mapping[str, tuple[int, str]]] = {
    BadRequest.code: (400, BadRequest.code),
    Unauthorized.code: (401, Unauthorized.code),
    NotFound.code: (404, NotFound.code),
    UnknownHearing.code: (404, UnknownHearing.code),
    UnknownWebhook.code: (404, UnknownWebhook.code),
    MethodNotAllowed.code: (405, MethodNotAllowed.code),
    TooLarge.code: (413, TooLarge.code),
    MetricsDisabled.code: (403, MetricsDisabled.code),
    BoardDisabled.code: (403, BoardDisabled.code),
    # hearing/: a value object refusing its input is the client's bad request.
    InvalidHearing.code: (400, BadRequest.code),
    NotPermitted.code: (403, NotPermitted.code),
    UnknownParticipant.code: (404, UnknownParticipant.code),
    # recording/: ids that do not lead to this hearing's recording are simply not found.
    RecordingNotFound.code: (404, RecordingNotFound.code),
    RecordingForbidden.code: (403, RecordingForbidden.code),
    LegalHold.code: (409, LegalHold.code),
    RecordingShredded.code: (410, RecordingShredded.code),
    RecordingInvalid.code: (422, RecordingInvalid.code),
    RecordingIncomplete.code: (409, RecordingIncomplete.code),
    KeysRotationRefused.code: (409, KeysRotationRefused.code),
    AnchorUnavailable.code: (503, AnchorUnavailable.code),
    RecordingFenced.code: (503, RecordingFenced.code),
    LivestreamForbidden.code: (403, LivestreamForbidden.code),
    # recording/exhibits/: a refused upload keeps its reason as the code.
    **{reason.value: (415, reason.value) for reason in ExhibitRefusal},
    ExhibitRefusal.TOO_LARGE.value: (413, ExhibitRefusal.TOO_LARGE.value),
    ExhibitRefusal.EMPTY.value: (400, ExhibitRefusal.EMPTY.value),
    ExhibitNotFound.code: (404, ExhibitNotFound.code),
    ExhibitDecided.code: (409, ExhibitDecided.code),
    ExhibitNotAdmitted.code: (409, ExhibitNotAdmitted.code),
    ExhibitTampered.code: (422, ExhibitTampered.code),
    ExhibitNotPresented.code: (409, ExhibitNotPresented.code),
    ExhibitHidden.code: (403, ExhibitHidden.code),
    # security/: every refusal keeps its reason as the code.
    **{reason.value: (401, reason.value) for reason in TokenRefusal},
    # signaling/: a join link refused as its connection would be (signaling/server.py).
    "token_missing": (401, "token_missing"),
    "token_revoked": (401, "token_revoked"),
    "cooling_off": (429, "cooling_off"),
    "denied": (403, "denied"),
    "hearing_ended": (410, "hearing_ended"),
    RateLimited.code: (429, RateLimited.code),
    # media/: a connection check's offer, and a node at its limits.
    SdpInvalid.code: (400, SdpInvalid.code),
    Busy.code: (503, Busy.code),
    PortsExhausted.code: (503, PortsExhausted.code),
}
RULE_BROKEN: Final = 422
"""A `HearingError` the table does not name: the court's rules refused a well-formed request."""

# aiohttp's own HTTP errors (router 404/405, body over client_max_size ...) -> ours, by status.
_FROM_HTTP: Final[Mapping[int, tuple[type[ApiError], str]]] = {
    400: (BadRequest, "the request is malformed"),
    401: (Unauthorized, "authorization is required"),
    404: (NotFound, "no such resource"),
    405: (MethodNotAllowed, "this method is not allowed here"),
    413: (TooLarge, "the request body is too large"),
}
_CHALLENGE: Final = ("WWW-Authenticate", 'Bearer realm="ecourt"')


@dataclass(frozen=True, slots=True)
class Problem:
    """One error, as it leaves the server."""

    status: int
    code: str
    message: str
    field: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def body(self) -> dict[str, dict[str, str]]:
        error = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status, headers=dict(self.headers))


_INTERNAL: Final = Problem(500, INTERNAL, "internal error")


def unavailable(retry_after: float = RETRY_AFTER) -> Problem:
    """503 `service_unavailable` with `Retry-After`: a store the node needs does not answer."""
    message = "the cluster's store does not answer; try again shortly"
    seconds = str(max(1, round(retry_after)))
    return Problem(503, UNAVAILABLE, message, headers=(("Retry-After", seconds),))


def problem_for(exc: Exception) -> Problem:
    """Map any exception to the problem the client sees. Unknown ones become `internal`."""
    if isinstance(exc, web.HTTPException):
        return _from_http(exc)
    if isinstance(exc, ServiceUnavailable):
        return unavailable(exc.retry_after)
    if isinstance(exc, STORE_ERRORS):  # Redis away: the client tries again, nothing is wrong
        return unavailable()
    if isinstance(exc, ApiError | HearingError):
        row = STATUS.get(exc.code)
        if row is None and isinstance(exc, HearingError):
            row = (RULE_BROKEN, exc.code)
        if row is None:
            return _INTERNAL
        return _problem(*row, exc.message, exc.field)
    if isinstance(exc, RecordingError):
        row = STATUS.get(exc.code)
        return _INTERNAL if row is None else _problem(*row, str(exc))
    if isinstance(exc, TokenRefused):
        return _problem(*STATUS[exc.code], exc.message)
    if isinstance(exc, SignalingError):
        row = STATUS.get(exc.code)
        return _INTERNAL if row is None else _problem(*row, exc.message)
    if isinstance(exc, MediaError):
        row = STATUS.get(exc.code)
        return _INTERNAL if row is None else _problem(*row, str(exc))
    return _INTERNAL


def _problem(
    status: int, code: str, message: str, field: str | None = None, allow: str | None = None
) -> Problem:
    headers = [_CHALLENGE] if status == 401 else []
    if allow is not None:
        headers.append(("Allow", allow))
    return Problem(status, code, message, field, tuple(headers))


def _from_http(exc: web.HTTPException) -> Problem:
    known = _FROM_HTTP.get(exc.status)
    if known is not None:
        cls, message = known
        allow = exc.headers.get("Allow")
        if allow is not None:
            message = f"{message}; allowed: {allow}"
        return _problem(*STATUS[cls.code], message, allow=allow)
    if exc.status == 500:
        return _INTERNAL
    reason = exc.reason.lower()
    return _problem(exc.status, "_".join(reason.split()) or f"http_{exc.status}", reason or "error")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every raised error (ours, the rules', aiohttp's 4xx/5xx) into the JSON shape."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        problem = problem_for(exc)
    except Exception as exc:
        problem = problem_for(exc)
        if problem.status >= 500 and problem.code != UNAVAILABLE:  # a store away is no bug
            # The path only: a query string or body could carry a token.
            log.error(
                "internal error on %s %s: %s",
                request.method,
                request.path,
                type(exc).__name__,
                exc_info=exc,
            )
    return problem.response()
