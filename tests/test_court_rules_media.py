"""The court's rules enforced on real media: who receives whom is decided by the server, by
role, room and phase, and a change takes effect at once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from signaling.client import HearingClient, RequestFailed
from signaling.session import HearingSession
from tests.conftest import RunningServer, running_server
from tests.test_hearing_media import decodes
from web.keys import AUDIT, SIGNALING

pytestmark = pytest.mark.media


async def seat(
    server: RunningServer,
    clients: list[HearingClient],
    hearing_id: str,
    judge: HearingClient | None,
    role: str,
    name: str,
) -> HearingClient:
    """Join with a fresh token; the judge admits anyone who waits."""
    issued = await server.issue_token(hearing_id, role, name)
    client = HearingClient(server.base_url, issued["token"])
    clients.append(client)
    await client.connect()
    if judge is not None and client.admission == "waiting":
        await judge.wait_for_waiting(client.participant["id"])
        await judge.admit(client.participant["id"])
        await client.wait_admitted()
    return client


async def sitting_court(
    server: RunningServer,
    clients: list[HearingClient],
    *others: tuple[str, str],
    **hearing: Any,
) -> tuple[str, HearingClient, list[HearingClient]]:
    """A hearing in session: its presiding judge, and the others admitted and seated."""
    created = await server.create_hearing(**hearing)
    hid: str = created["id"]
    judge = await seat(server, clients, hid, None, "presiding_judge", "Judge Le")
    seated = [await seat(server, clients, hid, judge, role, name) for role, name in others]
    await judge.request("phase", {"phase": "in_session"})
    return hid, judge, seated


def forwarded_to(session: HearingSession, viewer: HearingClient) -> set[str]:
    """The sources of the tracks the server forwards to `viewer` right now."""
    member = session.members[viewer.participant["id"]]
    if member.subscribe is None:
        return set()
    sources = {t.id: t.source for m in session.members.values() for t in m.tracks}
    return {sources[track_id] for track_id in member.subscribe.track_ids if track_id in sources}


async def test_the_accused_and_the_public_never_receive_the_child_witness(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing(case_number="05/2026/HS-ST", title="State v. Doe")
    hid = hearing["id"]
    judge = await seat(server, clients, hid, None, "presiding_judge", "Judge Le")
    prosecutor = await seat(server, clients, hid, judge, "prosecutor", "Procurator Vo")
    counsel = await seat(server, clients, hid, judge, "defence_counsel", "Counsel Ha")
    accused = await seat(server, clients, hid, judge, "accused", "Mr Doe")
    observer = await seat(server, clients, hid, judge, "observer", "Observer Lam")
    child = await seat(server, clients, hid, judge, "child_witness", "Child A")
    support = await seat(server, clients, hid, judge, "support_person", "Ms Support")
    await judge.request("phase", {"phase": "in_session"})
    await judge.request(
        "call_witness", {"participant_id": child.participant["id"], "audio_only": True}
    )
    await child.publish(VideoStreamTrack(), AudioStreamTrack())
    await judge.publish(VideoStreamTrack())

    child_id, judge_id = child.participant["id"], judge.participant["id"]
    for permitted in (judge, prosecutor, counsel, support):
        await decodes(await permitted.wait_for_track(child_id, "video"))
    await decodes(await accused.wait_for_track(judge_id, "video"), frames=30)

    session = server.app[SIGNALING].session(hid)
    assert session is not None
    for barred in (accused, observer):
        assert child_id not in forwarded_to(session, barred)
        assert all(t.participant_id != child_id for t in barred.remote_tracks)
    assert child_id in forwarded_to(session, judge)

    # ten seconds of the hearing, counted per remote SSRC by the barred clients' receivers
    before = {c: await c.packets_received() for c in (accused, observer, judge)}
    await asyncio.sleep(10)
    after = {c: await c.packets_received() for c in (accused, observer, judge)}
    for barred in (accused, observer):
        assert set(after[barred]) <= {judge_id}, after[barred]  # nothing of the child's
        assert after[barred][judge_id] > before[barred][judge_id]  # while the judge flows
    assert after[judge][child_id] > before[judge][child_id]

    # a recess stops the child's link for everybody but the support person: the forwarders
    # are detached before the judge's request is even acknowledged
    await judge.request("phase", {"phase": "recess"})
    assert child_id not in forwarded_to(session, judge)
    assert child_id in forwarded_to(session, support)
    await judge.wait_until(
        lambda: all(t.participant_id != child_id for t in judge.remote_tracks),
        10,
        "the child's tracks to leave the judge's offer",
    )


async def test_a_sequestered_witness_receives_nothing_until_called(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hid, judge, [witness] = await sitting_court(server, clients, ("witness", "Mr Witness"))
    await judge.publish(VideoStreamTrack(), AudioStreamTrack())
    await asyncio.sleep(1.0)  # every chance for the server to (wrongly) forward something
    assert witness.offers_received == 0 and witness.remote_tracks == []

    await judge.request(
        "call_witness", {"participant_id": witness.participant["id"], "audio_only": True}
    )
    await decodes(await witness.wait_for_track(judge.participant["id"], "video"))
    await judge.request("release_witness", {"participant_id": witness.participant["id"]})
    await witness.wait_until(lambda: witness.remote_tracks == [], 10, "the witness cut off")
    entries = [json.loads(e) for e in server.app[AUDIT].path(hid).read_text().splitlines()]
    judge_id = judge.participant["id"]
    orders = [(e["action"], e["target"]) for e in entries if e.get("actor") == judge_id]
    wid = witness.participant["id"]
    assert orders[-2:] == [("call_witness", wid), ("release_witness", wid)]


async def test_when_the_accused_loses_media_the_court_recesses_and_says_why(
    tmp_path: Path, clients: list[HearingClient]
) -> None:
    async with running_server(tmp_path / "data", due_process_grace=1.0) as server:
        hearing = await server.create_hearing(case_number="07/2026/HS-ST", title="State v. Roe")
        hid = hearing["id"]
        judge = await seat(server, clients, hid, None, "presiding_judge", "Judge Le")
        accused = await seat(server, clients, hid, judge, "accused", "Mr Roe")
        observer = await seat(server, clients, hid, judge, "observer", "Observer Lam")
        await judge.request("phase", {"phase": "in_session"})
        await accused.publish(VideoStreamTrack(), AudioStreamTrack())
        await decodes(await judge.wait_for_track(accused.participant["id"], "video"))

        await accused.stop_publishing()
        for client in (judge, observer):
            await client.wait_until(
                lambda c=client: c.state.get("phase") == "recess", 10, "the automatic recess"
            )
            assert client.state["reason"] == "due_process"
            assert client.state["participant_id"] == accused.participant["id"]
        session = server.app[SIGNALING].session(hid)
        assert session is not None and session.court.phase.value == "recess"
        entries = server.app[AUDIT].path(hid).read_text().splitlines()
        gap = [json.loads(e) for e in entries if '"due_process_recess"' in e]
        assert len(gap) == 1 and gap[0]["actor"] == "system"
        assert gap[0]["target"] == accused.participant["id"]
        assert gap[0]["details"]["gap_seconds"] >= 1

        await judge.request("phase", {"phase": "in_session"})  # the judge resumes it
        await judge.wait_until(lambda: judge.state.get("phase") == "in_session", 5, "resuming")
        await asyncio.gather(*(c.close() for c in clients))  # before this server stops
        clients.clear()


async def test_in_caucus_a_party_and_the_conciliator_hear_each_other_and_the_other_party_nothing(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing(type="conciliation", case_number="09/2026/HG")
    hid = hearing["id"]
    conciliator = await seat(server, clients, hid, None, "presiding_judge", "Conciliator Mai")
    party_a = await seat(server, clients, hid, conciliator, "plaintiff", "Party A")
    party_b = await seat(server, clients, hid, conciliator, "respondent", "Party B")
    await conciliator.request("phase", {"phase": "in_session"})
    caucus = {"kind": "caucus", "id": "party-a"}
    for who in (conciliator, party_a):
        await conciliator.request("move", {"participant_id": who.participant["id"], "room": caucus})
    for client in (conciliator, party_a):
        await client.publish(AudioStreamTrack())

    await decodes(await conciliator.wait_for_track(party_a.participant["id"], "audio"))
    await decodes(await party_a.wait_for_track(conciliator.participant["id"], "audio"))
    session = server.app[SIGNALING].session(hid)
    assert session is not None
    assert forwarded_to(session, party_b) == set()
    assert party_b.remote_tracks == []


async def test_a_force_muted_participant_is_heard_by_nobody_until_asked_to_unmute(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hid, judge, [party] = await sitting_court(server, clients, ("plaintiff", "Ms Nguyen"))
    await party.publish(VideoStreamTrack(), AudioStreamTrack())
    party_id = party.participant["id"]
    await decodes(await judge.wait_for_track(party_id, "audio"))
    session = server.app[SIGNALING].session(hid)
    assert session is not None

    await judge.request("force_mute", {"participant_id": party_id, "kind": "audio"})
    kinds = {t.kind for t in session.members[party_id].tracks if t.sinks}
    assert kinds == {"video"}  # the audio reaches nobody, from the moment of the order
    await judge.wait_until(
        lambda: {t.kind for t in judge.remote_tracks if t.participant_id == party_id} == {"video"},
        10,
        "the muted audio to leave the judge's offer",
    )

    await judge.request("ask_unmute", {"participant_id": party_id, "kind": "audio"})
    await decodes(await judge.wait_for_track(party_id, "audio"))


async def test_only_the_bench_shares_a_screen_unless_the_judge_lets_a_party(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    _hid, judge, [party] = await sitting_court(server, clients, ("plaintiff", "Ms Nguyen"))
    await judge.publish(VideoStreamTrack(), screen=VideoStreamTrack())
    judge_id, party_id = judge.participant["id"], party.participant["id"]
    await decodes(await party.wait_for_track(judge_id, "screen"))
    await decodes(await party.wait_for_track(judge_id, "video"))

    with pytest.raises(RequestFailed) as refused:
        await party.publish(VideoStreamTrack(), screen=VideoStreamTrack())
    assert refused.value.code == "forbidden"

    await judge.request("grant_screen", {"participant_id": party_id, "granted": True})
    await party.publish(VideoStreamTrack(), screen=VideoStreamTrack())
    await decodes(await judge.wait_for_track(party_id, "screen"))

    await judge.request("grant_screen", {"participant_id": party_id, "granted": False})
    await judge.wait_until(
        lambda: all(
            not (t.participant_id == party_id and t.kind == "screen") for t in judge.remote_tracks
        ),
        10,
        "the party's screen to stop",
    )
    assert any(t.participant_id == party_id and t.kind == "video" for t in judge.remote_tracks)
