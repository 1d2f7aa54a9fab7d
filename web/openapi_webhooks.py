"""The webhook routes' part of the OpenAPI document (`web/openapi.py` merges it): the
schemas of a registration and of an endpoint, and the three operations. The events and their
signature are described in `docs/webhooks.md`, and their types listed here."""

from __future__ import annotations

from typing import Final

from signaling.webhook_events import EVENT_TYPES
from web.openapi import Json, _closed

_STRING: Final[Json] = {"type": "string"}
_EVENTS: Final[Json] = {
    "type": "array",
    "uniqueItems": True,
    "description": "the event types sent there; empty or left out: every type",
    "items": {"type": "string", "enum": list(EVENT_TYPES)},
}
_ENDPOINT: Final[dict[str, Json]] = {
    "id": {"type": "string", "pattern": "^wh_[0-9a-f]{16}$"},
    "url": _STRING,
    "events": _EVENTS,
    "created_at": {"type": "string", "format": "date-time"},
    "pending": {"type": "integer", "description": "deliveries still owed to it"},
    "abandoned": {"type": "integer", "description": "deliveries given up after 24 h"},
    "last_error": {
        "type": ["string", "null"],
        "description": "why the latest failed attempt failed: http_<status>, timeout,"
        " unreachable: <reason>",
    },
}


SCHEMAS: Final[dict[str, Json]] = {
    "WebhookRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {
            "url": {
                "type": "string",
                "maxLength": 2048,
                "description": "absolute http or https, without credentials",
            },
            "events": _EVENTS,
        },
    },
    "WebhookEndpoint": _closed(_ENDPOINT),
    "WebhookCreated": _closed(
        _ENDPOINT
        | {
            "secret": {
                "type": "string",
                "description": "the signing secret (its UTF-8 bytes are the HMAC key), shown"
                " this once: keep it in the case-management system",
            }
        }
    ),
    "WebhookEndpoints": _closed(
        {"endpoints": {"type": "array", "items": {"$ref": "#/components/schemas/WebhookEndpoint"}}}
    ),
}


def _answer(schema: str, description: str) -> Json:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_UNAUTHORIZED: Final = _answer("Error", "unauthorized: the API key is missing or wrong")
_SECURED: Final[list[Json]] = [{"apiKey": []}]


def paths() -> Json:
    return {
        "/api/webhooks": {
            "post": {
                "summary": "Register a webhook endpoint; the answer holds its signing secret",
                "security": _SECURED,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/WebhookRequest"}
                        }
                    },
                },
                "responses": {
                    "201": _answer("WebhookCreated", "registered"),
                    "400": _answer(
                        "Error",
                        "bad_request: a field is missing, unknown or invalid (named in"
                        " `field`), or there are 32 endpoints already",
                    ),
                    "401": _UNAUTHORIZED,
                },
            },
            "get": {
                "summary": "List the webhook endpoints, with what waits for each (no secrets)",
                "security": _SECURED,
                "responses": {
                    "200": _answer("WebhookEndpoints", "in the order they were registered"),
                    "401": _UNAUTHORIZED,
                },
            },
        },
        "/api/webhooks/{endpoint_id}": {
            "parameters": [
                {"name": "endpoint_id", "in": "path", "required": True, "schema": _STRING}
            ],
            "delete": {
                "summary": "Remove an endpoint and every delivery still owed to it",
                "security": _SECURED,
                "responses": {
                    "204": {"description": "removed"},
                    "401": _UNAUTHORIZED,
                    "404": _answer("Error", "unknown_webhook: no such endpoint"),
                },
            },
        },
    }
