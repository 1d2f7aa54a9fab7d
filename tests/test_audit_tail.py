"""The bench's live tail of the audit log: the presiding judge and the clerk see each entry as it
is written (ids only); nobody else ever gets one. Real server, real socket clients, no media."""

from __future__ import annotations

import asyncio
import json
import re

from signaling.audit_tail import BACKLOG
from signaling.client import HearingClient
from tests.conftest import RunningServer
from tests.test_lobby_news import enter_as
from web.keys import AUDIT

ENTRY_FIELDS = {"seq", "at", "actor", "action", "target", "result"}


def actions(client: HearingClient) -> list[tuple[str, str | None]]:
    return [(e["action"], e["target"]) for e in client.audit]


async def test_the_judge_sees_the_admission_and_the_phase_as_they_are_written(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await enter_as(server, clients, hearing["id"], "presiding_judge", "Judge Le")
    party = await enter_as(server, clients, hearing["id"], "plaintiff", "Ms Nguyen")
    party_id = party.participant["id"]
    await judge.wait_for_waiting(party_id)
    await judge.admit(party_id)
    await judge.request("phase", {"phase": "in_session"})
    await judge.wait_until(lambda: ("phase", None) in actions(judge), 5, "the phase entry")

    assert ("admit", party_id) in actions(judge)
    assert ("arrive", None) in actions(judge)
    admit = next(e for e in judge.audit if e["action"] == "admit")
    assert set(admit) == ENTRY_FIELDS
    # the phase entry says which phase (and only a phase entry has the field)
    phase = next(e for e in judge.audit if e["action"] == "phase")
    assert set(phase) == ENTRY_FIELDS | {"phase"} and phase["phase"] == "in_session"
    assert admit["actor"] == judge.participant["id"]
    assert admit["result"] == "ok"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", admit["at"])
    seqs = [e["seq"] for e in judge.audit]
    assert seqs == sorted(set(seqs))  # in order, each once
    # what the tail shows is what the log holds
    text = await asyncio.to_thread(server.app[AUDIT].path(hearing["id"]).read_text)
    lines = [json.loads(line) for line in text.splitlines()]
    logged = {(e["seq"], e["action"], e["actor"], e["target"]) for e in lines if "action" in e}
    assert {(e["seq"], e["action"], e["actor"], e["target"]) for e in judge.audit} <= logged
    shown = json.dumps(judge.audit)
    assert "Ms Nguyen" not in shown and "Judge Le" not in shown


async def test_a_party_never_receives_the_audit_tail(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await enter_as(server, clients, hearing["id"], "presiding_judge", "Judge Le")
    party = await enter_as(server, clients, hearing["id"], "plaintiff", "Ms Nguyen")
    observer = await enter_as(server, clients, hearing["id"], "observer", "Mr Public")
    for client in (party, observer):
        await judge.wait_for_waiting(client.participant["id"])
        await judge.admit(client.participant["id"])
        await client.wait_admitted(5)
    await party.request("raise_hand", {"raised": True})
    await judge.request("phase", {"phase": "in_session"})
    await judge.wait_until(lambda: ("phase", None) in actions(judge), 5, "the phase entry")
    for client in (party, observer):
        await client.wait_until(lambda c=client: c.state.get("phase") == "in_session", 5, "state")
        await client.wait_until(lambda c=client: len(c.roster) == 3, 5, "the roster")

    for client in (party, observer):
        received = [event for event, _ in client.events]
        assert {"admitted", "roster", "hearing_state"} <= set(received)  # it does hear things
        assert received.count("audit") == 0
        assert client.audit == []


async def test_a_clerk_who_arrives_later_gets_the_last_entries_in_one_event(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    judge = await enter_as(server, clients, hearing["id"], "presiding_judge", "Judge Le")
    party = await enter_as(server, clients, hearing["id"], "plaintiff", "Ms Nguyen")
    await judge.wait_for_waiting(party.participant["id"])
    await judge.admit(party.participant["id"])
    await party.wait_admitted(5)
    for raised in [True, False] * 15:  # 30 entries from the party, 30 from the bench
        await party.request("raise_hand", {"raised": raised})
        await judge.request("phase", {"phase": "in_session" if raised else "recess"})
    await judge.wait_until(lambda: len(judge.audit) > BACKLOG, 5, "more than a backlog")

    clerk = await enter_as(server, clients, hearing["id"], "clerk", "Clerk Pham")
    await clerk.wait_until(lambda: clerk.audit != [], 5, "the backlog")
    first = next(payload for event, payload in clerk.events if event == "audit")
    backlog = first["entries"]
    assert len(backlog) == BACKLOG
    await judge.wait_until(
        lambda: judge.audit[-1]["seq"] >= backlog[-1]["seq"], 5, "the clerk's arrival"
    )
    assert backlog == [e for e in judge.audit if e["seq"] <= backlog[-1]["seq"]][-BACKLOG:]
    assert backlog[-1]["action"] == "arrive" and backlog[-1]["actor"] == clerk.participant["id"]

    # and then what happens next, once
    await judge.request("phase", {"phase": "in_session"})
    await clerk.wait_until(lambda: clerk.audit[-1]["action"] == "phase", 5, "the next entry")
    seqs = [e["seq"] for e in clerk.audit]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
