"""The bench and the clerk write to people waiting in the lobby (`lobby_message`): to one of
them or to all who wait, never to anyone in the courtroom or in another hearing; bad input is
refused with a code, and the audit says to whom, never the words. Real server, real clients,
no media."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest

from signaling.client import HearingClient, RequestFailed
from signaling.errors import BadRequest
from signaling.messages import MAX_LOBBY_TEXT, LobbyMessage
from signaling.ratelimit import ConnectionLimits
from tests.conftest import RunningServer
from tests.test_lobby_news import enter_as
from tests.test_ratelimit import Clock
from web.keys import AUDIT

NOTE = "Phiên tòa sẽ bắt đầu lúc 9 giờ 30. Đề nghị Ông/Bà chờ."


def messages_of(client: HearingClient) -> list[dict[str, Any]]:
    return [payload for event, payload in client.events if event == "lobby_message"]


async def read_a_message(client: HearingClient) -> None:
    await client.wait_until(lambda: bool(messages_of(client)), 5, "a message to the lobby")


async def settled(*clients: HearingClient) -> None:
    """Each client's connection has had everything the server sent it before now: the server
    answers a connection's requests in order, and its events go out before a later ack."""
    for client in clients:
        await client.emit_raw("mute", {"kind": "audio", "muted": True})


async def test_the_clerk_writes_to_one_waiting_person_and_only_they_read_it(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    clerk = await enter_as(server, clients, hid, "clerk", "Clerk Pham")
    judge = await enter_as(server, clients, hid, "presiding_judge", "Judge Le")
    seated = await enter_as(server, clients, hid, "plaintiff", "Ms Nguyen")
    await clerk.wait_for_waiting(seated.participant["id"])
    await clerk.admit(seated.participant["id"])
    await seated.wait_admitted(5)
    first = await enter_as(server, clients, hid, "respondent", "Mr Tran")
    second = await enter_as(server, clients, hid, "witness", "Mrs Vo")
    elsewhere = await server.create_hearing()
    other_clerk = await enter_as(server, clients, elsewhere["id"], "clerk", "Clerk Do")
    other_waiting = await enter_as(server, clients, elsewhere["id"], "plaintiff", "Mr Ly")
    await clerk.wait_for_waiting(second.participant["id"])

    assert await clerk.message_lobby(first.participant["id"], NOTE) == 1
    await read_a_message(first)
    (shown,) = messages_of(first)
    assert shown["text"] == NOTE
    assert shown["to"] == "you" and shown["from_role"] == "clerk"
    assert shown["at"].endswith("Z")
    await settled(second, seated, judge, other_clerk, other_waiting)
    for bystander in (second, seated, judge, clerk, other_clerk, other_waiting):
        assert NOTE not in json.dumps(bystander.events)
    assert "Clerk Pham" not in json.dumps(first.events)  # the court writes, not a name


async def test_a_message_to_all_waiting_reaches_everyone_waiting_and_nobody_else(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    judge = await enter_as(server, clients, hid, "presiding_judge", "Judge Le")
    seated = await enter_as(server, clients, hid, "prosecutor", "Prosecutor Ha")
    await judge.wait_for_waiting(seated.participant["id"])
    await judge.admit(seated.participant["id"])
    await seated.wait_admitted(5)
    waiting = [
        await enter_as(server, clients, hid, role, name)
        for role, name in (("accused", "Mr Tran"), ("witness", "Mrs Vo"), ("observer", "Mr Ly"))
    ]
    elsewhere = await server.create_hearing()
    other_judge = await enter_as(server, clients, elsewhere["id"], "presiding_judge", "Judge X")
    other_waiting = await enter_as(server, clients, elsewhere["id"], "accused", "Mr Ho")
    await other_judge.wait_for_waiting(other_waiting.participant["id"])
    await judge.wait_for_waiting(waiting[-1].participant["id"])

    assert await judge.message_lobby("all_waiting", NOTE) == 3
    for person in waiting:
        await read_a_message(person)
        assert [(m["text"], m["to"], m["from_role"]) for m in messages_of(person)] == [
            (NOTE, "all_waiting", "presiding_judge")
        ]
    await settled(seated, judge, other_judge, other_waiting)
    for bystander in (seated, judge, other_judge, other_waiting):
        assert NOTE not in json.dumps(bystander.events)

    await judge.admit(waiting[0].participant["id"])
    await waiting[0].wait_admitted(5)
    assert await judge.message_lobby("all_waiting", "Second note") == 2  # no longer to them
    await settled(waiting[0])
    assert "Second note" not in json.dumps(waiting[0].events)


async def test_only_the_bench_and_the_clerk_in_the_courtroom_may_write_to_the_lobby(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    judge = await enter_as(server, clients, hid, "presiding_judge", "Judge Le")
    associate = await enter_as(server, clients, hid, "judge", "Judge Mai")
    counsel = await enter_as(server, clients, hid, "party_lawyer", "Lawyer Dang")
    observer = await enter_as(server, clients, hid, "observer", "Mr Public")
    waiting = await enter_as(server, clients, hid, "plaintiff", "Ms Nguyen")
    await judge.wait_for_waiting(waiting.participant["id"])
    target = waiting.participant["id"]

    with pytest.raises(RequestFailed) as refused:  # a judge still waiting to be admitted
        await associate.message_lobby(target, "Hello")
    assert refused.value.code == "not_admitted"
    for pid in (associate, counsel, observer):
        await judge.admit(pid.participant["id"])
        await pid.wait_admitted(5)
    assert await associate.message_lobby(target, "From the associate judge") == 1
    for outsider in (counsel, observer, waiting):
        with pytest.raises(RequestFailed) as refused:
            await outsider.message_lobby(target if outsider is not waiting else "all_waiting", "x")
        assert refused.value.code == "forbidden"
    await waiting.wait_until(lambda: len(messages_of(waiting)) == 1, 5, "one message")
    await settled(waiting)
    assert [m["from_role"] for m in messages_of(waiting)] == ["judge"]


async def test_a_message_to_someone_not_waiting_is_refused_and_reaches_nobody(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    clerk = await enter_as(server, clients, hid, "clerk", "Clerk Pham")
    seated = await enter_as(server, clients, hid, "plaintiff", "Ms Nguyen")
    gone = await enter_as(server, clients, hid, "witness", "Mrs Vo")
    await clerk.wait_for_waiting(gone.participant["id"])
    await clerk.admit(seated.participant["id"])
    await seated.wait_admitted(5)
    await gone.request("leave", {})
    await clerk.wait_until(lambda: clerk.lobby == [], 5, "an empty lobby")
    elsewhere = await server.create_hearing()
    stranger = await enter_as(server, clients, elsewhere["id"], "plaintiff", "Mr Ly")

    cases = {
        seated.participant["id"]: "not_waiting",  # in the courtroom
        gone.participant["id"]: "not_waiting",  # left
        stranger.participant["id"]: "unknown_participant",  # waiting, in another hearing
        "p_nobody_at_all": "unknown_participant",
    }
    for to, code in cases.items():
        with pytest.raises(RequestFailed) as refused:
            await clerk.message_lobby(to, NOTE)
        assert refused.value.code == code, to
    await settled(seated, stranger)
    assert NOTE not in json.dumps(seated.events) + json.dumps(stranger.events)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"to": "all_waiting"}, "text"),
        ({"to": "all_waiting", "text": ""}, "text"),
        ({"to": "all_waiting", "text": " \n\t "}, "text"),
        ({"to": "all_waiting", "text": 42}, "text"),
        ({"to": "all_waiting", "text": "x" * (MAX_LOBBY_TEXT + 1)}, "text"),
        ({"to": "all_waiting", "text": "ring \x07 the bell"}, "text"),
        ({"to": "all_waiting", "text": "tab\there"}, "text"),
        ({"to": "all_waiting", "text": "evil \u202etxt.exe"}, "text"),
        ({"to": "all_waiting", "text": "isolate \u2067x\u2069"}, "text"),
        ({"to": "all_waiting", "text": "line\u2028separator"}, "text"),
        ({"to": "all_waiting", "text": "private \ue000 use"}, "text"),
        ({"to": "all_waiting", "text": "\n".join(["line"] * 21)}, "text"),
        ({"text": NOTE}, "to"),
        ({"to": "", "text": NOTE}, "to"),
        ({"to": "p" * 65, "text": NOTE}, "to"),
        ({"to": ["all_waiting"], "text": NOTE}, "to"),
        ({"to": "all_waiting", "text": NOTE, "html": True}, "html"),
    ],
)
def test_a_message_that_is_not_plain_text_for_someone_is_refused_naming_the_field(
    payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        LobbyMessage.parse(payload)
    assert refused.value.code == "bad_request"
    assert refused.value.field == field


def test_a_message_is_trimmed_and_composed_and_may_run_to_its_bound() -> None:
    decomposed = unicodedata.normalize("NFD", "Tòa án nhân dân ") * 30  # 600 chars; 480 composed
    composed = unicodedata.normalize("NFC", decomposed)
    assert len(decomposed) > MAX_LOBBY_TEXT >= len(composed.strip())
    message = LobbyMessage.parse({"to": "all_waiting", "text": f"  {decomposed}\r\n"})
    assert message.text == composed.strip() and message.to_all
    lines = LobbyMessage.parse({"to": "p_abcdef", "text": "a\r\nb\nc"})
    assert lines.text == "a\nb\nc" and not lines.to_all
    assert LobbyMessage.parse({"to": "all_waiting", "text": "x" * MAX_LOBBY_TEXT}).text


async def test_a_refused_message_is_answered_with_its_code_over_the_wire(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    clerk = await enter_as(server, clients, hearing["id"], "clerk", "Clerk Pham")
    ack = await clerk.emit_raw("lobby_message", {"to": "all_waiting", "text": "a\x00b"})
    assert ack["ok"] is False
    assert ack["error"]["code"] == "bad_request" and ack["error"]["field"] == "text"
    assert await clerk.message_lobby("all_waiting", "nobody waits") == 0


def test_messages_to_the_lobby_are_limited_to_ten_at_once_then_one_every_two_seconds() -> None:
    clock = Clock()
    limits = ConnectionLimits(clock)
    assert [limits.allow("lobby_message") for _ in range(11)] == [True] * 10 + [False]
    assert limits.allow("admit")  # the other orders still flow
    clock.now += 2.0
    assert limits.allow("lobby_message")
    assert not limits.allow("lobby_message")


async def test_the_audit_says_who_wrote_to_whom_and_never_the_words(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    clerk = await enter_as(server, clients, hid, "clerk", "Clerk Pham")
    waiting = await enter_as(server, clients, hid, "respondent", "Mr Tran")
    await clerk.wait_for_waiting(waiting.participant["id"])
    secret = "Ông Trần Văn Bình, phòng 12"
    await clerk.message_lobby(waiting.participant["id"], secret)
    await clerk.message_lobby("all_waiting", secret)

    clerk_id, waiting_id = clerk.participant["id"], waiting.participant["id"]
    await clerk.wait_until(
        lambda: sum(e["action"] == "lobby_message" for e in clerk.audit) == 2, 5, "the tail"
    )
    tail = [(e["actor"], e["target"]) for e in clerk.audit if e["action"] == "lobby_message"]
    assert tail == [(clerk_id, waiting_id), (clerk_id, None)]
    path = server.app[AUDIT].path(hid)
    entries = [json.loads(line) for line in path.read_bytes().splitlines()]
    written = [e["details"] for e in entries if e.get("action") == "lobby_message"]
    assert written == [
        {"to": "one", "delivered": 1, "chars": len(secret)},
        {"to": "all_waiting", "delivered": 1, "chars": len(secret)},
    ]
    assert "Trần" not in path.read_text() and "phòng" not in json.dumps(clerk.audit)
    await settled(waiting)
    assert not any(event == "audit" for event, _ in waiting.events)  # the tail is the bench's
