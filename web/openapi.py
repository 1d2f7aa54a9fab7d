"""The REST API's contract: request field tables, response schemas, and the OpenAPI 3.1 document.

The field tables are the one source for both validation (`web.api` reads them) and the document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from hearing import CaseCategory, HearingType, Instance, Jurisdiction, Role
from hearing.languages import COURT_LANGUAGE, MAX_LANGUAGES, MAX_TAG
from hearing.model import MAX_DISPLAY_NAME, MAX_PROFILE, MAX_TITLE

Kind = Literal["string", "boolean", "integer", "date-time", "string-list"]
Json = dict[str, object]

MIN_TOKEN_TTL: Final = 60
_ROLES: Final = tuple(r.value for r in Role)


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a JSON request body."""

    name: str
    kind: Kind
    description: str
    required: bool = True
    default: str | None = None
    choices: tuple[str, ...] = ()
    max_length: int | None = None

    def schema(self) -> Json:
        schema: Json = {"description": self.description}
        if self.kind == "date-time":
            schema |= {"type": "string", "format": "date-time"}
        elif self.kind == "string-list":
            schema |= {"type": "array", "items": {"type": "string"}}
        else:
            schema["type"] = self.kind
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.default is not None:
            schema["default"] = self.default
        return schema


HEARING_FIELDS: Final = (
    Field("type", "string", "the kind of hearing", choices=tuple(t.value for t in HearingType)),
    Field("case_number", "string", "the court's case number: letters, digits, spaces, . / - _"),
    Field("title", "string", "what the docket shows", max_length=MAX_TITLE),
    Field("scheduled_at", "date-time", "ISO 8601 with a time zone"),
    Field("public", "boolean", "listed on the public docket; a conciliation is never public"),
    Field(
        "profile",
        "string",
        "the jurisdiction's policy profile",
        required=False,
        default="default",
        max_length=MAX_PROFILE,
    ),
    Field(
        "jurisdiction",
        "string",
        "for a trial: the court's division",
        required=False,
        choices=tuple(j.value for j in Jurisdiction),
    ),
    Field(
        "instance",
        "string",
        "for a trial: first instance or appeal",
        required=False,
        choices=tuple(i.value for i in Instance),
    ),
    Field(
        "case_category",
        "string",
        "what the case is about; some categories may not be heard online (422), and some are"
        " always heard in camera, so never public",
        required=False,
        default=CaseCategory.ORDINARY.value,
        choices=tuple(c.value for c in CaseCategory),
    ),
    Field(
        "language",
        "string",
        "the court language, a BCP 47 tag (RFC 5646)",
        required=False,
        default=COURT_LANGUAGE,
        max_length=MAX_TAG,
    ),
    Field(
        "languages",
        "string-list",
        f"the hearing's other languages, BCP 47 tags (sign languages too, such as `hab`), at"
        f" most {MAX_LANGUAGES}: the languages participants may follow it in and interpreters"
        " may be named for",
        required=False,
    ),
)

TOKEN_FIELDS: Final = (
    Field("role", "string", "what the bearer may be and do", choices=_ROLES),
    Field("display_name", "string", "the name others see", max_length=MAX_DISPLAY_NAME),
    Field(
        "ttl_seconds",
        "integer",
        f"lifetime, at least {MIN_TOKEN_TTL} s and at most the server's maximum;"
        " the server's default when left out",
        required=False,
    ),
    Field(
        "language",
        "string",
        "the language the participant follows the hearing in (a language of the hearing);"
        " the court language when left out; they may change it in the hearing",
        required=False,
        max_length=MAX_TAG,
    ),
    Field(
        "interpreting",
        "string",
        "an interpreter's pair of languages of the hearing, such as `vi↔en` (or `vi<>en`);"
        " only for the interpreter role",
        required=False,
        max_length=2 * MAX_TAG + 2,
    ),
)


MAX_CHECK_BODY: Final = 16 * 1024
CHECK_FIELDS: Final = (
    Field(
        "sdp",
        "string",
        "the page's offer: one data channel labelled `probe`, no media, ICE fully gathered",
    ),
    Field("type", "string", "an offer", choices=("offer",)),
)


def object_schema(fields: Sequence[Field]) -> Json:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [f.name for f in fields if f.required],
        "properties": {f.name: f.schema() for f in fields},
    }


def _closed(properties: dict[str, Json]) -> Json:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": properties,
    }


_STRING: Final[Json] = {"type": "string"}
_NULLABLE_STRING: Final[Json] = {"type": ["string", "null"]}
_TOKEN_ID: Final[Json] = {
    "type": "string",
    "description": "the link's id in the records: base64url of the first 12 bytes of the"
    " token's SHA-256; it names the link without being it",
}
SCHEMAS: Final[dict[str, Json]] = {
    "HearingRequest": object_schema(HEARING_FIELDS),
    "Hearing": _closed(
        {"id": _STRING} | {f.name: f.schema() for f in HEARING_FIELDS}  # every field, filled in
    ),
    "TokenRequest": object_schema(TOKEN_FIELDS),
    "Token": _closed(
        {
            "token": {"type": "string", "description": "the signed join token; a secret"},
            "join_url": {
                "type": "string",
                "description": "the join page, with the token in the fragment",
            },
            "participant_id": _STRING,
            "role": {"type": "string", "enum": list(_ROLES)},
            "display_name": _STRING,
            "language": _NULLABLE_STRING,
            "interpreting": _NULLABLE_STRING,
            "expires_at": {"type": "string", "format": "date-time"},
            "token_id": _TOKEN_ID,
        }
    ),
    "Participants": _closed(
        {
            "participants": {
                "type": "array",
                "description": "in the order their links were issued",
                "items": _closed(
                    {
                        "participant_id": _STRING,
                        "role": {"type": "string", "enum": list(_ROLES)},
                        "display_name": _STRING,
                        "language": _NULLABLE_STRING,
                        "interpreting": _NULLABLE_STRING,
                        "token_id": _TOKEN_ID,
                        "issued_at": {"type": "string", "format": "date-time"},
                        "expires_at": {"type": "string", "format": "date-time"},
                        "revoked": {"type": "boolean"},
                    }
                ),
            }
        }
    ),
    "ConnectionCheckRequest": object_schema(CHECK_FIELDS),
    "ConnectionCheckAnswer": _closed(
        {"sdp": _STRING, "type": {"type": "string", "enum": ["answer"]}}
    ),
    "ConnectionCheckServers": _closed(
        {
            "ice_servers": {"type": "array", "items": {"type": "object"}},
            "hearing": _closed(
                {
                    "id": _STRING,
                    "type": _STRING,
                    "case_number": _STRING,
                    "title": _STRING,
                    "scheduled_at": {"type": "string", "format": "date-time"},
                    "public": {"type": "boolean"},
                }
            ),
        }
    ),
    "Status": _closed({"status": _STRING}),
    "PublicKeys": _closed(
        {
            purpose: _closed(
                {
                    "algorithm": {"const": "ed25519"},
                    "public_key": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "key_id": _STRING,
                }
            )
            for purpose in ("audit", "recording")
        }
    ),
    "Recordings": _closed(
        {
            "recordings": {
                "type": "array",
                "items": _closed(
                    {
                        "id": _STRING,
                        "hearing_id": _STRING,
                        "state": {"type": "string", "enum": ["recording", "paused", "stopped"]},
                        "started_at_ms": {"type": "integer"},
                        "segments": {"type": "integer"},
                        "tracks": {
                            "type": "array",
                            "items": _closed(
                                {
                                    "id": _STRING,
                                    "participant_id": _STRING,
                                    "role": _STRING,
                                    "kind": {"type": "string", "enum": ["audio", "video"]},
                                    "label": _STRING,
                                }
                            ),
                        },
                    }
                ),
            }
        }
    ),
    "Error": _closed(
        {
            "error": {
                "type": "object",
                "additionalProperties": False,
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "stable, machine-readable"},
                    "message": {"type": "string", "description": "for people"},
                    "field": {"type": "string", "description": "the request field at fault"},
                },
            }
        }
    ),
}

_ERRORS: Final = {
    400: "bad_request: malformed JSON or an invalid field (named in `field`)",
    401: "unauthorized: the API key is missing or wrong",
    404: "unknown_hearing: no such hearing",
    413: "too_large: the body is over 64 KiB",
    500: "internal: the server failed",
    503: "not_ready: a store this node needs (Redis) does not answer",
}
_UNAVAILABLE: Final = (
    "service_unavailable: the cluster's store (Redis) does not answer; try again after"
    " `Retry-After` seconds (answered at once while the store is seen away)"
)


def _unavailable() -> Json:
    response = _json("Error", _UNAVAILABLE)
    response["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
    return response


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> Json:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _operation(
    summary: str,
    ok: tuple[int, str, str],
    errors: Sequence[int] = (),
    body: str | None = None,
    secured: bool = True,
) -> Json:
    status, schema, description = ok
    responses: Json = {str(status): _json(schema, description)}
    for code in (*errors, 500):
        responses[str(code)] = _json("Error", _ERRORS[code])
    if secured:  # every /api/ operation needs the cluster's store
        responses["503"] = _unavailable()
    operation: Json = {"summary": summary, "responses": responses}
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    operation["security"] = [{"apiKey": []}] if secured else []
    return operation


def _revoke_operation() -> Json:
    responses: Json = {"204": {"description": "revoked; a live connection was closed"}}
    for code in (401, 404, 500):
        responses[str(code)] = _json("Error", _ERRORS[code])
    responses["503"] = _unavailable()
    responses["404"] = _json(
        "Error",
        "unknown_hearing: no such hearing; unknown_participant: no participant can have that id,"
        " or it is a participant of another hearing",
    )
    return {
        "summary": "Revoke a participant's join token, closing their connection within a second",
        "responses": responses,
        "security": [{"apiKey": []}],
    }


def _anonymity_operations() -> Json:
    """The presiding judge's anonymity order, relayed (docs/anonymity.md)."""
    accepted: Json = {"202": {"description": "accepted: the node hosting the hearing applies it"}}
    errors: Json = {str(c): _json("Error", _ERRORS[c]) for c in (401, 404, 500)}
    errors["503"] = _unavailable()
    order_schema: Json = {
        "type": "object",
        "additionalProperties": False,
        "required": ["pseudonym", "screening", "voice", "masked_from"],
        "properties": {
            "pseudonym": {"type": "string", "maxLength": 40},
            "screening": {"enum": ["none", "blur", "pixelate", "silhouette", "hidden"]},
            "voice": {"enum": ["natural", "modulated"]},
            "masked_from": {
                "type": "array",
                "minItems": 1,
                "maxItems": 8,
                "items": {"enum": ["accused", "parties", "lawyers", "observers", "public_stream"]},
            },
        },
    }
    made = accepted | errors
    made["400"] = _json("Error", "bad_request, invalid: a malformed order")
    made["422"] = _json(
        "Error", "masks_the_court: the order would mask the witness from the judges or the clerk"
    )
    return {
        "post": {
            "summary": "Make or vary an anonymity order over a participant (applied within a"
            " second where the hearing is in session; a refusal there is audited)",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": order_schema}},
            },
            "responses": made,
            "security": [{"apiKey": []}],
        },
        "delete": {
            "summary": "Discharge the anonymity order over a participant",
            "responses": accepted | errors,
            "security": [{"apiKey": []}],
        },
    }


_CHECK_ERRORS: Final = {
    400: "bad_request: malformed JSON or field; sdp_invalid: not one data channel offer",
    401: "token_missing, token_malformed, token_forged, token_expired, token_wrong_hearing,"
    " token_revoked: the join token is refused, as the signalling connection refuses it",
    403: "denied: the participant was denied entry or ejected",
    404: "unknown_hearing: no such hearing",
    410: "hearing_ended: the hearing has ended",
    413: f"too_large: the body is over {MAX_CHECK_BODY} bytes",
    429: "rate_limited: more than 2 checks a minute; cooling_off: the link flooded",
    500: "internal: the server failed",
    503: "busy: 16 checks are open on this server; ports_exhausted: no media port is free",
}


def _connection_check_servers_operation() -> Json:
    responses: Json = {
        "200": _json(
            "ConnectionCheckServers",
            "the STUN and TURN servers to offer with, and the hearing the link opens",
        )
    }
    for code in (401, 403, 404, 410, 500):
        responses[str(code)] = _json("Error", _CHECK_ERRORS[code])
    return {
        "summary": "Before joining: the ICE servers (STUN, TURN) the participant's browser"
        " should test through, and the hearing the link opens (the welcome says the same)",
        "responses": responses,
        "security": [{"joinToken": []}],
    }


def _connection_check_operation() -> Json:
    responses: Json = {"200": _json("ConnectionCheckAnswer", "the server's complete answer")}
    for code, description in _CHECK_ERRORS.items():
        responses[str(code)] = _json("Error", description)
    return {
        "summary": "Test the connection before joining: the server answers a data channel"
        " `probe` and echoes each message (64 at most, 1 KiB each) for 20 s at most",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("ConnectionCheckRequest")}},
        },
        "responses": responses,
        "security": [{"joinToken": []}],
    }


def _path_id(name: str, pattern: str) -> Json:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": pattern},
    }


def _export_operation(summary: str, media_type: str) -> Json:
    status_header = {
        "X-Ecourt-Recording-Status": {
            "description": "what the verification found: `valid`, or `incomplete` (only with "
            "allow_incomplete=true); the file's metadata says the same (ECOURT_STATUS)",
            "schema": {"type": "string", "enum": ["valid", "incomplete"]},
        }
    }
    responses: Json = {
        "200": {
            "description": "the decrypted media, exported only after the recording verified",
            "headers": status_header,
            "content": {media_type: {}},
        }
    }
    for code in (400, 401, 404, 500):
        responses[str(code)] = _json("Error", _ERRORS[code])
    responses["409"] = _json(
        "Error", "recording_incomplete: a crash or a recording still running (see allow_incomplete)"
    )
    responses["410"] = _json("Error", "recording_shredded: its data keys were destroyed")
    responses["422"] = _json(
        "Error", "recording_invalid: the recording does not verify; the message says why"
    )
    responses["503"] = _json(
        "Error", "audit_store_unavailable: the audit checkpoint store did not answer"
    )
    allow = {
        "name": "allow_incomplete",
        "in": "query",
        "required": False,
        "description": "`true` also exports a crash prefix that the hearing's audit log shows "
        "(marked incomplete); any other state is refused whatever this says",
        "schema": {"type": "string", "enum": ["true", "false"], "default": "false"},
    }
    return {
        "summary": summary,
        "parameters": [allow],
        "responses": responses,
        "security": [{"apiKey": []}],
    }


_RECORDING_ID: Final = r"^r-[0-9a-f]{16}$"
_TRACK_ID: Final = r"^t-[0-9a-f]{16}$"

_HEARING_ID: Final[Json] = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
}


def document(base_url: str, version: str = "0.1.0") -> Json:
    """The OpenAPI 3.1 document for every route `web.api` serves."""
    from web import openapi_exhibits, openapi_webhooks  # they build on this module's schemas

    written = 400, 401, 413
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ecourt",
            "version": version,
            "description": "Schedule hearings, issue signed join links, and register"
            " webhooks (docs/webhooks.md).",
        },
        "servers": [{"url": base_url}],
        "paths": {
            "/api/hearings": {
                "post": _operation(
                    "Schedule a hearing",
                    (201, "Hearing", "the hearing, with its new id"),
                    written,
                    body="HearingRequest",
                )
            },
            "/api/hearings/{id}": {
                "parameters": [_HEARING_ID],
                "get": _operation("Read a hearing", (200, "Hearing", "the hearing"), (401, 404)),
            },
            "/api/hearings/{id}/tokens": {
                "parameters": [_HEARING_ID],
                "post": _operation(
                    "Issue a join token for one participant",
                    (201, "Token", "the token and the participant's join link"),
                    (*written, 404),
                    body="TokenRequest",
                ),
            },
            "/api/hearings/{id}/participants": {
                "parameters": [_HEARING_ID],
                "get": _operation(
                    "List the participants whose links were issued (ids, never tokens)",
                    (200, "Participants", "the participants, revoked or not"),
                    (401, 404),
                ),
            },
            "/api/hearings/{id}/tokens/{participant_id}/revoke": {
                "parameters": [
                    _HEARING_ID,
                    {
                        "name": "participant_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                ],
                "post": _revoke_operation(),
            },
            "/api/hearings/{id}/participants/{participant_id}/anonymity": {
                "parameters": [
                    _HEARING_ID,
                    {
                        "name": "participant_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                ],
                **_anonymity_operations(),
            },
            "/api/hearings/{id}/connection-check": {
                "parameters": [_HEARING_ID],
                "get": _connection_check_servers_operation(),
                "post": _connection_check_operation(),
            },
            "/api/hearings/{id}/recordings": {
                "parameters": [_HEARING_ID],
                "get": _operation(
                    "List the hearing's recordings (ids, state, tracks with roles)",
                    (200, "Recordings", "the recordings"),
                    (401, 404),
                ),
            },
            "/api/hearings/{id}/recordings/{recording_id}/export": {
                "parameters": [_HEARING_ID, _path_id("recording_id", _RECORDING_ID)],
                "get": _export_operation(
                    "Every track together, decrypted and remuxed (audited)", "video/x-matroska"
                ),
            },
            "/api/hearings/{id}/recordings/{recording_id}/tracks/{track_id}": {
                "parameters": [
                    _HEARING_ID,
                    _path_id("recording_id", _RECORDING_ID),
                    _path_id("track_id", _TRACK_ID),
                ],
                "get": _export_operation(
                    "One track, decrypted and remuxed (audited)", "video/webm"
                ),
            },
            "/api/keys/public": {
                "get": _operation(
                    "The node's public keys: audit checkpoints (`ecourt audit verify "
                    "--public-key`) and recording manifests (`ecourt recording verify --trust`)",
                    (200, "PublicKeys", "both Ed25519 public keys, hex"),
                    secured=False,
                ),
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (docs/operations.md), with the metrics key",
                    "security": [{"metricsKey": []}],
                    "responses": {
                        "200": {
                            "description": "the text exposition format, version 0.0.4",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "401": _json("Error", "unauthorized: the metrics key is required"),
                        "403": _json(
                            "Error", "metrics_disabled: no ECOURT_METRICS_KEY on this node"
                        ),
                    },
                }
            },
            "/healthz": {
                "get": _operation("Liveness", (200, "Status", "alive"), secured=False),
            },
            "/readyz": {
                "get": _operation("Readiness", (200, "Status", "ready"), (503,), secured=False),
            },
            **openapi_webhooks.paths(),
            **openapi_exhibits.paths(),
            "/api/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "the OpenAPI document"}},
                }
            },
        },
        "components": {
            "schemas": SCHEMAS | openapi_webhooks.SCHEMAS | openapi_exhibits.SCHEMAS,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the API key (ECOURT_API_KEY)",
                },
                "metricsKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the metrics key (ECOURT_METRICS_KEY), apart from the API key",
                },
                "joinToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a participant's join token (the one in the join link)",
                },
            },
        },
        "security": [{"apiKey": []}],
    }
