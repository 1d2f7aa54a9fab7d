"""The exhibits' REST API, for the case-management system: upload (the body is the file,
streamed to disk within `ECOURT_EXHIBIT_MAX_BYTES`), list, get, and the clerk's or a judge's
decision. The submitter and the decider are participants whose links were issued for the
hearing; their roles decide what they may do (`hearing/exhibits.py`).

Every step is audited with the exhibit's SHA-256: in the hearing's own log when the hearing
is in session on this node (whose watchers turn `exhibit_admitted` into the webhook), else in
its custody log, opened for that one entry (and the event is queued here, in the hearing's
custody queue)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Final

from aiohttp import web

from hearing import Role
from hearing.exhibits import ExhibitSide
from recording.exhibits.errors import ExhibitRefusal, ExhibitRefused
from recording.exhibits.ledger import Submitter
from security import AuditEntry, AuditLog
from signaling.webhook_events import custody_event_for, custody_queue
from web.api import find_hearing, parse, read_object, with_api_key
from web.errors import BadRequest, Unauthorized
from web.keys import EXHIBITS, RECORDINGS, SIGNALING, STORES, WEBHOOKS
from web.openapi_exhibits import DECISION_FIELDS

log = logging.getLogger(__name__)
READ_PIECE: Final = 64 * 1024
_SIDES: Final = {side.value: side for side in ExhibitSide}


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/hearings/{id}/exhibits", with_api_key(upload))
    app.router.add_get("/api/hearings/{id}/exhibits", with_api_key(list_exhibits))
    app.router.add_get("/api/hearings/{id}/exhibits/{exhibit_id}", with_api_key(get_exhibit))
    app.router.add_post("/api/hearings/{id}/exhibits/{exhibit_id}/decision", with_api_key(decide))


def audit_opener(
    app: web.Application, hearing_id: str, written: list[AuditEntry] | None = None
) -> contextlib.AbstractContextManager[AuditLog]:
    """The hearing's live log if it is in session here (the webhooks watch it), else its
    custody log for one entry, whose entries are added to `written`."""
    session = app[SIGNALING].session(hearing_id)
    if session is not None:
        return contextlib.nullcontext(session.audit_log)
    return _custody(app, hearing_id, written)


@contextlib.contextmanager
def _custody(
    app: web.Application, hearing_id: str, written: list[AuditEntry] | None
) -> Iterator[AuditLog]:
    with app[RECORDINGS].audit_log(hearing_id) as log:
        if written is not None:
            log.watch(written.append)
        yield log


async def _participant(app: web.Application, hearing_id: str, participant_id: str) -> Submitter:
    """A participant whose link was issued for this hearing and not revoked."""
    stores = app[STORES]
    for link in await stores.links.of_hearing(hearing_id):
        if link.participant.id == participant_id:
            if await stores.revoked.is_revoked(hearing_id, participant_id):
                break
            return Submitter(participant_id, Role(link.participant.role))
    raise Unauthorized("participant_id names no participant of this hearing")


async def upload(request: web.Request) -> web.Response:
    app = request.app
    hearing = await find_hearing(app, request.match_info["id"])
    query = request.query
    submitter = await _participant(app, hearing.id, query.get("participant_id", ""))
    side_text = query.get("side")
    if side_text is not None and side_text not in _SIDES:
        raise BadRequest("side is P, D or C", field="side")
    restricted = query.get("restricted", "false")
    if restricted not in ("true", "false"):
        raise BadRequest("restricted is true or false", field="restricted")
    ledger = app[EXHIBITS]
    declared = request.content_length
    if declared is not None and declared > ledger.max_bytes:  # refused before a byte is read
        raise ExhibitRefused(
            ExhibitRefusal.TOO_LARGE, f"an exhibit is at most {ledger.max_bytes} bytes"
        )
    record = await ledger.submit(
        hearing.id,
        _body(request),
        submitter,
        lambda: audit_opener(app, hearing.id),
        title=query.get("title", ""),
        side=_SIDES.get(side_text) if side_text else None,
        restricted=restricted == "true",
    )
    location = f"/api/hearings/{hearing.id}/exhibits/{record.id}"
    return web.json_response(record.public_json(), status=201, headers={"Location": location})


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    async for piece in request.content.iter_chunked(READ_PIECE):
        yield piece


async def list_exhibits(request: web.Request) -> web.Response:
    hearing = await find_hearing(request.app, request.match_info["id"])
    records = request.app[EXHIBITS].of_hearing(hearing.id)
    body = {"exhibits": [r.public_json() for r in records]}
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def get_exhibit(request: web.Request) -> web.Response:
    hearing = await find_hearing(request.app, request.match_info["id"])
    record = request.app[EXHIBITS].get(hearing.id, request.match_info["exhibit_id"])
    return web.json_response(record.public_json(), headers={"Cache-Control": "no-store"})


async def decide(request: web.Request) -> web.Response:
    app = request.app
    hearing = await find_hearing(app, request.match_info["id"])
    values = parse(await read_object(request), DECISION_FIELDS)
    actor = await _participant(app, hearing.id, values.get("participant_id", str))
    written: list[AuditEntry] = []
    record = app[EXHIBITS].decide(
        hearing.id,
        request.match_info["exhibit_id"],
        actor,
        values.get("decision", str) == "admit",
        lambda: audit_opener(app, hearing.id, written),
    )
    for entry in written:  # decided outside a session: the webhooks do not watch that log
        event = custody_event_for(entry)
        if event is None:
            continue
        try:
            await app[WEBHOOKS].queue(event, custody_queue(hearing.id))
        except Exception:  # the decision stands; its event is lost, and said so
            log.exception("the exhibit.admitted event of %s could not be queued", entry.target)
    return web.json_response(record.public_json())
