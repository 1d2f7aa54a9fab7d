"""Refusals change nothing: a publish offer or a subscribe answer that is refused, whatever the
code, leaves every leg as it was, and what was flowing keeps flowing."""

from __future__ import annotations

import asyncio

import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from signaling.client import HearingClient, RequestFailed
from tests.conftest import RunningServer
from tests.test_court_rules_media import sitting_court
from tests.test_signaling import TWO_VIDEO_OFFER
from web.keys import SIGNALING

pytestmark = pytest.mark.media


async def still_flowing(viewer: HearingClient, ssrcs: set[int]) -> None:
    before = viewer.rtp_by_ssrc()
    await asyncio.sleep(1.0)
    after = viewer.rtp_by_ssrc()
    assert all(after.get(s, 0) > before.get(s, 0) for s in ssrcs), (before, after)


async def test_a_refused_publish_leaves_the_senders_media_reaching_everyone(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hid, judge, [party] = await sitting_court(server, clients, ("plaintiff", "Ms Nguyen"))
    await party.publish(VideoStreamTrack(), AudioStreamTrack())
    party_id = party.participant["id"]
    await judge.wait_for_track(party_id, "video")
    await judge.wait_for_track(party_id, "audio")
    session = server.app[SIGNALING].session(hid)
    assert session is not None
    leg = session.members[party_id].publish
    tracks = {t.id for t in session.members[party_id].tracks}
    flowing: set[int] = set()
    for _ in range(100):  # until both of the party's streams carry packets to the judge
        flowing = {s for s in judge.rtp_by_ssrc() if (judge.ssrc_owner(s) or ("",))[0] == party_id}
        if len(flowing) == 2:
            break
        await asyncio.sleep(0.1)
    assert len(flowing) == 2

    refusals = [  # four, with the first publish five: the budget of renegotiations a minute
        ({"sdp": "v=0\r\nnot sdp", "type": "offer"}, "sdp_invalid"),
        ({"sdp": TWO_VIDEO_OFFER, "type": "offer"}, "too_many_tracks"),
        ({"sdp": TWO_VIDEO_OFFER, "type": "offer", "screen_mid": "1"}, "forbidden"),
        ({"sdp": 7, "type": "offer"}, "bad_request"),
    ]
    for payload, code in refusals:
        with pytest.raises(RequestFailed) as refused:
            await party.request("publish", payload)
        assert refused.value.code == code
        # nothing changed: the same leg, the same tracks, still forwarded to the judge
        assert session.members[party_id].publish is leg
        assert {t.id for t in session.members[party_id].tracks} == tracks
        await still_flowing(judge, flowing)

    for _ in range(10):  # past the renegotiation budget: refused before anything is touched
        try:
            await party.request("publish", {"sdp": "v=0\r\nnot sdp", "type": "offer"})
        except RequestFailed as limited:
            if limited.code == "rate_limited":
                break
    else:
        raise AssertionError("no publish offer was refused rate_limited")
    assert session.members[party_id].publish is leg
    await still_flowing(judge, flowing)


async def test_a_refused_subscribe_answer_leaves_the_leg_awaiting_the_same_offer(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hid, judge, [party, other] = await sitting_court(
        server, clients, ("plaintiff", "Ms Nguyen"), ("respondent", "Mr Tran")
    )
    await judge.publish(VideoStreamTrack(), AudioStreamTrack())
    await party.wait_for_track(judge.participant["id"], "video")
    await party.wait_for_track(judge.participant["id"], "audio")
    session = server.app[SIGNALING].session(hid)
    assert session is not None
    leg = session.members[party.participant["id"]].subscribe
    assert leg is not None
    flowing = set(party.rtp_by_ssrc())

    party.answer_offers = False  # the next offer (the respondent's voice) awaits its answer
    seen = len(party.events)
    await other.publish(AudioStreamTrack())
    for _ in range(100):  # events are kept without a wake-up: polled for up to 10 s
        if any(e == "subscribe_offer" for e, _ in party.events[seen:]):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("no new offer within 10 s")
    awaiting = max(p["version"] for e, p in party.events if e == "subscribe_offer")
    genuine_shape = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    for version, sdp, code in [
        (awaiting + 5, genuine_shape, "stale_answer"),
        (awaiting, "v=0\r\nnot sdp", "sdp_invalid"),
        (awaiting, genuine_shape, "sdp_invalid"),
    ]:
        with pytest.raises(RequestFailed) as refused:
            await party.request(
                "subscribe_answer", {"sdp": sdp, "type": "answer", "version": version}
            )
        assert refused.value.code == code
        assert session.members[party.participant["id"]].subscribe is leg
        await still_flowing(party, flowing)
    with pytest.raises(RequestFailed) as refused:  # still that offer that awaits, no other
        await party.request(
            "subscribe_answer", {"sdp": genuine_shape, "type": "answer", "version": awaiting - 1}
        )
    assert refused.value.code == "stale_answer"
