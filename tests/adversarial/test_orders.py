"""Role escalation through every order: each role the permissions table does not name sends
each of the court's orders, and each attempt is refused `forbidden`, changes nothing, and is
audited, while another hearing is timed. Orders naming another hearing's participants are
refused `unknown_participant`; a viewer cannot publish; renegotiation is limited."""

from __future__ import annotations

import json
from typing import Any

from hearing import Role
from hearing.permissions import PERMISSIONS, Action
from signaling.session import HearingSession
from tests.adversarial.support import admit, assert_unharmed, bystander_running, wire_person
from tests.adversarial.wire import WireSocket
from tests.conftest import RunningServer
from tests.test_signaling import TWO_VIDEO_OFFER
from web.keys import AUDIT, SIGNALING

# event, payload (TARGET: a seated party, WITNESS: a witness, WAITING: someone in the lobby),
# and the action the permissions table decides it by
ORDERS: list[tuple[str, dict[str, Any], Action]] = [
    ("admit", {"participant_id": "WAITING"}, Action.ADMIT),
    ("deny", {"participant_id": "WAITING"}, Action.DENY),
    ("phase", {"phase": "in_session"}, Action.CHANGE_PHASE),
    (
        "move",
        {"participant_id": "WITNESS", "room": {"kind": "witness_room", "id": "child"}},
        Action.MOVE,
    ),
    ("call_witness", {"participant_id": "WITNESS"}, Action.CALL_WITNESS),
    ("release_witness", {"participant_id": "WITNESS"}, Action.RELEASE_WITNESS),
    ("floor", {"participant_id": "TARGET", "granted": True}, Action.GRANT_FLOOR),
    ("floor", {"participant_id": "TARGET", "granted": False}, Action.REVOKE_FLOOR),
    ("grant_screen", {"participant_id": "TARGET", "granted": True}, Action.GRANT_SCREEN),
    ("grant_screen", {"participant_id": "TARGET", "granted": False}, Action.REVOKE_SCREEN),
    ("force_mute", {"participant_id": "TARGET", "kind": "audio"}, Action.FORCE_MUTE),
    ("ask_unmute", {"participant_id": "TARGET", "kind": "audio"}, Action.ASK_UNMUTE),
    ("eject", {"participant_id": "TARGET"}, Action.EJECT),
    ("revoke", {"participant_id": "TARGET"}, Action.REVOKE_LINK),
    ("end_hearing", {}, Action.END_HEARING),
    ("lobby_message", {"to": "WAITING", "text": "Please wait"}, Action.MESSAGE_LOBBY),
    ("raise_hand", {"raised": True}, Action.RAISE_HAND),
    ("publish", {"sdp": TWO_VIDEO_OFFER, "type": "offer"}, Action.PUBLISH),
    (
        "publish",
        {"sdp": TWO_VIDEO_OFFER, "type": "offer", "screen_mid": "1"},
        Action.SHARE_SCREEN,
    ),
]
EVERY_EVENT = {
    "admit", "deny", "phase", "move", "call_witness", "release_witness", "floor",
    "grant_screen", "force_mute", "ask_unmute", "eject", "revoke", "end_hearing",
    "lobby_message",
}  # fmt: skip


def fill(payload: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    return {k: ids.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}


def state_of(session: HearingSession) -> dict[str, Any]:
    """Everything an order could change."""
    court = session.court
    return {
        "phase": court.phase.value,
        "members": sorted(session.members),
        "waiting": session.lobby.waiting(),
        "hands": sorted(court.hands),
        "grants": sorted(court.screen_grants),
        "muted": {k: sorted(v) for k, v in court.forced_mute.items() if v},
        "seats": sorted(
            (s.participant_id, s.room.kind.value, s.floor)
            for m in session.members.values()
            if (s := session.seat_of(m.participant)) is not None
        ),
        "publishing": sorted(pid for pid, m in session.members.items() if m.tracks),
    }


async def everyone(
    server: RunningServer, hid: str, opened: list[WireSocket]
) -> tuple[dict[Role, WireSocket], dict[str, str]]:
    """One admitted participant of every role, and a party left waiting in the lobby."""
    judge, _ = await wire_person(server, hid, "presiding_judge", "Judge Le")
    opened.append(judge)
    sockets = {Role.PRESIDING_JUDGE: judge}
    ids: dict[str, str] = {}
    for role in sorted(set(Role) - {Role.PRESIDING_JUDGE}):
        socket, welcome = await wire_person(server, hid, role.value, f"A {role.value}")
        opened.append(socket)
        sockets[role] = socket
        pid = welcome["participant"]["id"]
        if welcome["admission"] == "waiting":
            await admit(judge, pid)
        if role in (Role.WITNESS, Role.PLAINTIFF):
            ids["WITNESS" if role is Role.WITNESS else "TARGET"] = pid
    waiting, welcome = await wire_person(server, hid, "respondent", "Mr Waiting")
    opened.append(waiting)
    ids["WAITING"] = welcome["participant"]["id"]
    return sockets, ids


async def test_every_order_from_every_role_not_allowed_is_refused_and_changes_nothing(
    server: RunningServer,
) -> None:
    assert {event for event, _, _ in ORDERS} >= EVERY_EVENT
    hearing = await server.create_hearing()
    hid = hearing["id"]
    opened: list[WireSocket] = []
    sockets, ids = await everyone(server, hid, opened)
    session = server.app[SIGNALING].session(hid)
    assert session is not None
    before = state_of(session)
    outcomes: dict[tuple[str, str, str], str] = {}
    try:
        async with bystander_running(server) as bystander:
            for event, payload, action in ORDERS:
                for role in sorted(set(Role) - PERMISSIONS[action]):
                    ack = await sockets[role].call(event, fill(payload, ids))
                    code = "ok" if ack["ok"] else ack["error"]["code"]
                    outcomes[(event, action.value, role.value)] = code
        assert_unharmed(bystander, "every order from every role")
        assert state_of(session) == before
    finally:
        for socket in opened:
            await socket.close()
    print(f"[orders] {len(outcomes)} attempts: {sorted(set(outcomes.values()))}")
    assert len(outcomes) >= 100
    assert {k: v for k, v in outcomes.items() if v != "forbidden"} == {}

    entries = [json.loads(e) for e in server.app[AUDIT].path(hid).read_text().splitlines()]
    refused = [e for e in entries if e.get("action") == "refused" and e["result"] == "forbidden"]
    assert len(refused) == len(outcomes)  # every attempt is on the record


async def test_orders_naming_another_hearings_participants_are_refused_unknown_participant(
    server: RunningServer,
) -> None:
    ours = await server.create_hearing()
    theirs = await server.create_hearing(case_number="02/2026/DS-ST")
    opened: list[WireSocket] = []
    try:
        judge, _ = await wire_person(server, ours["id"], "presiding_judge", "Judge Le")
        opened.append(judge)
        assert (await judge.call("phase", {"phase": "in_session"}))["ok"]
        their_judge, _ = await wire_person(server, theirs["id"], "presiding_judge", "Judge Vu")
        opened.append(their_judge)
        seated, welcome = await wire_person(server, theirs["id"], "witness", "Their witness")
        opened.append(seated)
        await admit(their_judge, welcome["participant"]["id"])
        waiting, waiting_welcome = await wire_person(server, theirs["id"], "plaintiff", "Them")
        opened.append(waiting)
        ids = {
            "TARGET": welcome["participant"]["id"],
            "WITNESS": welcome["participant"]["id"],
            "WAITING": waiting_welcome["participant"]["id"],
        }
        their_session = server.app[SIGNALING].session(theirs["id"])
        assert their_session is not None
        before = state_of(their_session)
        codes = {}
        async with bystander_running(server) as bystander:
            for event, payload, _ in ORDERS:
                if "participant_id" in payload:
                    ack = await judge.call(event, fill(payload, ids))
                    codes[(event, json.dumps(payload))] = ack["error"]["code"]
        assert_unharmed(bystander, "orders naming another hearing's people")
        assert set(codes.values()) == {"unknown_participant"}, codes
        assert len(codes) >= 12
        assert state_of(their_session) == before
        assert not seated.closed and not waiting.closed
    finally:
        for socket in opened:
            await socket.close()


async def test_a_party_still_in_the_lobby_cannot_publish(server: RunningServer) -> None:
    hearing = await server.create_hearing()
    party, welcome = await wire_person(server, hearing["id"], "plaintiff", "Ms Nguyen")
    try:
        assert welcome["admission"] == "waiting"
        ack = await party.call("publish", {"sdp": TWO_VIDEO_OFFER, "type": "offer"})
        assert ack["error"]["code"] == "not_admitted"
    finally:
        await party.close()


async def test_a_sixth_publish_offer_within_a_minute_is_refused_rate_limited(
    server: RunningServer,
) -> None:
    hearing = await server.create_hearing()
    judge, _ = await wire_person(server, hearing["id"], "presiding_judge", "Judge Le")
    try:
        codes = []
        for _ in range(6):
            ack = await judge.call("publish", {"sdp": TWO_VIDEO_OFFER, "type": "offer"})
            codes.append(ack["error"]["code"])
        assert codes == ["too_many_tracks"] * 5 + ["rate_limited"]
        assert (await judge.call("mute", {"kind": "audio", "muted": True}))[
            "ok"
        ]  # other requests go on
    finally:
        await judge.close()
