"""The webhook endpoints' REST routes, on the real server: behind the API key, the secret shown
once, bad input refused with a reason, removal taking the queue along."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import RunningServer


async def call(
    server: RunningServer, method: str, path: str, body: Any = None, auth: bool = True
) -> tuple[int, Any]:
    headers = server.headers if auth else {}
    async with server.session.request(
        method, f"{server.base_url}{path}", json=body, headers=headers
    ) as response:
        data = await response.json() if response.status != 204 else None
        return response.status, data


async def test_an_endpoint_is_registered_listed_without_its_secret_and_removed(
    server: RunningServer,
) -> None:
    status, made = await call(
        server,
        "POST",
        "/api/webhooks",
        {"url": "https://cms.example/hooks", "events": ["hearing.ended"]},
    )
    assert status == 201
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 40
    assert made["events"] == ["hearing.ended"] and made["pending"] == 0
    status, listed = await call(server, "GET", "/api/webhooks")
    assert status == 200
    assert [e["id"] for e in listed["endpoints"]] == [made["id"]]
    assert "secret" not in listed["endpoints"][0]
    assert made["secret"] not in str(listed)
    assert (await call(server, "DELETE", f"/api/webhooks/{made['id']}"))[0] == 204
    status, gone = await call(server, "DELETE", f"/api/webhooks/{made['id']}")
    assert (status, gone["error"]["code"]) == (404, "unknown_webhook")
    assert (await call(server, "GET", "/api/webhooks"))[1] == {"endpoints": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": 7}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "https://a:b@cms.example/"}, "url"),
        ({"url": "https://cms.example/", "events": "hearing.ended"}, "events"),
        ({"url": "https://cms.example/", "events": ["hearing.burned"]}, "events"),
        ({"url": "https://cms.example/", "secret": "mine"}, "secret"),
    ],
)
async def test_a_registration_that_is_not_one_is_refused_naming_its_field(
    server: RunningServer, body: dict[str, Any], field: str
) -> None:
    status, refused = await call(server, "POST", "/api/webhooks", body)
    assert status == 400
    assert refused["error"]["code"] == "bad_request" and refused["error"]["field"] == field
    assert (await call(server, "GET", "/api/webhooks"))[1] == {"endpoints": []}


async def test_the_webhook_routes_need_the_api_key(server: RunningServer) -> None:
    for method, path in (
        ("POST", "/api/webhooks"),
        ("GET", "/api/webhooks"),
        ("DELETE", "/api/webhooks/wh_0123456789abcdef"),
    ):
        status, refused = await call(
            server, method, path, {"url": "https://x.example/"}, auth=False
        )
        assert (status, refused["error"]["code"]) == (401, "unauthorized")


async def test_the_openapi_document_describes_the_webhook_routes(server: RunningServer) -> None:
    _, document = await call(server, "GET", "/api/openapi.json", auth=False)
    paths = document["paths"]
    assert set(paths["/api/webhooks"]) >= {"get", "post"}
    assert "delete" in paths["/api/webhooks/{endpoint_id}"]
    schemas = document["components"]["schemas"]
    assert "hearing.ended" in schemas["WebhookRequest"]["properties"]["events"]["items"]["enum"]
    assert "secret" in schemas["WebhookCreated"]["properties"]
    assert "secret" not in schemas["WebhookEndpoint"]["properties"]


async def test_the_answers_have_exactly_their_documented_fields(server: RunningServer) -> None:
    _, document = await call(server, "GET", "/api/openapi.json", auth=False)
    schemas = document["components"]["schemas"]
    _, made = await call(server, "POST", "/api/webhooks", {"url": "http://127.0.0.1:9/x"})
    _, listed = await call(server, "GET", "/api/webhooks")
    for name, body in (("WebhookCreated", made), ("WebhookEndpoint", listed["endpoints"][0])):
        assert set(schemas[name]["required"]) == set(body) == set(schemas[name]["properties"])
