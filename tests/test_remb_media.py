"""Bandwidth feedback end to end: a subscriber on a weak link sends a low REMB; the server
asks the publisher for no more than that, and the publisher's encoder follows."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci

from signaling.client import HearingClient
from tests.conftest import RunningServer
from tests.test_court_rules_media import sitting_court
from tests.test_hearing_media import decodes
from web.keys import SIGNALING

pytestmark = pytest.mark.media

WEAK = 300_000


def video_ssrc(sdp: str) -> int:
    video = sdp[sdp.index("m=video") :]
    found = re.search(r"a=ssrc:(\d+)", video)
    assert found is not None
    return int(found.group(1))


async def test_a_weak_subscriber_holds_the_publisher_to_what_it_can_take(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hid, judge, [party] = await sitting_court(server, clients, ("plaintiff", "Ms Nguyen"))
    await judge.publish(VideoStreamTrack(), AudioStreamTrack())
    await decodes(await party.wait_for_track(judge.participant["id"], "video"))
    leg: Any = party._subscribe_pc
    transport = leg.getTransceivers()[0].receiver.transport
    ssrc = video_ssrc(leg.remoteDescription.sdp)
    publisher: Any = judge._publish_pc
    sender = next(s for s in publisher.getSenders() if s.track and s.track.kind == "video")
    session = server.app[SIGNALING].session(hid)
    assert session is not None
    publish_leg = session.members[judge.participant["id"]].publish
    assert publish_leg is not None

    asked: list[int] = []
    encoder_targets: list[int] = []
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        remb = RtcpPsfbPacket(
            fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(WEAK, [ssrc])
        )
        await transport._send_rtp(bytes(remb))
        if publish_leg.remb_sent is not None:
            asked.append(publish_leg.remb_sent)
        encoder = sender._RTCRtpSender__encoder
        if encoder is not None:
            encoder_targets.append(encoder.target_bitrate)
        if asked and min(asked) <= WEAK and encoder_targets and min(encoder_targets) <= WEAK:
            break
        await asyncio.sleep(0.05)
    lowest_asked, lowest_target = min(asked, default=0), min(encoder_targets, default=0)
    print(f"asked the publisher for {lowest_asked} bit/s; its encoder aims at {lowest_target}")
    assert asked and min(asked) <= WEAK  # the server passed the weak subscriber's limit on
    assert encoder_targets and min(encoder_targets) <= WEAK  # and the publisher obeyed
