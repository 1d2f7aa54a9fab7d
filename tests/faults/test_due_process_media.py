"""The due-process guard uses what the court really sees and hears (media health): a required
party who leaves, or whose media never reaches the court, recesses it after the grace period;
a witness whose camera does not reach the court is called only when the judge confirms they
testify by audio only, and that choice is audited."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiortc.mediastreams import AudioStreamTrack

from signaling.client import HearingClient, RequestFailed
from tests.conftest import RunningServer, running_server
from tests.faults.court import SmallVideo
from tests.faults.test_heal_client import flowing
from web.keys import AUDIT

pytestmark = pytest.mark.media

GRACE = 2.0


@pytest.fixture
async def strict_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path / "data", due_process_grace=GRACE) as running:
        yield running


async def sitting(
    server: RunningServer, clients: list[HearingClient], role: str
) -> tuple[HearingClient, HearingClient]:
    hearing = await server.create_hearing()
    judge_token = await server.issue_token(hearing["id"], "presiding_judge", "Judge Le")
    other_token = await server.issue_token(hearing["id"], role, "Mr Tran")
    judge = HearingClient(server.base_url, judge_token["token"])
    other = HearingClient(server.base_url, other_token["token"])
    clients.extend([judge, other])
    await judge.connect()
    await other.connect()
    await judge.wait_for_waiting(other.participant["id"])
    await judge.admit(other.participant["id"])
    await other.wait_admitted()
    await judge.request("phase", {"phase": "in_session"})
    return judge, other


async def recessed_for(judge: HearingClient, who: HearingClient, within: float) -> None:
    await judge.wait_until(lambda: judge.state.get("phase") == "recess", within, "the recess")
    assert judge.state["reason"] == "due_process"
    assert judge.state["participant_id"] == who.participant["id"]


async def test_a_required_party_who_leaves_recesses_the_court(
    strict_server: RunningServer, clients: list[HearingClient]
) -> None:
    judge, party = await sitting(strict_server, clients, "plaintiff")
    await party.publish(SmallVideo(), AudioStreamTrack())
    await flowing(judge, party, within=20)
    assert judge.state.get("phase", "in_session") == "in_session"
    await party.close()  # the page closes
    await recessed_for(judge, party, within=GRACE + 8)


async def test_a_required_party_whose_media_never_reaches_the_court_recesses_it(
    strict_server: RunningServer, clients: list[HearingClient]
) -> None:
    judge, _party = await sitting(strict_server, clients, "respondent")
    await recessed_for(judge, _party, within=GRACE + 8)  # camera and microphone refused


async def test_a_witness_without_a_camera_is_called_only_to_testify_by_audio_only(
    strict_server: RunningServer, clients: list[HearingClient]
) -> None:
    judge, witness = await sitting(strict_server, clients, "witness")
    await witness.publish(AudioStreamTrack())  # the camera refused
    wid = witness.participant["id"]
    await judge.wait_until(
        lambda: judge.health_of(wid) == {"audio": "live", "video": "no_media"}, 10, "health"
    )
    with pytest.raises(RequestFailed) as refused:
        await judge.request("call_witness", {"participant_id": wid})
    assert refused.value.code == "witness_without_media"
    assert refused.value.field == "audio_only"
    await judge.request("call_witness", {"participant_id": wid, "audio_only": True})
    with pytest.raises(RequestFailed) as malformed:
        await judge.request("call_witness", {"participant_id": wid, "audio_only": "yes"})
    assert malformed.value.code == "bad_request"

    hid = judge.hearing["id"]
    lines = strict_server.app[AUDIT].path(hid).read_text().splitlines()
    entries = [e for e in map(json.loads, lines) if "action" in e]  # not checkpoints
    judge_id = judge.participant["id"]
    refusal = [e for e in entries if e["action"] == "refused" and e["actor"] == judge_id]
    assert refusal[0]["result"] == "witness_without_media"
    called = [e for e in entries if e["action"] == "call_witness"]
    assert len(called) == 1 and called[0]["target"] == wid
    assert called[0]["details"]["audio_only"] is True
    assert called[0]["details"]["camera"] == "no_media"
