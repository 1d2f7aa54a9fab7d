"""The REST API, through the real app on a real socket: hearings, tokens, errors, OpenAPI."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hearing import HearingError, NotPermitted, Role
from security import Secret, TokenRefusal, TokenRefused, TokenSigner, token_id
from web import (
    api,
    connection_check,
    errors,
    exhibit_pages,
    exhibits,
    metrics,
    public_keys,
    webhooks_api,
)
from web.app import create_app
from web.settings import Settings

API_KEY = "test-api-key-0123456789abcdef"
TOKEN_KEY = b"t" * 32
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SETTINGS = Settings(
    api_key=Secret(API_KEY.encode()),
    api_key_generated=False,
    token_key=Secret(TOKEN_KEY),
    public_url="https://court.example/",
    default_token_ttl=3600,
    max_token_ttl=7200,
)
MISSING = ...  # a field left out of the body, as opposed to a JSON null
TRIAL: dict[str, Any] = {
    "type": "trial",
    "case_number": "CIV-2031/0042",
    "title": "Rivera v. Okafor",
    "scheduled_at": "2031-03-04T09:30:00+01:00",
    "public": True,
}
Client = TestClient[web.Request, web.Application]


@pytest_asyncio.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    settings = replace(SETTINGS, data_dir=tmp_path / "data")
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


async def schedule(client: Client, **changes: Any) -> dict[str, Any]:
    response = await client.post("/api/hearings", json=TRIAL | changes, headers=AUTH)
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def error_of(response: Any, status: int) -> dict[str, str]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"}
    error: dict[str, str] = body["error"]
    assert set(error) <= {"code", "message", "field"}
    return error


async def test_health_and_readiness_need_no_key(client: Client) -> None:
    assert await (await client.get("/healthz")).json() == {"status": "ok"}
    assert await (await client.get("/readyz")).json() == {"status": "ready"}


async def test_a_scheduled_hearing_gets_an_id_and_can_be_read_back(client: Client) -> None:
    response = await client.post("/api/hearings", json=TRIAL, headers=AUTH)
    assert response.status == 201
    created = await response.json()
    expected = {
        "id": created["id"],
        "profile": "default",
        "case_category": "ordinary",
        "jurisdiction": None,
        "instance": None,
        "language": "vi",
        "languages": [],
    }
    assert created == TRIAL | expected
    assert response.headers["Location"] == f"/api/hearings/{created['id']}"
    read = await client.get(f"/api/hearings/{created['id']}", headers=AUTH)
    assert read.status == 200
    assert await read.json() == created


@pytest.mark.parametrize("public", [False, True])
@pytest.mark.parametrize("category", ["state_secret", "national_security", "crimes_against_peace"])
async def test_categories_the_profile_keeps_offline_are_refused_with_422(
    client: Client, category: str, public: bool
) -> None:
    body = TRIAL | {"case_category": category, "public": public}
    response = await client.post("/api/hearings", json=body, headers=AUTH)
    assert response.status == 422
    error = (await response.json())["error"]
    assert (error["code"], error["field"]) == ("not_heard_online", "case_category")
    assert category in error["message"]


async def test_a_sexual_offence_against_a_minor_is_heard_but_never_in_public(
    client: Client,
) -> None:
    body = TRIAL | {"case_category": "sexual_offence_against_minor", "public": True}
    refused = await client.post("/api/hearings", json=body, headers=AUTH)
    assert refused.status == 400
    assert (await refused.json())["error"]["field"] == "public"
    accepted = await client.post("/api/hearings", json=body | {"public": False}, headers=AUTH)
    assert accepted.status == 201
    assert (await accepted.json())["case_category"] == "sexual_offence_against_minor"


async def test_a_trial_names_its_division_and_instance_and_a_conciliation_cannot(
    client: Client,
) -> None:
    body = TRIAL | {"jurisdiction": "criminal", "instance": "appeal"}
    created = await client.post("/api/hearings", json=body, headers=AUTH)
    assert created.status == 201
    assert {k: (await created.json())[k] for k in ("jurisdiction", "instance")} == {
        "jurisdiction": "criminal",
        "instance": "appeal",
    }
    wrong = TRIAL | {"type": "conciliation", "public": False, "jurisdiction": "civil"}
    refused = await client.post("/api/hearings", json=wrong, headers=AUTH)
    assert refused.status == 400
    assert (await refused.json())["error"]["field"] == "jurisdiction"


async def test_an_unknown_profile_is_refused_naming_the_field(client: Client) -> None:
    response = await client.post("/api/hearings", json=TRIAL | {"profile": "mars"}, headers=AUTH)
    assert response.status == 422
    assert (await response.json())["error"]["field"] == "profile"


async def test_each_hearing_gets_its_own_id(client: Client) -> None:
    first, second = await schedule(client), await schedule(client)
    assert first["id"] != second["id"]


async def test_scheduled_at_keeps_its_instant_and_zone(client: Client) -> None:
    created = await schedule(client, scheduled_at="2031-03-04T08:30:00Z")
    assert datetime.fromisoformat(created["scheduled_at"]) == datetime.fromisoformat(
        TRIAL["scheduled_at"]
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-key-0123456789abcdef"},
        {"Authorization": f"Basic {API_KEY}"},
        {"Authorization": f"Bearer {API_KEY[:-1]}"},
        {"Authorization": "Bearer"},
        {"Authorization": API_KEY},
    ],
)
async def test_a_missing_or_wrong_api_key_is_unauthorized(
    client: Client, headers: dict[str, str]
) -> None:
    created = await schedule(client)
    for response in (
        await client.post("/api/hearings", json=TRIAL, headers=headers),
        await client.get(f"/api/hearings/{created['id']}", headers=headers),
        await client.post(
            f"/api/hearings/{created['id']}/tokens",
            json={"role": "witness", "display_name": "A"},
            headers=headers,
        ),
    ):
        error = await error_of(response, 401)
        assert error["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_the_key_is_checked_before_the_body_is_read(client: Client) -> None:
    response = await client.post("/api/hearings", data=b"{not json")
    assert (await error_of(response, 401))["code"] == "unauthorized"


async def test_an_unknown_hearing_is_404_unknown_hearing(client: Client) -> None:
    for response in (
        await client.get("/api/hearings/h_nosuchhearing", headers=AUTH),
        await client.post(
            "/api/hearings/h_nosuchhearing/tokens",
            json={"role": "witness", "display_name": "A"},
            headers=AUTH,
        ),
    ):
        assert (await error_of(response, 404))["code"] == "unknown_hearing"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": MISSING}, "type"),
        ({"case_number": MISSING}, "case_number"),
        ({"title": MISSING}, "title"),
        ({"scheduled_at": MISSING}, "scheduled_at"),
        ({"public": MISSING}, "public"),
        ({"judge": "Osei"}, "judge"),
        ({"type": "tribunal"}, "type"),
        ({"type": 1}, "type"),
        ({"public": "yes"}, "public"),
        ({"public": 1}, "public"),
        ({"title": ["Rivera"]}, "title"),
        ({"profile": None}, "profile"),
        ({"profile": 7}, "profile"),
        ({"scheduled_at": "next tuesday"}, "scheduled_at"),
        ({"scheduled_at": 1900000000}, "scheduled_at"),
        ({"scheduled_at": "2031-03-04T09:30:00"}, "scheduled_at"),
        ({"title": "  "}, "title"),
        ({"case_number": "CIV<script>"}, "case_number"),
        ({"profile": "Not A Profile"}, "profile"),
        ({"type": "conciliation", "public": True}, "public"),
    ],
)
async def test_an_invalid_hearing_body_is_bad_request_naming_the_field(
    client: Client, change: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in (TRIAL | change).items() if v is not MISSING}
    response = await client.post("/api/hearings", json=body, headers=AUTH)
    error = await error_of(response, 400)
    assert error["code"] == "bad_request"
    assert error["field"] == field
    assert field in error["message"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b'"trial"',
        b'{"public": NaN}',
        b"\xff\xfe\xfd",
        b"[" * 20000 + b"]" * 20000,
    ],
)
async def test_a_body_that_is_not_a_json_object_is_bad_request(client: Client, raw: bytes) -> None:
    response = await client.post("/api/hearings", data=raw, headers=AUTH)
    error = await error_of(response, 400)
    assert error["code"] == "bad_request"
    assert "field" not in error


async def test_a_field_given_twice_is_bad_request(client: Client) -> None:
    raw = b'{"type": "trial", "type": "conciliation"}'
    response = await client.post("/api/hearings", data=raw, headers=AUTH)
    assert (await error_of(response, 400))["field"] == "type"


async def test_a_body_over_64_kib_is_too_large_in_our_shape(client: Client) -> None:
    body = TRIAL | {"title": "x" * (64 * 1024)}
    response = await client.post("/api/hearings", json=body, headers=AUTH)
    assert (await error_of(response, 413))["code"] == "too_large"


async def test_unknown_routes_and_methods_answer_in_our_shape(client: Client) -> None:
    assert (await error_of(await client.get("/api/nothing-here"), 404))["code"] == "not_found"
    response = await client.delete("/api/hearings", headers=AUTH)
    assert (await error_of(response, 405))["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


async def test_an_issued_token_verifies_for_its_hearing_role_and_name(client: Client) -> None:
    hearing = await schedule(client)
    response = await client.post(
        f"/api/hearings/{hearing['id']}/tokens",
        json={"role": "plaintiff", "display_name": "  Maria   Rivera "},
        headers=AUTH,
    )
    assert response.status == 201
    assert response.headers["Cache-Control"] == "no-store"
    issued = await response.json()
    grant = TokenSigner(Secret(TOKEN_KEY)).verify(issued["token"], hearing["id"])
    assert grant.participant.role is Role.PLAINTIFF
    assert grant.participant.display_name == "Maria Rivera"
    assert grant.expires_at - grant.issued_at == SETTINGS.default_token_ttl
    assert datetime.fromisoformat(issued.pop("expires_at")).timestamp() == grant.expires_at
    assert issued == {
        "token": issued["token"],
        "join_url": f"https://court.example/join/{hearing['id']}#token={issued['token']}",
        "participant_id": grant.participant.id,
        "role": "plaintiff",
        "display_name": "Maria Rivera",
        "language": None,
        "interpreting": None,
        "token_id": token_id(issued["token"]),
    }


async def test_every_token_names_a_new_participant(client: Client) -> None:
    hearing = await schedule(client)
    url = f"/api/hearings/{hearing['id']}/tokens"
    body = {"role": "witness", "display_name": "Ana Lopez"}
    first = await (await client.post(url, json=body, headers=AUTH)).json()
    second = await (await client.post(url, json=body, headers=AUTH)).json()
    assert first["participant_id"] != second["participant_id"]


async def test_a_token_lifetime_can_be_chosen_up_to_the_maximum(client: Client) -> None:
    hearing = await schedule(client)
    body = {"role": "clerk", "display_name": "Jonas Lind", "ttl_seconds": SETTINGS.max_token_ttl}
    response = await client.post(f"/api/hearings/{hearing['id']}/tokens", json=body, headers=AUTH)
    grant = TokenSigner(Secret(TOKEN_KEY)).verify((await response.json())["token"])
    assert grant.expires_at - grant.issued_at == SETTINGS.max_token_ttl


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"role": "king"}, "role"),
        ({"role": MISSING}, "role"),
        ({"role": None}, "role"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": MISSING}, "display_name"),
        ({"display_name": 7}, "display_name"),
        ({"display_name": "x" * 81}, "display_name"),
        ({"ttl_seconds": 59}, "ttl_seconds"),
        ({"ttl_seconds": SETTINGS.max_token_ttl + 1}, "ttl_seconds"),
        ({"ttl_seconds": "600"}, "ttl_seconds"),
        ({"ttl_seconds": True}, "ttl_seconds"),
        ({"ttl_seconds": 600.5}, "ttl_seconds"),
        ({"hearing_id": "h_other"}, "hearing_id"),
    ],
)
async def test_an_invalid_token_request_is_bad_request_naming_the_field(
    client: Client, change: dict[str, Any], field: str
) -> None:
    hearing = await schedule(client)
    base = {"role": "witness", "display_name": "Ana Lopez"}
    body = {k: v for k, v in (base | change).items() if v is not MISSING}
    response = await client.post(f"/api/hearings/{hearing['id']}/tokens", json=body, headers=AUTH)
    error = await error_of(response, 400)
    assert (error["code"], error["field"]) == ("bad_request", field)


# -- the error table, seen over HTTP ------------------------------------------------------------


class PhaseLocked(HearingError):
    code = "phase_locked"


RAISED: dict[str, Exception] = {
    "/forbidden": NotPermitted("a witness may not admit"),
    "/rule": PhaseLocked("the hearing is adjourned"),
    "/expired": TokenRefused(TokenRefusal.EXPIRED, "the token has expired"),
    "/crash": RuntimeError("db password=hunter2 in a message"),
}


@pytest_asyncio.fixture
async def raising_client() -> AsyncIterator[Client]:
    """Routes that raise what a future handler might; wired with the API's middlewares."""
    app = web.Application(middlewares=api.middlewares())

    async def handler(request: web.Request) -> web.Response:
        raise RAISED[request.path]

    async def redirect(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/docket")

    for path in RAISED:
        app.router.add_get(path, handler)
    app.router.add_get("/moved", redirect)
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/forbidden", 403, "forbidden"),
        ("/rule", 422, "phase_locked"),
        ("/expired", 401, "token_expired"),
    ],
)
async def test_errors_from_the_rules_and_security_map_through_the_table(
    raising_client: Client, path: str, status: int, code: str
) -> None:
    assert (await error_of(await raising_client.get(path), status))["code"] == code


async def test_an_unexpected_failure_is_an_opaque_500_and_is_logged(
    raising_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="web.errors"):
        response = await raising_client.get("/crash")
        assert await response.json() == {"error": {"code": "internal", "message": "internal error"}}
    assert response.status == 500
    assert "hunter2" not in await response.text()
    assert any("RuntimeError" in record.getMessage() for record in caplog.records)


async def test_redirects_pass_through_the_error_middleware(raising_client: Client) -> None:
    response = await raising_client.get("/moved", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/docket"


def test_every_error_web_raises_has_a_row_in_the_table() -> None:
    for cls in errors.ApiError.__subclasses__():
        assert cls.code in errors.STATUS, cls
    for reason in TokenRefusal:
        assert errors.STATUS[reason.value][0] == 401


# -- the OpenAPI document ----------------------------------------------------------------------


async def _metrics_stand_in(_request: web.Request) -> web.Response:
    return web.Response()


async def test_the_openapi_document_describes_every_api_route(client: Client) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "https://court.example"}]
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    app = web.Application()
    api.add_routes(app)
    connection_check.add_routes(app)
    public_keys.add_routes(app)
    webhooks_api.add_routes(app)
    exhibits.add_routes(app)
    exhibit_pages.add_routes(app)
    app.router.add_get(metrics.PATH, _metrics_stand_in)  # Metrics.attach adds web/metrics.py's
    served = {
        (route.resource.canonical, route.method)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    assert documented == served


async def test_responses_match_their_documented_schemas(client: Client) -> None:
    schemas = (await (await client.get("/api/openapi.json")).json())["components"]["schemas"]
    hearing = await schedule(client)
    response = await client.post(
        f"/api/hearings/{hearing['id']}/tokens",
        json={"role": "respondent", "display_name": "Daniel Okafor"},
        headers=AUTH,
    )
    error = await (await client.get("/api/hearings/h_nosuchhearing", headers=AUTH)).json()
    listed = await (
        await client.get(f"/api/hearings/{hearing['id']}/participants", headers=AUTH)
    ).json()
    for name, body in (("Hearing", hearing), ("Token", await response.json()), ("Error", error)):
        schema = schemas[name]
        assert set(schema["required"]) <= set(body) <= set(schema["properties"]), name
    item = schemas["Participants"]["properties"]["participants"]["items"]
    assert set(listed) == {"participants"} and len(listed["participants"]) == 1
    assert set(item["required"]) == set(listed["participants"][0]) == set(item["properties"])


async def test_the_participants_issued_links_are_listed_with_ids_never_tokens(
    client: Client,
) -> None:
    hearing = await schedule(client)
    url = f"/api/hearings/{hearing['id']}/tokens"
    people = [("presiding_judge", "Judge Le"), ("witness", "Ana Lopez")]
    issued = [
        await (await client.post(url, json={"role": r, "display_name": n}, headers=AUTH)).json()
        for r, n in people
    ]
    revoke = f"{url}/{issued[1]['participant_id']}/revoke"
    assert (await client.post(revoke, headers=AUTH)).status == 204
    response = await client.get(f"/api/hearings/{hearing['id']}/participants", headers=AUTH)
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    listed = (await response.json())["participants"]
    assert [(p["participant_id"], p["role"], p["display_name"]) for p in listed] == [
        (i["participant_id"], i["role"], i["display_name"]) for i in issued
    ]
    assert [p["token_id"] for p in listed] == [token_id(i["token"]) for i in issued]
    assert [p["expires_at"] for p in listed] == [i["expires_at"] for i in issued]
    assert [p["revoked"] for p in listed] == [False, True]
    text = await response.text()
    assert all(i["token"] not in text for i in issued)


async def test_participants_of_an_unknown_hearing_or_without_the_key_are_refused(
    client: Client,
) -> None:
    unknown = await client.get("/api/hearings/h_nosuchhearing/participants", headers=AUTH)
    assert (await error_of(unknown, 404))["code"] == "unknown_hearing"
    hearing = await schedule(client)
    anonymous = await client.get(f"/api/hearings/{hearing['id']}/participants")
    assert (await error_of(anonymous, 401))["code"] == "unauthorized"


async def test_every_documented_required_field_is_required(client: Client) -> None:
    schemas = (await (await client.get("/api/openapi.json")).json())["components"]["schemas"]
    required = schemas["HearingRequest"]["required"]
    assert set(required) == {"type", "case_number", "title", "scheduled_at", "public"}
    for field in required:
        body = {k: v for k, v in TRIAL.items() if k != field}
        response = await client.post("/api/hearings", json=body, headers=AUTH)
        assert (await error_of(response, 400))["field"] == field
    hearing = await schedule(client)
    for field in schemas["TokenRequest"]["required"]:
        body = {k: v for k, v in {"role": "witness", "display_name": "A"}.items() if k != field}
        url = f"/api/hearings/{hearing['id']}/tokens"
        response = await client.post(url, json=body, headers=AUTH)
        assert (await error_of(response, 400))["field"] == field


async def test_api_responses_allow_no_framing_sniffing_or_caching(client: Client) -> None:
    response = await client.post("/api/hearings", json=TRIAL, headers=AUTH)
    for name, value in {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }.items():
        assert response.headers[name] == value
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    # this server's public URL is https: browsers must keep to TLS
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    refused = await client.get("/api/hearings/h_nosuchhearing", headers=AUTH)
    assert refused.headers["X-Content-Type-Options"] == "nosniff"
