"""A participant waiting in the lobby learns their place in the queue and nothing about the
others; the bench sees who waits. Real server, real socket clients, no media."""

from __future__ import annotations

import json

from signaling.client import HearingClient
from tests.conftest import RunningServer
from tests.test_signaling import connect


async def enter_as(
    server: RunningServer, clients: list[HearingClient], hearing_id: str, role: str, name: str
) -> HearingClient:
    issued = await server.issue_token(hearing_id, role, name)
    return await connect(server, clients, issued["token"])


async def test_two_waiting_parties_are_told_their_places_and_the_second_moves_up(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await enter_as(server, clients, hearing["id"], "presiding_judge", "Judge Le")
    first = await enter_as(server, clients, hearing["id"], "plaintiff", "Ms Nguyen")
    assert first.admission == "waiting"
    assert first.waiting == {"position": 1, "waiting": 1}
    second = await enter_as(server, clients, hearing["id"], "respondent", "Mr Tran")
    assert second.waiting == {"position": 2, "waiting": 2}  # from the welcome
    await first.wait_until(lambda: first.waiting == {"position": 1, "waiting": 2}, 5, "1 of 2")

    await judge.wait_for_waiting(second.participant["id"])
    await judge.admit(first.participant["id"])
    await second.wait_until(lambda: second.waiting == {"position": 1, "waiting": 1}, 5, "1 of 1")
    await first.wait_admitted(5)
    assert first.waiting is None


async def test_the_queue_closes_up_when_someone_ahead_leaves_or_is_denied(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    clerk = await enter_as(server, clients, hearing["id"], "clerk", "Clerk Pham")
    first = await enter_as(server, clients, hearing["id"], "plaintiff", "Ms Nguyen")
    second = await enter_as(server, clients, hearing["id"], "respondent", "Mr Tran")
    third = await enter_as(server, clients, hearing["id"], "witness", "Mrs Vo")
    assert third.waiting == {"position": 3, "waiting": 3}
    await first.request("leave", {})
    await third.wait_until(lambda: third.waiting == {"position": 2, "waiting": 2}, 5, "2 of 2")
    await clerk.wait_for_waiting(second.participant["id"])
    await clerk.deny(second.participant["id"])
    await third.wait_until(lambda: third.waiting == {"position": 1, "waiting": 1}, 5, "1 of 1")


async def test_a_waiting_party_never_hears_anything_about_the_others(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await enter_as(server, clients, hearing["id"], "presiding_judge", "Judge Le")
    waiting = await enter_as(server, clients, hearing["id"], "respondent", "Mr Tran")
    other = await enter_as(server, clients, hearing["id"], "plaintiff", "Ms Nguyen")
    await waiting.wait_until(lambda: waiting.waiting == {"position": 1, "waiting": 2}, 5, "2")
    await judge.wait_for_waiting(other.participant["id"])
    await judge.admit(other.participant["id"])
    await waiting.wait_until(lambda: waiting.waiting == {"position": 1, "waiting": 1}, 5, "1")
    await judge.request("phase", {"phase": "in_session"})
    await other.wait_until(lambda: other.state.get("phase") == "in_session", 5, "the session")
    await judge.wait_until(lambda: any(e == "hearing_state" for e, _ in judge.events), 5, "state")

    assert {event for event, _ in waiting.events} == {"waiting"}
    heard = json.dumps(waiting.events)
    for secret in ("Ms Nguyen", "Judge Le", other.participant["id"], judge.participant["id"]):
        assert secret not in heard
    # the bench, meanwhile, saw the names
    assert "Mr Tran" in json.dumps(judge.events)
