"""The signalling edge refuses bad tokens and bad messages with stable codes, and a bad client
never disturbs anyone else. No media flows here, so these run outside the namespace."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType

from hearing import Participant, Role, new_participant_id
from security import Secret, TokenSigner, verify_file
from signaling.client import HearingClient, JoinRefused, RequestFailed
from tests.conftest import RunningServer
from web.keys import AUDIT, SIGNALING

TOKEN_KEY = Secret(b"k" * 32)  # the key tests/conftest.py gives the server


async def connect(
    server: RunningServer, clients: list[HearingClient], token: str, hearing_id: str | None = None
) -> HearingClient:
    client = HearingClient(server.base_url, token, hearing_id=hearing_id, request_timeout=5)
    clients.append(client)
    await client.connect()
    return client


async def enter(
    server: RunningServer, clients: list[HearingClient], hearing_id: str, role: str
) -> HearingClient:
    """Connect with a fresh token for `role`."""
    return await connect(server, clients, await token_for(server, hearing_id, role))


async def token_for(server: RunningServer, hearing_id: str, role: str = "plaintiff") -> str:
    issued = await server.issue_token(hearing_id, role, "Ms Nguyen")
    token: str = issued["token"]
    return token


async def refusal(
    server: RunningServer, clients: list[HearingClient], token: str, **kw: str
) -> str:
    with pytest.raises(JoinRefused) as refused:
        await connect(server, clients, token, **kw)
    return refused.value.code


async def test_a_token_for_another_hearing_is_refused_with_token_wrong_hearing(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    first = await server.create_hearing()
    second = await server.create_hearing(case_number="02/2026/DS-ST")
    token = await token_for(server, first["id"])
    assert await refusal(server, clients, token, hearing_id=second["id"]) == "token_wrong_hearing"


async def test_an_expired_token_is_refused_with_token_expired(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    an_hour_ago = TokenSigner(TOKEN_KEY, clock=lambda: time.time() - 3600)
    participant = Participant(new_participant_id(), hearing["id"], Role.PLAINTIFF, "Ms Nguyen")
    token, _ = an_hour_ago.issue(participant, ttl_seconds=60)
    assert await refusal(server, clients, token) == "token_expired"


async def test_a_forged_token_is_refused_with_token_forged(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    participant = Participant(new_participant_id(), hearing["id"], Role.PRESIDING_JUDGE, "Judge")
    forged, _ = TokenSigner(Secret(b"x" * 32)).issue(participant, ttl_seconds=600)
    assert await refusal(server, clients, forged) == "token_forged"
    genuine = await token_for(server, hearing["id"])
    version, claims, signature = genuine.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert await refusal(server, clients, f"{version}.{claims}.{flipped}") == "token_forged"


@pytest.mark.parametrize("token", ["", "garbage", "v1.only-two", "v2.a.b", "x" * 5000])
async def test_missing_or_malformed_tokens_are_refused(
    server: RunningServer, clients: list[HearingClient], token: str
) -> None:
    code = await refusal(server, clients, token)
    assert code in {"token_missing", "token_malformed"}


async def test_a_token_for_a_hearing_that_does_not_exist_is_refused(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    participant = Participant(new_participant_id(), "h_nosuchhearing", Role.CLERK, "Clerk")
    token, _ = TokenSigner(TOKEN_KEY).issue(participant, ttl_seconds=600)
    assert await refusal(server, clients, token) == "unknown_hearing"


async def test_the_same_page_reconnecting_replaces_its_stale_connection_another_is_refused(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await enter(server, clients, hearing["id"], "presiding_judge")
    token = await token_for(server, hearing["id"], "plaintiff")
    key = "page-key-0123456789abcdef"

    def client(resume: str | None) -> HearingClient:
        made = HearingClient(server.base_url, token, request_timeout=5, resume=resume)
        clients.append(made)
        return made

    first = client(key)
    await first.connect()  # its connection stays open: the server has not seen it drop
    await judge.request("admit", {"participant_id": first.participant["id"]})
    await first.wait_until(lambda: first.admission == "admitted", 5, "the party admitted")
    # another device with the link (another key, or none) is refused, as before
    for other in ("another-device-key-0001", None):
        with pytest.raises(JoinRefused) as refused:
            await client(other).connect()
        assert refused.value.code == "already_connected"
    assert first.connected
    # the same page, back after a drop, comes in; its stale connection is put out
    again = client(key)
    welcome = await again.connect()
    assert welcome["admission"] == "admitted"  # not back through the lobby
    await first.wait_until(lambda: first.left_reason == "replaced", 5, "the old one replaced")
    await judge.wait_until(
        lambda: [p["id"] for p in judge.roster].count(again.participant["id"]) == 1,
        5,
        "the party once in the roster",
    )
    # a malformed key is refused, and changes nothing
    with pytest.raises(JoinRefused) as malformed:
        await client("short").connect()
    assert malformed.value.code == "bad_request"
    assert again.connected


async def test_a_second_connection_with_the_same_token_is_refused_and_the_bench_alerted(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await enter(server, clients, hearing["id"], "presiding_judge")
    token = await token_for(server, hearing["id"], "clerk")
    first = await connect(server, clients, token)
    assert await refusal(server, clients, token) == "already_connected"
    assert first.connected
    await judge.wait_until(lambda: judge.alerts != [], 5, "the alert")
    assert judge.alerts == [
        {"code": "already_connected", "participant_id": first.participant["id"]}
    ]
    lines = server.app[AUDIT].path(hearing["id"]).read_text().splitlines()
    refused = [json.loads(line) for line in lines if '"already_connected"' in line]
    assert [(e["actor"], e["details"]) for e in refused] == [
        (first.participant["id"], {"request": "connect"})
    ]


@pytest.mark.parametrize(
    ("event", "payload", "code", "field"),
    [
        ("no_such_event", {}, "bad_request", None),
        ("admit", "not an object", "bad_request", None),
        ("admit", {}, "bad_request", "participant_id"),
        ("admit", {"participant_id": 7}, "bad_request", "participant_id"),
        ("admit", {"participant_id": "p_x", "extra": 1}, "bad_request", "extra"),
        ("admit", {"participant_id": "p_nobody_waiting"}, "unknown_participant", None),
        ("mute", {"kind": "smell", "muted": True}, "bad_request", "kind"),
        ("mute", {"kind": "audio", "muted": "yes"}, "bad_request", "muted"),
        ("publish", {"sdp": "v=0\r\nnonsense", "type": "offer"}, "sdp_invalid", None),
        ("publish", {"sdp": "v=0", "type": "answer"}, "bad_request", "type"),
        (
            "subscribe_answer",
            {"sdp": "v=0", "type": "answer", "version": 0},
            "bad_request",
            "version",
        ),
        ("subscribe_answer", {"sdp": "v=0", "type": "answer", "version": 3}, "stale_answer", None),
    ],
)
async def test_bad_requests_get_a_stable_code_and_change_nothing(
    server: RunningServer,
    clients: list[HearingClient],
    event: str,
    payload: object,
    code: str,
    field: str | None,
) -> None:
    hearing = await server.create_hearing()
    judge = await enter(server, clients, hearing["id"], "presiding_judge")
    with pytest.raises(RequestFailed) as failed:
        await judge.request(event, payload)
    assert (failed.value.code, failed.value.field) == (code, field)
    await judge.request("mute", {"kind": "audio", "muted": True})  # still served
    await judge.wait_until(
        lambda: judge.roster and judge.roster[0]["muted"]["audio"] is True, 5, "the mute"
    )


TWO_VIDEO_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        *[
            line
            for mid in ("0", "1")
            for line in (
                "m=video 9 UDP/TLS/RTP/SAVPF 96",
                "c=IN IP4 0.0.0.0",
                f"a=mid:{mid}",
                "a=sendonly",
                "a=rtcp-mux",
                "a=rtpmap:96 VP8/90000",
                "a=ice-ufrag:abcd",
                "a=ice-pwd:abcdefghijklmnopqrstuvwx",
                "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
                "a=setup:actpass",
            )
        ],
        "",
    ]
)


async def test_a_publish_offer_with_two_video_sections_is_refused(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await enter(server, clients, hearing["id"], "presiding_judge")
    with pytest.raises(RequestFailed) as failed:
        await judge.request("publish", {"sdp": TWO_VIDEO_OFFER, "type": "offer"})
    assert failed.value.code == "too_many_tracks"


async def test_only_the_judge_and_the_clerk_may_admit(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await enter(server, clients, hearing["id"], "presiding_judge")
    first = await enter(server, clients, hearing["id"], "plaintiff")
    second = await enter(server, clients, hearing["id"], "respondent")
    await judge.wait_for_waiting(second.participant["id"])
    with pytest.raises(RequestFailed) as failed:
        await first.admit(second.participant["id"])
    assert failed.value.code == "forbidden"
    assert second.admission == "waiting"
    assert [p["id"] for p in judge.lobby] == [first.participant["id"], second.participant["id"]]


async def test_an_oversized_message_closes_only_that_connection(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await enter(server, clients, hearing["id"], "presiding_judge")
    flooder = await enter(server, clients, hearing["id"], "clerk")
    with pytest.raises(Exception):  # noqa: B017 - the transport is closed under the client
        await flooder.emit_raw("mute", {"kind": "audio", "muted": True, "pad": "x" * 100_000})
    await flooder.wait_until(lambda: not flooder.connected, 5, "the oversized sender's disconnect")
    await judge.request("mute", {"kind": "video", "muted": True})
    await judge.wait_until(
        lambda: [p["role"] for p in judge.roster] == ["presiding_judge"], 5, "a roster of one"
    )


async def test_a_waiting_participant_who_leaves_vanishes_from_the_lobby(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    clerk = await enter(server, clients, hearing["id"], "clerk")
    party = await enter(server, clients, hearing["id"], "witness")
    await clerk.wait_for_waiting(party.participant["id"])
    await party.request("leave", {})
    await clerk.wait_until(lambda: clerk.lobby == [], 5, "an empty lobby")


async def test_lobby_decisions_and_refusals_are_in_the_hearings_verifiable_audit_log(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await enter(server, clients, hearing["id"], "presiding_judge")
    party = await enter(server, clients, hearing["id"], "plaintiff")
    intruder = await enter(server, clients, hearing["id"], "witness")
    await judge.wait_for_waiting(intruder.participant["id"])
    with pytest.raises(RequestFailed):
        await party.admit(intruder.participant["id"])  # a party may not admit
    await judge.admit(party.participant["id"])
    await judge.deny(intruder.participant["id"])
    await judge.wait_until(lambda: judge.lobby == [], 5, "an empty lobby")

    audit = server.app[AUDIT]
    path = audit.path(hearing["id"])
    report = verify_file(path, audit.key.public_key)
    assert report.ok, report.summary()
    entries = [json.loads(line) for line in path.read_bytes().splitlines()]
    seen = [(e["actor"], e["action"], e.get("target"), e["result"]) for e in entries]
    judge_id, party_id = judge.participant["id"], party.participant["id"]
    intruder_id = intruder.participant["id"]
    assert (party_id, "refused", None, "forbidden") in seen
    assert (judge_id, "admit", party_id, "ok") in seen
    assert (judge_id, "deny", intruder_id, "ok") in seen
    assert (intruder_id, "leave", None, "denied") in seen
    text = path.read_text()
    assert "Ms Nguyen" not in text and "token" not in text  # ids only, never names or tokens


async def test_a_flooding_connection_is_slowed_then_closed_and_nobody_else_notices(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    hearing_id = hearing["id"]
    judge = await enter(server, clients, hearing_id, "presiding_judge")
    flooder = await enter(server, clients, hearing_id, "clerk")

    answers = [await flooder.emit_raw("mute", {"kind": "audio", "muted": True}) for _ in range(60)]
    codes = [a["ok"] or a["error"]["code"] for a in answers]
    assert codes.count("rate_limited") >= 5, codes  # the burst of 50 was spent
    for _ in range(200):  # fire and forget, as a flood would
        if not flooder.connected:
            break
        await flooder._sio.emit("mute", {"kind": "audio", "muted": False}, namespace="/hearing")
    await flooder.wait_until(lambda: not flooder.connected, 10, "the flooder's disconnect")

    await judge.request("mute", {"kind": "video", "muted": True})
    await judge.wait_until(
        lambda: [p["role"] for p in judge.roster] == ["presiding_judge"], 5, "a roster of one"
    )
    lines = server.app[AUDIT].path(hearing_id).read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    flooder_id = flooder.participant["id"]
    outcomes = [(e["action"], e["result"]) for e in entries if e["actor"] == flooder_id]
    assert ("refused", "rate_limited") in outcomes
    assert ("leave", "abuse") in outcomes
    assert outcomes.count(("refused", "rate_limited")) == 1  # a flood is one audit entry


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("phase", {"phase": "in_session"}),
        ("move", {"participant_id": "SELF", "room": {"kind": "witness_room", "id": "child"}}),
        ("call_witness", {"participant_id": "WITNESS"}),
        ("release_witness", {"participant_id": "WITNESS"}),
        ("floor", {"participant_id": "SELF", "granted": True}),
        ("admit", {"participant_id": "WITNESS"}),
        ("force_mute", {"participant_id": "WITNESS", "kind": "audio"}),
        ("ask_unmute", {"participant_id": "WITNESS", "kind": "audio"}),
        ("eject", {"participant_id": "WITNESS"}),
        ("revoke", {"participant_id": "WITNESS"}),
        ("end_hearing", {}),
        ("recording", {"action": "start"}),
        ("recording", {"action": "pause"}),
    ],
)
async def test_a_party_cannot_give_the_courts_orders_and_each_attempt_is_audited(
    server: RunningServer, clients: list[HearingClient], event: str, payload: dict[str, Any]
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    judge = await enter(server, clients, hid, "presiding_judge")
    party = await enter(server, clients, hid, "accused")
    witness = await enter(server, clients, hid, "witness")
    await judge.wait_for_waiting(party.participant["id"])
    await judge.admit(party.participant["id"])
    ids = {"SELF": party.participant["id"], "WITNESS": witness.participant["id"]}
    if event != "admit":
        await judge.admit(witness.participant["id"])
    payload = {k: (ids.get(v, v) if isinstance(v, str) else v) for k, v in payload.items()}

    with pytest.raises(RequestFailed) as refused:
        await party.request(event, payload)
    assert refused.value.code == "forbidden"
    session = server.app[SIGNALING].session(hid)
    assert session is not None and session.court.phase.value == "scheduled"
    entries = [json.loads(line) for line in server.app[AUDIT].path(hid).read_text().splitlines()]
    assert {
        "actor": party.participant["id"],
        "action": "refused",
        "result": "forbidden",
        "request": event,
    } in [
        {"actor": e["actor"], "action": e["action"], "result": e["result"]} | e["details"]
        for e in entries
    ]


async def test_a_party_waiting_in_the_lobby_cannot_admit_itself(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await enter(server, clients, hearing["id"], "presiding_judge")
    party = await enter(server, clients, hearing["id"], "accused")
    await judge.wait_for_waiting(party.participant["id"])
    with pytest.raises(RequestFailed) as refused:
        await party.admit(party.participant["id"])
    assert refused.value.code == "forbidden"
    assert party.admission == "waiting"
    assert [p["id"] for p in judge.lobby] == [party.participant["id"]]


async def test_there_is_no_request_to_subscribe_to_a_chosen_track(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    party = await enter(server, clients, hearing["id"], "clerk")
    with pytest.raises(RequestFailed) as refused:
        await party.request("subscribe", {"track": "t1"})
    assert refused.value.code == "bad_request"


async def judge_and_admitted_party(
    server: RunningServer, clients: list[HearingClient]
) -> tuple[HearingClient, HearingClient]:
    """A hearing's presiding judge and a plaintiff the judge has admitted."""
    hearing = await server.create_hearing()
    judge = await enter(server, clients, hearing["id"], "presiding_judge")
    party = await enter(server, clients, hearing["id"], "plaintiff")
    await judge.wait_for_waiting(party.participant["id"])
    await judge.admit(party.participant["id"])
    await party.wait_admitted()
    return judge, party


async def test_a_raised_hand_shows_in_the_roster_until_lowered(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    judge, party = await judge_and_admitted_party(server, clients)

    def hand() -> bool:
        entry = next((p for p in judge.roster if p["id"] == party.participant["id"]), {})
        return bool(entry.get("hand"))

    await party.request("raise_hand", {"raised": True})
    await judge.wait_until(hand, 5, "the raised hand")
    await party.request("raise_hand", {"raised": False})
    await judge.wait_until(lambda: not hand(), 5, "the lowered hand")


async def test_giving_the_floor_lowers_the_hand_it_answers(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    judge, party = await judge_and_admitted_party(server, clients)

    def entry() -> dict[str, object]:
        return next((p for p in judge.roster if p["id"] == party.participant["id"]), {})

    await party.request("raise_hand", {"raised": True})
    await judge.wait_until(lambda: bool(entry().get("hand")), 5, "the raised hand")
    await judge.request("floor", {"participant_id": party.participant["id"], "granted": True})
    await judge.wait_until(lambda: bool(entry().get("floor")), 5, "the floor given")
    assert entry().get("hand") is False


async def test_an_ejected_participant_is_put_out_and_cannot_come_back(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    judge = await enter(server, clients, hid, "presiding_judge")
    token = await token_for(server, hid, "observer")
    observer = await connect(server, clients, token)
    await judge.wait_for_waiting(observer.participant["id"])
    await judge.admit(observer.participant["id"])
    await observer.wait_admitted()

    await judge.request("eject", {"participant_id": observer.participant["id"]})
    await observer.wait_until(lambda: not observer.connected, 5, "the ejection")
    assert observer.left_reason == "ejected"
    assert await refusal(server, clients, token) == "denied"


async def test_ending_the_hearing_closes_every_connection_and_admits_nobody_after(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    judge = await enter(server, clients, hid, "presiding_judge")
    clerk = await enter(server, clients, hid, "clerk")
    await judge.request("end_hearing", {})
    for client in (judge, clerk):
        await client.wait_until(lambda c=client: not c.connected, 5, "the end of the hearing")
        assert client.left_reason == "hearing_ended"
    assert await refusal(server, clients, await token_for(server, hid, "plaintiff")) == (
        "hearing_ended"
    )


async def test_a_revoked_link_closes_its_live_connection_and_never_opens_again(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    clerk = await enter(server, clients, hid, "clerk")
    token = await token_for(server, hid, "plaintiff")
    party = await connect(server, clients, token)
    await clerk.wait_for_waiting(party.participant["id"])

    url = f"{server.base_url}/api/hearings/{hid}/tokens/{party.participant['id']}/revoke"
    async with server.session.post(url, headers=server.headers) as response:
        assert response.status == 204
    await party.wait_until(lambda: not party.connected, 5, "the revoked connection to close")
    assert party.left_reason == "revoked"
    await clerk.wait_until(lambda: clerk.lobby == [], 5, "the lobby to empty")
    assert await refusal(server, clients, token) == "token_revoked"
    entries = [json.loads(e) for e in server.app[AUDIT].path(hid).read_text().splitlines()]
    assert ("api", "revoke", party.participant["id"]) in [
        (e["actor"], e["action"], e["target"]) for e in entries
    ]

    bad = f"{server.base_url}/api/hearings/{hid}/tokens/x/revoke"
    async with server.session.post(bad, headers=server.headers) as response:
        assert response.status == 404  # no participant can have that id
    unknown = f"{server.base_url}/api/hearings/h_nosuchhearing/tokens/p_abcdefgh/revoke"
    async with server.session.post(unknown, headers=server.headers) as response:
        assert response.status == 404


async def test_a_child_witness_name_reaches_only_those_cleared_to_know_it(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    judge = await enter(server, clients, hid, "presiding_judge")
    accused = await enter(server, clients, hid, "accused")
    issued = await server.issue_token(hid, "child_witness", "An Nguyen")
    child = await connect(server, clients, issued["token"])
    for client in (accused, child):
        await judge.wait_for_waiting(client.participant["id"])
        await judge.admit(client.participant["id"])

    def name_seen_by(viewer: HearingClient) -> str | None:
        entry = next((p for p in viewer.roster if p["id"] == child.participant["id"]), None)
        return None if entry is None else str(entry["display_name"])

    await judge.wait_until(lambda: name_seen_by(judge) == "An Nguyen", 5, "the judge's roster")
    await accused.wait_until(
        lambda: name_seen_by(accused) == "Protected witness", 5, "the accused's roster"
    )
    assert all("An Nguyen" not in str(p) for p in accused.roster)
    log = server.app[AUDIT].path(hid).read_text()
    assert "An Nguyen" not in log


async def test_a_compressed_frame_that_inflates_past_the_cap_closes_only_that_connection(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    judge = await enter(server, clients, hid, "presiding_judge")
    token = await token_for(server, hid, "clerk")
    url = f"{server.base_url}/socket.io/?EIO=4&transport=websocket"
    async with server.session.ws_connect(url, compress=15) as ws:
        opened = await ws.receive_str(timeout=5)
        assert opened.startswith("0")  # engine.io open
        await ws.send_str("40/hearing," + json.dumps({"token": token}))
        connected = await ws.receive_str(timeout=5)
        assert connected.startswith("40/hearing,")
        bomb = "42/hearing," + json.dumps(["mute", {"kind": "audio", "pad": "a" * 2_000_000}])
        await ws.send_str(bomb)  # a few kilobytes on the wire, two megabytes inflated
        closing = await ws.receive(timeout=5)
        while closing.type not in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            closing = await ws.receive(timeout=5)
        assert ws.close_code == WSCloseCode.MESSAGE_TOO_BIG
    await judge.request("mute", {"kind": "audio", "muted": True})  # nobody else noticed


async def test_a_connection_that_never_authenticates_is_closed_after_five_seconds(
    server: RunningServer,
) -> None:
    url = f"{server.base_url}/socket.io/?EIO=4&transport=websocket"
    async with server.session.ws_connect(url) as ws:
        opened = await ws.receive_str(timeout=5)
        assert opened.startswith("0")
        started = asyncio.get_running_loop().time()
        message = await ws.receive(timeout=15)  # never sends the namespace connect
        while message.type is WSMsgType.TEXT and message.data != "1":  # "1": engine.io close
            message = await ws.receive(timeout=15)
        waited = asyncio.get_running_loop().time() - started
        assert message.type is not WSMsgType.TEXT or message.data == "1"
    assert waited >= 4.0  # not before the grace period: AUTH_TIMEOUT is 5 s


async def test_a_page_from_another_origin_cannot_open_the_signalling_socket(
    server: RunningServer,
) -> None:
    url = f"{server.base_url}/socket.io/?EIO=4&transport=websocket"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with server.session.ws_connect(url, headers={"Origin": "https://evil.example"}):
            pass
    assert refused.value.status == 400
    same = {"Origin": server.base_url}
    async with server.session.ws_connect(url, headers=same) as ws:
        assert (await ws.receive_str(timeout=5)).startswith("0")


async def test_the_clerk_can_revoke_a_link_and_its_holder_is_put_out_for_good(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    clerk = await enter(server, clients, hid, "clerk")
    token = await token_for(server, hid, "witness")
    holder = await connect(server, clients, token)
    await clerk.wait_for_waiting(holder.participant["id"])
    await clerk.request("revoke", {"participant_id": holder.participant["id"]})
    await holder.wait_until(lambda: not holder.connected, 5, "the revoked link's connection")
    assert holder.left_reason == "revoked"
    assert await refusal(server, clients, token) == "token_revoked"


async def test_without_tls_no_hsts_is_sent(server: RunningServer) -> None:
    async with server.session.get(f"{server.base_url}/healthz") as response:
        assert "Strict-Transport-Security" not in response.headers
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_an_observer_who_tries_to_publish_is_refused(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await enter(server, clients, hearing["id"], "presiding_judge")
    observer = await enter(server, clients, hearing["id"], "observer")
    await judge.wait_for_waiting(observer.participant["id"])
    await judge.admit(observer.participant["id"])
    await observer.wait_admitted()
    with pytest.raises(RequestFailed) as refused:
        await observer.request("publish", {"sdp": TWO_VIDEO_OFFER, "type": "offer"})
    assert refused.value.code == "forbidden"
