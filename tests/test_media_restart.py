"""A client whose network changed asks for fresh media legs (aiortc has no ICE restart inside
a connection): it gets a new subscribe leg with new ICE credentials, publishes again, media
flows both ways, and no more than 5 such renegotiations a minute are accepted."""

from __future__ import annotations

import re

import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from signaling.client import HearingClient, RequestFailed
from tests.conftest import RunningServer
from tests.test_court_rules_media import sitting_court
from tests.test_hearing_media import decodes

pytestmark = pytest.mark.media


def ice_ufrag(sdp: str) -> str:
    found = re.search(r"a=ice-ufrag:(\S+)", sdp)
    assert found is not None
    return found.group(1)


async def test_a_media_restart_gives_fresh_ice_and_media_flows_again(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    _hid, judge, [party] = await sitting_court(server, clients, ("plaintiff", "Ms Nguyen"))
    await judge.publish(VideoStreamTrack(), AudioStreamTrack())
    await party.publish(VideoStreamTrack(), AudioStreamTrack())
    await decodes(await party.wait_for_track(judge.participant["id"], "video"))
    assert party._subscribe_pc is not None
    before = ice_ufrag(party._subscribe_pc.remoteDescription.sdp)

    await party.restart_media()
    await party.wait_until(
        lambda: (
            party._subscribe_pc is not None
            and party._subscribe_pc.remoteDescription is not None
            and ice_ufrag(party._subscribe_pc.remoteDescription.sdp) != before
        ),
        15,
        "a new subscribe leg",
    )
    await decodes(await party.wait_for_track(judge.participant["id"], "video"))
    await decodes(await judge.wait_for_track(party.participant["id"], "video"))

    refused = None
    for _ in range(6):
        try:
            await party.request("restart_media", {})
        except RequestFailed as exc:
            refused = exc.code
            break
    assert refused == "rate_limited"
