"""The REST API the court's case-management system calls: hearings and join tokens.

Handlers stay thin: read the body, call `schedule_hearing` or `issue_token` (the same code path the
CLI's demo uses), serialize. Errors are raised and turned into JSON by `web.errors`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from hearing import (
    CaseCategory,
    Hearing,
    HearingType,
    Instance,
    InvalidHearing,
    Jurisdiction,
    Participant,
    Role,
    UnknownParticipant,
    new_hearing_id,
    new_participant_id,
)
from hearing.anonymity import audience_of
from hearing.languages import LanguagePair, language_tag, language_tags
from hearing.model import check_display_name, check_id, check_languages_of
from hearing.profiles import check_category_online, check_online
from security import Grant, token_id
from signaling.errors import ServiceUnavailable
from signaling.messages import AnonymityRequest
from signaling.outage import STORE_ERRORS
from signaling.store import IssuedLink, hearing_record
from web import openapi
from web.errors import BadRequest, Unauthorized, UnknownHearing, error_middleware
from web.keys import HEARINGS, RECORDINGS, SETTINGS, SIGNALING, SIGNER, STORES
from web.openapi import HEARING_FIELDS, MIN_TOKEN_TTL, TOKEN_FIELDS, Field

T = TypeVar("T")
Json = dict[str, object]


def middlewares() -> list[Middleware]:
    return [error_middleware, store_guard]


@web.middleware
async def store_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The API needs the cluster's store: while it is seen away, answer 503 at once (with
    `Retry-After`) rather than let every request wait for its own time-out; a request that
    finds it away tells the others. Just after it came back, a hearing not found is 503 too:
    its host writes it again within one lease (a Redis restarted without persistence)."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    watch = request.app[SIGNALING].hosting.watch
    if watch.down():
        raise ServiceUnavailable("the cluster's store does not answer", watch.retry_after())
    try:
        return await handler(request)
    except STORE_ERRORS:
        watch.failed()
        raise ServiceUnavailable("the cluster's store does not answer") from None
    except UnknownHearing:
        if watch.settling():  # a Redis back from a restart may not hold it again yet
            raise ServiceUnavailable(
                "the cluster's store is recovering", watch.retry_after()
            ) from None
        raise


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/hearings", _with_api_key(create_hearing))
    app.router.add_get("/api/hearings/{id}", _with_api_key(get_hearing))
    app.router.add_post("/api/hearings/{id}/tokens", _with_api_key(create_token))
    anonymity = "/api/hearings/{id}/participants/{participant_id}/anonymity"
    app.router.add_post(anonymity, _with_api_key(order_anonymity))
    app.router.add_delete(anonymity, _with_api_key(discharge_anonymity))
    app.router.add_post(
        "/api/hearings/{id}/tokens/{participant_id}/revoke", _with_api_key(revoke_token)
    )
    app.router.add_get("/api/hearings/{id}/participants", _with_api_key(list_participants))
    app.router.add_get("/api/hearings/{id}/recordings", _with_api_key(list_recordings))
    app.router.add_get(
        "/api/hearings/{id}/recordings/{recording_id}/export", _with_api_key(export_recording)
    )
    app.router.add_get(
        "/api/hearings/{id}/recordings/{recording_id}/tracks/{track_id}",
        _with_api_key(export_recording),
    )
    app.router.add_get("/api/openapi.json", get_openapi)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


# -- the operations, shared with the CLI ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    join_url: str
    grant: Grant


async def schedule_hearing(app: web.Application, body: Mapping[str, object]) -> Hearing:
    """Validate a hearing request body, give the hearing an id and store it."""
    values = parse(body, HEARING_FIELDS)
    category = CaseCategory(values.get("case_category", str))
    # 422 when the profile keeps this kind of case off the internet, whatever else it asks
    check_category_online(values.get("profile", str), category)
    hearing = Hearing(
        id=new_hearing_id(),
        type=HearingType(values.get("type", str)),
        case_number=values.get("case_number", str),
        title=values.get("title", str),
        scheduled_at=values.get("scheduled_at", datetime),
        public=values.get("public", bool),
        profile=values.get("profile", str),
        case_category=category,
        jurisdiction=Jurisdiction(values.get("jurisdiction", str))
        if values.has("jurisdiction")
        else None,
        instance=Instance(values.get("instance", str)) if values.has("instance") else None,
        language=language_tag(values.get("language", str), "language"),
        languages=tuple(
            t
            for t in language_tags(values.get("languages", list, []), "languages")
            if t != language_tag(values.get("language", str), "language")
        ),
    )
    check_online(hearing)  # an unknown profile, now that the hearing is otherwise valid
    await app[HEARINGS].add(hearing)
    return hearing


async def issue_token(
    app: web.Application, hearing: Hearing, body: Mapping[str, object]
) -> IssuedToken:
    """Validate a token request body, sign a join token for a new participant and keep the
    participant and the link's id (never the token) in the records before it is handed out."""
    values = parse(body, TOKEN_FIELDS)
    settings = app[SETTINGS]
    ttl = values.get("ttl_seconds", int, min(settings.default_token_ttl, settings.max_token_ttl))
    if not MIN_TOKEN_TTL <= ttl <= settings.max_token_ttl:
        raise BadRequest(
            f"ttl_seconds must be between {MIN_TOKEN_TTL} and {settings.max_token_ttl}",
            field="ttl_seconds",
        )
    participant = Participant(
        id=new_participant_id(),
        hearing_id=hearing.id,
        role=Role(values.get("role", str)),
        display_name=check_display_name(values.get("display_name", str)),
        language=language_tag(values.get("language", str), "language")
        if values.has("language")
        else None,
        interpreting=LanguagePair.parse(values.get("interpreting", str))
        if values.has("interpreting")
        else None,
    )
    check_languages_of(hearing, participant)
    token, grant = app[SIGNER].issue(participant, ttl)
    link = IssuedLink(participant, token_id(token), grant.issued_at, grant.expires_at)
    await app[STORES].links.add(link)
    join_url = f"{settings.base_url}/join/{hearing.id}#token={token}"
    return IssuedToken(token=token, join_url=join_url, grant=grant)


async def find_hearing(app: web.Application, hearing_id: str) -> Hearing:
    hearing = await app[HEARINGS].get(hearing_id)
    if hearing is None:
        raise UnknownHearing("no such hearing")
    return hearing


# -- handlers ------------------------------------------------------------------------------------


async def create_hearing(request: web.Request) -> web.Response:
    hearing = await schedule_hearing(request.app, await read_object(request))
    location = f"/api/hearings/{hearing.id}"
    return web.json_response(hearing_json(hearing), status=201, headers={"Location": location})


async def get_hearing(request: web.Request) -> web.Response:
    hearing = await find_hearing(request.app, request.match_info["id"])
    return web.json_response(hearing_json(hearing))


async def create_token(request: web.Request) -> web.Response:
    hearing = await find_hearing(request.app, request.match_info["id"])
    issued = await issue_token(request.app, hearing, await read_object(request))
    return web.json_response(token_json(issued), status=201, headers={"Cache-Control": "no-store"})


async def revoke_token(request: web.Request) -> web.Response:
    """The participant's links stop working; a live connection is closed at once."""
    hearing = await find_hearing(request.app, request.match_info["id"])
    participant_id = request.match_info["participant_id"]
    try:
        check_id(participant_id, "participant_id")
    except InvalidHearing:  # no participant can have that id
        raise UnknownParticipant("no such participant") from None
    await request.app[SIGNALING].revoke(hearing.id, participant_id)
    return web.Response(status=204)


async def order_anonymity(request: web.Request) -> web.Response:
    """The presiding judge's anonymity order, relayed by the court's system (docs/anonymity.md):
    checked here (a malformed order is 400, one that would mask the witness from the court
    422 `masks_the_court`), then applied by the node hosting the hearing (202). What that node
    refuses (the participant not in the hearing now) is audited there."""
    hearing = await find_hearing(request.app, request.match_info["id"])
    participant_id = _participant_id(request)
    body = dict(await read_object(request)) | {"participant_id": participant_id}
    order = AnonymityRequest.parse(body)
    audience_of(order.masked_from)
    await request.app[SIGNALING].relay_anonymity(hearing.id, participant_id, order)
    return web.Response(status=202)


async def discharge_anonymity(request: web.Request) -> web.Response:
    hearing = await find_hearing(request.app, request.match_info["id"])
    participant_id = _participant_id(request)
    await request.app[SIGNALING].relay_anonymity(hearing.id, participant_id, None)
    return web.Response(status=202)


def _participant_id(request: web.Request) -> str:
    participant_id = request.match_info["participant_id"]
    try:
        return check_id(participant_id, "participant_id")
    except InvalidHearing:  # no participant can have that id
        raise UnknownParticipant("no such participant") from None


async def list_participants(request: web.Request) -> web.Response:
    """Whose links were issued through this API, with the links' ids (never the tokens) and
    whether they were revoked."""
    hearing = await find_hearing(request.app, request.match_info["id"])
    stores = request.app[STORES]
    participants = [
        link_json(link, await stores.revoked.is_revoked(hearing.id, link.participant.id))
        for link in await stores.links.of_hearing(hearing.id)
    ]
    return web.json_response({"participants": participants}, headers={"Cache-Control": "no-store"})


async def list_recordings(request: web.Request) -> web.Response:
    hearing = await find_hearing(request.app, request.match_info["id"])
    recordings = request.app[RECORDINGS].of_hearing(hearing.id)
    return web.json_response({"recordings": recordings}, headers={"Cache-Control": "no-store"})


async def export_recording(request: web.Request) -> web.Response:
    """One track as WebM, or every track as Matroska, decrypted for the caller; audited.
    The path holds opaque ids only; a recording of another hearing is not found."""
    hearing = await find_hearing(request.app, request.match_info["id"])
    recordings = request.app[RECORDINGS]
    root = recordings.find(hearing.id, request.match_info["recording_id"])
    track_id = request.match_info.get("track_id")
    allow_incomplete = _flag(request, "allow_incomplete")
    trust = recordings.trust(hearing.id, await recordings.stored_anchor(hearing.id))
    with recordings.audit_log(hearing.id) as custody:  # nothing awaits while it is open
        data, exported = recordings.export_bytes(
            root, track_id, custody, "api", trust, allow_incomplete=allow_incomplete
        )
    name = f"{root.name}-{track_id}.webm" if track_id else f"{root.name}.mkv"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "X-Ecourt-Recording-Status": exported.status,
    }
    content_type = "video/webm" if track_id else "video/x-matroska"
    return web.Response(body=data, content_type=content_type, headers=headers)


def _flag(request: web.Request, name: str) -> bool:
    """A yes/no query parameter: absent, `true` or `false`; anything else is refused."""
    value = request.query.get(name, "false")
    if value not in ("true", "false"):
        raise BadRequest(f"{name} is true or false", field=name)
    return value == "true"


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi.document(request.app[SETTINGS].base_url))


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready unless a store this node depends on (Redis) does not answer."""
    if not await request.app[STORES].ready():
        error = {"code": "not_ready", "message": "Redis does not answer"}
        return web.json_response({"error": error}, status=503)
    return web.json_response({"status": "ready"})


# -- serialization -------------------------------------------------------------------------------


def hearing_json(hearing: Hearing) -> Json:
    """Every field, as the records keep it."""
    return hearing_record(hearing)


def token_json(issued: IssuedToken) -> Json:
    participant = issued.grant.participant
    return {
        "token": issued.token,
        "join_url": issued.join_url,
        "participant_id": participant.id,
        "role": participant.role.value,
        "display_name": participant.display_name,
        **_languages_json(participant),
        "expires_at": datetime.fromtimestamp(issued.grant.expires_at, UTC).isoformat(),
        "token_id": token_id(issued.token),
    }


def _languages_json(participant: Participant) -> Json:
    pair = participant.interpreting
    return {"language": participant.language, "interpreting": None if pair is None else str(pair)}


def link_json(link: IssuedLink, revoked: bool) -> Json:
    participant = link.participant
    return {
        "participant_id": participant.id,
        "role": participant.role.value,
        "display_name": participant.display_name,
        **_languages_json(participant),
        "token_id": link.token_id,
        "issued_at": datetime.fromtimestamp(link.issued_at, UTC).isoformat(),
        "expires_at": datetime.fromtimestamp(link.expires_at, UTC).isoformat(),
        "revoked": revoked,
    }


# -- the door: API key, JSON body, field table ---------------------------------------------------


def _with_api_key(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        presented = key.strip().encode("utf-8", "replace")
        if scheme.lower() != "bearer" or not request.app[SETTINGS].api_key.equals(presented):
            raise Unauthorized("a valid API key is required: Authorization: Bearer <key>")
        return await handler(request)

    return checked


with_api_key = _with_api_key
"""For the other modules' routes behind the API key (web/webhooks_api.py)."""


async def read_object(request: web.Request) -> Mapping[str, object]:
    """The body as a JSON object. Over `client_max_size`, aiohttp raises its 413 here."""
    raw = await request.read()
    try:
        data = json.loads(raw, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    data: dict[str, object] = {}
    for key, value in pairs:
        if key in data:
            raise BadRequest(f"field {key[:64]!r} appears twice", field=key[:64])
        data[key] = value
    return data


@dataclass(frozen=True, slots=True)
class Values:
    """A body that passed its field table: each value has its field's type."""

    data: Mapping[str, object]

    def has(self, name: str) -> bool:
        return name in self.data

    def get(self, name: str, kind: type[T], default: T | None = None) -> T:
        value = self.data.get(name, default)
        if not isinstance(value, kind):
            raise TypeError(f"{name} is not a validated {kind.__name__}")
        return value


_TYPES: Final[Mapping[str, type]] = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "date-time": str,
    "string-list": list,
}
_EXPECTED: Final[Mapping[str, str]] = {
    "string": "a string",
    "boolean": "true or false",
    "integer": "an integer",
    "date-time": "an ISO 8601 date-time with a time zone",
    "string-list": "a list of strings",
}


def parse(data: Mapping[str, object], fields: Sequence[Field]) -> Values:
    """Check a body against a field table: unknown, missing, wrongly typed and bad enum values."""
    names = {f.name for f in fields}
    for name in data:
        if name not in names:
            raise BadRequest(f"unknown field {name[:64]!r}", field=name[:64])
    values: dict[str, object] = {}
    for f in fields:
        if f.name in data:
            values[f.name] = _convert(f, data[f.name])
        elif f.required:
            raise BadRequest(f"{f.name} is required", field=f.name)
        elif f.default is not None:
            values[f.name] = f.default
    return Values(values)


def _convert(f: Field, value: object) -> object:
    wrong_type = not isinstance(value, _TYPES[f.kind])
    if wrong_type or (f.kind == "integer" and isinstance(value, bool)):
        raise BadRequest(f"{f.name} must be {_EXPECTED[f.kind]}", field=f.name)
    if isinstance(value, list) and not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{f.name} must be {_EXPECTED[f.kind]}", field=f.name)
    if f.choices and value not in f.choices:
        raise BadRequest(f"{f.name} must be one of: {', '.join(f.choices)}", field=f.name)
    if f.kind == "date-time" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:
            raise BadRequest(f"{f.name} must be {_EXPECTED[f.kind]}", field=f.name) from exc
    return value
