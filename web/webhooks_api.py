"""The REST routes of the webhooks, behind the API key: register an endpoint (its signing
secret is shown once, in the answer), list them with what waits for each, remove one.
Delivery itself is `signaling/webhooks.py`; the events and the signature are in
`docs/webhooks.md`."""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from aiohttp import web

from security import Secret
from signaling.webhook_events import EVENT_TYPES
from signaling.webhook_store import Backlog, InvalidWebhook, WebhookEndpoint, check_url
from signaling.webhooks import new_endpoint_id, new_signing_secret
from web.api import read_object, with_api_key
from web.errors import BadRequest, UnknownWebhook
from web.keys import WEBHOOKS

Json = dict[str, object]
SECRET_PREFIX: Final = "whsec_"
MAX_ENDPOINTS: Final = 32


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/webhooks", with_api_key(create_endpoint))
    app.router.add_get("/api/webhooks", with_api_key(list_endpoints))
    app.router.add_delete("/api/webhooks/{endpoint_id}", with_api_key(delete_endpoint))


def parse_endpoint(body: Mapping[str, object]) -> tuple[str, frozenset[str]]:
    """The URL and the event types a registration asks for (none: every type)."""
    for name in body:
        if name not in ("url", "events"):
            raise BadRequest(f"unknown field {name[:64]!r}", field=name[:64])
    url = body.get("url")
    if not isinstance(url, str):
        raise BadRequest("url is required: an http or https URL", field="url")
    try:
        check_url(url)
    except InvalidWebhook as exc:
        raise BadRequest(exc.message, field="url") from None
    events = body.get("events", [])
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise BadRequest("events must be a list of event types", field="events")
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise BadRequest(
            f"unknown event type {unknown[0][:64]!r}; known: {', '.join(EVENT_TYPES)}",
            field="events",
        )
    return url, frozenset(events)


async def create_endpoint(request: web.Request) -> web.Response:
    url, events = parse_endpoint(await read_object(request))
    store = request.app[WEBHOOKS].store
    if len(await store.endpoints()) >= MAX_ENDPOINTS:
        raise BadRequest(f"at most {MAX_ENDPOINTS} webhook endpoints; remove one first")
    secret_text = SECRET_PREFIX + base64.urlsafe_b64encode(new_signing_secret()).decode().rstrip(
        "="
    )
    endpoint = WebhookEndpoint(
        new_endpoint_id(), url, Secret(secret_text.encode()), events, int(time.time())
    )
    await store.add_endpoint(endpoint)
    body = endpoint_json(endpoint, Backlog(endpoint.id, 0, 0)) | {"secret": secret_text}
    headers = {"Location": f"/api/webhooks/{endpoint.id}", "Cache-Control": "no-store"}
    return web.json_response(body, status=201, headers=headers)


async def list_endpoints(request: web.Request) -> web.Response:
    store = request.app[WEBHOOKS].store
    backlog = {b.endpoint_id: b for b in await store.backlog()}
    endpoints = [
        endpoint_json(e, backlog.get(e.id, Backlog(e.id, 0, 0))) for e in await store.endpoints()
    ]
    return web.json_response({"endpoints": endpoints}, headers={"Cache-Control": "no-store"})


async def delete_endpoint(request: web.Request) -> web.Response:
    """The endpoint and every delivery still queued for it."""
    if not await request.app[WEBHOOKS].store.remove_endpoint(request.match_info["endpoint_id"]):
        raise UnknownWebhook("no such webhook endpoint")
    return web.Response(status=204)


def endpoint_json(endpoint: WebhookEndpoint, backlog: Backlog) -> Json:
    """Never the secret (it is shown once, when the endpoint is registered)."""
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": sorted(endpoint.events),
        "created_at": datetime.fromtimestamp(endpoint.created_at, UTC).isoformat(),
        "pending": backlog.pending,
        "abandoned": backlog.abandoned,
        "last_error": backlog.last_error,
    }
