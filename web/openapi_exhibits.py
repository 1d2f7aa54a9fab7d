"""The exhibits' part of the OpenAPI document (`web/openapi.py` merges it): upload, list, get
and decide. `docs/exhibits.md` has the checks and the reason codes."""

from __future__ import annotations

from typing import Final

from recording.exhibits.errors import ExhibitRefusal
from web.openapi import Field, Json, _closed, object_schema

DECISION_FIELDS: Final = (
    Field("participant_id", "string", "the clerk or judge deciding (a link of this hearing)"),
    Field("decision", "string", "admit or refuse; final", choices=("admit", "refuse")),
)
_STRING: Final[Json] = {"type": "string"}
_INT: Final[Json] = {"type": "integer"}
_EXHIBIT_ID: Final = r"^x-[0-9a-f]{16}$"
_DECISION: Final = _closed(
    {
        "state": {"type": "string", "enum": ["admitted", "refused"]},
        "by": _STRING,
        "role": _STRING,
        "at_ms": _INT,
        "audit_hash": {"type": "string", "description": "the audit entry that records it"},
    }
)
_EXHIBIT: Final = _closed(
    {
        "id": {"type": "string", "pattern": _EXHIBIT_ID},
        "hearing_id": _STRING,
        "number": {"type": "string", "pattern": r"^[PDC]-[0-9]+$"},
        "side": {"type": "string", "enum": ["P", "D", "C"]},
        "kind": {"type": "string", "enum": ["pdf", "jpeg", "png", "mp3", "mp4"]},
        "media_type": _STRING,
        "size": _INT,
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "pages": _INT,
        "title": _STRING,
        "submitted_by": _STRING,
        "submitter_role": _STRING,
        "submitted_at_ms": _INT,
        "restricted": {"type": "boolean"},
        "state": {"type": "string", "enum": ["submitted", "admitted", "refused"]},
        "decisions": {"type": "array", "items": _DECISION},
    }
)
SCHEMAS: Final[dict[str, Json]] = {
    "Exhibit": _EXHIBIT,
    "Exhibits": _closed({"exhibits": {"type": "array", "items": _EXHIBIT}}),
    "ExhibitDecision": object_schema(DECISION_FIELDS),
}
_SECURED: Final[list[Json]] = [{"apiKey": []}]
_REFUSALS: Final = ", ".join(r.value for r in ExhibitRefusal)


def _answer(schema: str, description: str) -> Json:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


def _query(name: str, description: str, schema: Json, required: bool = False) -> Json:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


_HEARING: Final[Json] = {"name": "id", "in": "path", "required": True, "schema": _STRING}
_EXHIBIT_PATH: Final[Json] = {
    "name": "exhibit_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": _EXHIBIT_ID},
}
_UNAUTHORIZED: Final = _answer(
    "Error", "unauthorized: the API key is wrong, or participant_id is no participant's"
)
_NOT_FOUND: Final = _answer("Error", "unknown_hearing or exhibit_not_found")


def paths() -> Json:
    upload = {
        "summary": "Submit an exhibit: the body is the file (streamed; checked by its content)",
        "security": _SECURED,
        "parameters": [
            _query("participant_id", "the submitter (a link of this hearing)", _STRING, True),
            _query("title", "what the exhibit is, 1-200 characters", _STRING, True),
            _query(
                "side",
                "P or D: required of a party's lawyer, checked against anyone else's role",
                {"type": "string", "enum": ["P", "D", "C"]},
            ),
            _query(
                "restricted",
                "shown only to whom the matrix lets see the child's side; never streamed",
                {"type": "string", "enum": ["true", "false"], "default": "false"},
            ),
        ],
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        },
        "responses": {
            "201": _answer("Exhibit", "numbered, hashed and sealed"),
            "400": _answer("Error", "bad_request: a query parameter is invalid"),
            "401": _UNAUTHORIZED,
            "403": _answer("Error", "forbidden: this role does not submit exhibits"),
            "404": _NOT_FOUND,
            "413": _answer("Error", "exhibit_too_large: over ECOURT_EXHIBIT_MAX_BYTES"),
            "415": _answer("Error", f"the content is refused, with its reason: {_REFUSALS}"),
        },
    }
    decide = {
        "summary": "Admit or refuse an exhibit (the clerk or a judge); audited with its hash",
        "security": _SECURED,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ExhibitDecision"}}
            },
        },
        "responses": {
            "200": _answer("Exhibit", "decided"),
            "400": _answer("Error", "bad_request: a field is invalid"),
            "401": _UNAUTHORIZED,
            "403": _answer("Error", "forbidden: only the clerk or a judge decides"),
            "404": _NOT_FOUND,
            "409": _answer("Error", "exhibit_already_decided: a decision is final"),
        },
    }
    return {
        "/api/hearings/{id}/exhibits": {
            "parameters": [_HEARING],
            "post": upload,
            "get": {
                "summary": "List the hearing's exhibits (P, then D, then C, by number)",
                "security": _SECURED,
                "responses": {
                    "200": _answer("Exhibits", "every exhibit, whatever its state"),
                    "401": _UNAUTHORIZED,
                    "404": _NOT_FOUND,
                },
            },
        },
        "/api/hearings/{id}/exhibits/{exhibit_id}": {
            "parameters": [_HEARING, _EXHIBIT_PATH],
            "get": {
                "summary": "One exhibit's metadata (never its content)",
                "security": _SECURED,
                "responses": {
                    "200": _answer("Exhibit", "the exhibit"),
                    "401": _UNAUTHORIZED,
                    "404": _NOT_FOUND,
                },
            },
        },
        "/api/hearings/{id}/exhibits/{exhibit_id}/pages/{page}": {
            "parameters": [
                _HEARING,
                _EXHIBIT_PATH,
                {"name": "page", "in": "path", "required": True, "schema": {"type": "integer"}},
                _query(
                    "as",
                    "a PDF page as a PNG, or cut out as a one-page PDF (for pdf.js)",
                    {"type": "string", "enum": ["png", "pdf"], "default": "png"},
                ),
            ],
            "get": {
                "summary": "The page on screen of the exhibit presented, for a participant who"
                " sees it (a PDF page as PNG, an image as submitted); never cached",
                "security": [{"joinToken": []}],
                "responses": {
                    "200": {
                        "description": "the page",
                        "content": {"image/png": {}, "image/jpeg": {}, "application/pdf": {}},
                    },
                    "401": _answer("Error", "the join token is missing, wrong or revoked"),
                    "403": _answer(
                        "Error",
                        "exhibit_hidden: the court's matrix keeps this participant from it"
                        " (audited)",
                    ),
                    "409": _answer(
                        "Error", "exhibit_not_presented: not presented now, or not that page"
                    ),
                },
            },
        },
        "/api/hearings/{id}/exhibits/{exhibit_id}/decision": {
            "parameters": [_HEARING, _EXHIBIT_PATH],
            "post": decide,
        },
    }
