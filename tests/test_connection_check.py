"""The connection check's door: the join token is refused exactly as the signalling connection
refuses it, a body that is not one data channel offer is refused, and nobody runs more than two
checks a minute or more than the node holds. No packet leaves here: the offers carry no
candidates, so the server has nobody to send a connectivity check to (the echo itself is in
tests/test_connection_check_media.py)."""

from __future__ import annotations

import dataclasses
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from hearing import Participant, Role, new_participant_id
from security import Secret, TokenSigner
from signaling.client import HearingClient
from tests.conftest import RunningServer, running_server
from tests.test_lobby_news import enter_as
from tests.test_signaling import connect
from web.connection_check import CheckLimiter
from web.errors import RateLimited
from web.keys import ENGINE

TOKEN_KEY = Secret(b"k" * 32)  # the key tests/conftest.py gives the server


def silent_offer(*, kind: str = "application") -> str:
    """A complete offer with ICE credentials and a fingerprint but no candidate: the server
    answers it and has no address to check; its ICE waits for candidates that never come."""
    fingerprint = ":".join(f"{b:02X}" for b in secrets.token_bytes(32))
    section = (
        ["m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=sctp-port:5000"]
        if kind == "application"
        else ["m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2", "a=sendonly"]
    )
    lines = [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        section[0],
        "c=IN IP4 0.0.0.0",
        "a=mid:0",
        *section[1:],
        f"a=ice-ufrag:{secrets.token_hex(4)}",
        f"a=ice-pwd:{secrets.token_hex(12)}",
        f"a=fingerprint:sha-256 {fingerprint}",
        "a=setup:actpass",
    ]
    return "\r\n".join(lines) + "\r\n"


async def check(
    server: RunningServer,
    hearing_id: str,
    token: str | None,
    body: Any = None,
    *,
    raw: bytes | None = None,
    scheme: str = "Bearer",
) -> tuple[int, dict[str, Any]]:
    headers = {} if token is None else {"Authorization": f"{scheme} {token}"}
    url = f"{server.base_url}/api/hearings/{hearing_id}/connection-check"
    offer = {"sdp": silent_offer(), "type": "offer"} if body is None else body
    kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": offer}
    async with server.session.post(url, headers=headers, **kwargs) as response:
        result: dict[str, Any] = await response.json()
        return response.status, result


def code(result: tuple[int, dict[str, Any]]) -> tuple[int, str]:
    status, body = result
    return status, body["error"]["code"] if "error" in body else body["type"]


async def party_token(server: RunningServer, hearing_id: str) -> str:
    issued = await server.issue_token(hearing_id, "plaintiff", "Ms Nguyen")
    token: str = issued["token"]
    return token


async def test_a_check_without_a_join_token_is_refused(server: RunningServer) -> None:
    hearing = await server.create_hearing()
    assert code(await check(server, hearing["id"], None)) == (401, "token_missing")
    token = await party_token(server, hearing["id"])
    assert code(await check(server, hearing["id"], token, scheme="Basic")) == (
        401,
        "token_missing",
    )
    assert code(await check(server, hearing["id"], "garbage")) == (401, "token_malformed")
    assert server.app[ENGINE].probes == ()


async def test_forged_expired_and_revoked_tokens_are_refused_with_the_sockets_codes(
    server: RunningServer,
) -> None:
    hearing = await server.create_hearing()
    participant = Participant(new_participant_id(), hearing["id"], Role.PLAINTIFF, "Ms Nguyen")
    forged, _ = TokenSigner(Secret(b"x" * 32)).issue(participant, ttl_seconds=600)
    assert code(await check(server, hearing["id"], forged)) == (401, "token_forged")

    an_hour_ago = TokenSigner(TOKEN_KEY, clock=lambda: time.time() - 3600)
    expired, _ = an_hour_ago.issue(participant, ttl_seconds=60)
    assert code(await check(server, hearing["id"], expired)) == (401, "token_expired")

    issued = await server.issue_token(hearing["id"], "plaintiff", "Ms Nguyen")
    url = f"{server.base_url}/api/hearings/{hearing['id']}/tokens/{issued['participant_id']}/revoke"
    async with server.session.post(url, headers=server.headers) as response:
        assert response.status == 204
    assert code(await check(server, hearing["id"], issued["token"])) == (401, "token_revoked")
    assert server.app[ENGINE].probes == ()


async def test_a_token_for_another_hearing_or_no_hearing_is_refused(
    server: RunningServer,
) -> None:
    first = await server.create_hearing()
    second = await server.create_hearing(case_number="02/2026/DS-ST")
    token = await party_token(server, first["id"])
    assert code(await check(server, second["id"], token)) == (401, "token_wrong_hearing")
    nowhere = Participant(new_participant_id(), "h_nosuchhearing", Role.PLAINTIFF, "Ms Nguyen")
    lost, _ = TokenSigner(TOKEN_KEY).issue(nowhere, ttl_seconds=600)
    assert code(await check(server, "h_nosuchhearing", lost)) == (404, "unknown_hearing")


async def test_a_participant_denied_entry_may_not_check_either(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await enter_as(server, clients, hearing["id"], "presiding_judge", "Judge Le")
    token = await party_token(server, hearing["id"])
    party = await connect(server, clients, token)
    await judge.wait_for_waiting(party.participant["id"])
    await judge.deny(party.participant["id"])
    await party.wait_until(lambda: not party.connected, 5, "the denied party to be put out")
    assert code(await check(server, hearing["id"], token)) == (403, "denied")


async def test_a_body_that_is_not_one_data_channel_offer_is_refused(
    server: RunningServer,
) -> None:
    hearing = await server.create_hearing()
    token = await party_token(server, hearing["id"])
    hid = hearing["id"]
    assert code(await check(server, hid, token, raw=b"{not json")) == (400, "bad_request")
    assert code(await check(server, hid, token, ["sdp"])) == (400, "bad_request")
    missing = await check(server, hid, token, {"type": "offer"})
    assert code(missing) == (400, "bad_request") and missing[1]["error"]["field"] == "sdp"
    answer = await check(server, hid, token, {"sdp": silent_offer(), "type": "answer"})
    assert code(answer) == (400, "bad_request") and answer[1]["error"]["field"] == "type"
    extra = {"sdp": silent_offer(), "type": "offer", "trickle": True}
    assert code(await check(server, hid, token, extra)) == (400, "bad_request")
    for sdp in ("", "hello", "v=0\r\n", silent_offer(kind="audio")):
        body = {"sdp": sdp, "type": "offer"}
        assert code(await check(server, hid, token, body)) == (400, "sdp_invalid"), sdp
    assert server.app[ENGINE].probes == ()


async def test_an_oversized_body_is_refused_before_anything_is_built(
    server: RunningServer,
) -> None:
    hearing = await server.create_hearing()
    token = await party_token(server, hearing["id"])
    padded = silent_offer() + "a=x-padding:" + "x" * 20_000 + "\r\n"
    body = {"sdp": padded, "type": "offer"}
    assert code(await check(server, hearing["id"], token, body)) == (413, "too_large")
    huge = {"sdp": "x" * 100_000, "type": "offer"}
    assert code(await check(server, hearing["id"], token, huge)) == (413, "too_large")
    assert server.app[ENGINE].probes == ()


async def test_a_third_check_within_a_minute_is_rate_limited_for_that_participant_only(
    server: RunningServer,
) -> None:
    hearing = await server.create_hearing()
    token = await party_token(server, hearing["id"])
    first = await check(server, hearing["id"], token)
    assert code(first) == (200, "answer")
    assert "a=candidate:" in first[1]["sdp"] and "webrtc-datachannel" in first[1]["sdp"]
    assert code(await check(server, hearing["id"], token)) == (200, "answer")
    assert code(await check(server, hearing["id"], token)) == (429, "rate_limited")
    other = await party_token(server, hearing["id"])
    assert code(await check(server, hearing["id"], other)) == (200, "answer")


async def test_a_node_holding_as_many_checks_as_it_allows_answers_busy(
    server: RunningServer,
) -> None:
    engine = server.app[ENGINE]
    engine.settings = dataclasses.replace(engine.settings, max_probes=1)
    hearing = await server.create_hearing()
    hid = hearing["id"]
    assert code(await check(server, hid, await party_token(server, hid))) == (200, "answer")
    (held,) = engine.probes  # its ICE waits for candidates: it stays open
    assert code(await check(server, hid, await party_token(server, hid))) == (503, "busy")
    await held.close()
    assert len(engine.probes) == 0
    assert code(await check(server, hid, await party_token(server, hid))) == (200, "answer")


async def test_stopping_the_server_closes_every_open_check(tmp_path: Path) -> None:
    async with running_server(tmp_path / "data") as server:
        hearing = await server.create_hearing()
        for _ in range(3):
            token = await party_token(server, hearing["id"])
            assert code(await check(server, hearing["id"], token)) == (200, "answer")
        engine = server.app[ENGINE]
        opened = engine.probes
        assert len(opened) == 3 and not any(p.closed for p in opened)
    assert engine.probes == ()
    assert all(p.closed and p.connection_state == "closed" for p in opened)


def test_the_allowance_is_two_checks_in_any_minute_per_participant() -> None:
    now = [1000.0]
    limiter = CheckLimiter(clock=lambda: now[0])
    limiter.take("h_hearing1", "p_party01")
    now[0] += 30
    limiter.take("h_hearing1", "p_party01")
    limiter.take("h_hearing1", "p_party02")  # someone else's allowance is their own
    with pytest.raises(RateLimited, match="try again in 30 s"):
        limiter.take("h_hearing1", "p_party01")
    now[0] += 30  # the first check is a minute old
    limiter.take("h_hearing1", "p_party01")
    with pytest.raises(RateLimited):
        limiter.take("h_hearing1", "p_party01")


async def test_before_joining_a_link_learns_its_hearing_and_the_stun_and_turn_servers(
    tmp_path: Path,
) -> None:
    settings = {
        "stun_urls": ("stun:stun.court.example:3478",),
        "turn_urls": ("turn:turn.court.example:3478",),
        "turn_username": "ecourt",
        "turn_credential": Secret(b"turn-password"),
    }
    async with running_server(tmp_path / "data", **settings) as server:
        hearing = await server.create_hearing()
        token = await party_token(server, hearing["id"])
        url = f"{server.base_url}/api/hearings/{hearing['id']}/connection-check"
        async with server.session.get(url, headers={"Authorization": f"Bearer {token}"}) as got:
            assert got.status == 200
            assert got.headers["Cache-Control"] == "no-store"
            body = await got.json()
        assert body["hearing"] == {
            "id": hearing["id"],
            "type": hearing["type"],
            "case_number": hearing["case_number"],
            "title": hearing["title"],
            "scheduled_at": hearing["scheduled_at"],
            "public": hearing["public"],
            "language": "vi",
            "languages": [],
        }
        assert {k: v for k, v in body.items() if k != "hearing"} == {
            "ice_servers": [
                {"urls": ["stun:stun.court.example:3478"]},
                {
                    "urls": ["turn:turn.court.example:3478"],
                    "username": "ecourt",
                    "credential": "turn-password",
                },
            ]
        }
        # the TURN credential goes only to a holder of a valid link
        async with server.session.get(url) as refused:
            assert refused.status == 401
            assert (await refused.json())["error"]["code"] == "token_missing"
        async with server.session.get(url, headers={"Authorization": "Bearer junk"}) as junk:
            assert (junk.status, (await junk.json())["error"]["code"]) == (401, "token_malformed")
