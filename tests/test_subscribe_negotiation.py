"""A subscribe leg's renegotiation: answers are checked against the offer that was sent, a
refused answer changes nothing, and sections are reused so offers never grow with history.

aiortc gathers ICE candidates for each leg, so this runs in the loopback namespace.
"""

from __future__ import annotations

import pytest
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from media import MediaEngine, MediaSettings, PublishedTrack, SdpInvalid, SubscribePeer
from media.sdp import MAX_SDP_BYTES

pytestmark = pytest.mark.media


async def _no_keyframes(_ssrc: int) -> None:
    return None


def published(track_id: str, kind: str = "video") -> PublishedTrack:
    return PublishedTrack(
        track_id=track_id,
        source=f"p_{track_id}",
        kind=kind,
        mime_type="video/vp8" if kind == "video" else "audio/opus",
        clock_rate=90000 if kind == "video" else 48000,
        payload_type=96 if kind == "video" else 111,
        ssrc=1,
        extension_ids={},
        request_keyframe=_no_keyframes,
    )


class Viewer:
    """A real aiortc client answering the leg's offers."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))

    async def answer(self, offer_sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        sdp: str = self.pc.localDescription.sdp
        return sdp


async def negotiate(leg: SubscribePeer, viewer: Viewer) -> int:
    """One offer and its answer; return the offer's size."""
    offer = await leg.create_offer()
    assert offer is not None
    await leg.accept_answer(offer.version, await viewer.answer(offer.sdp))
    return len(offer.sdp)


def forged(answer: str, how: str) -> str:
    if how == "sendrecv":
        return answer.replace("a=recvonly", "a=sendrecv")
    if how == "sendonly":
        return answer.replace("a=recvonly", "a=sendonly")
    if how == "other_mid":
        return answer.replace("a=mid:0", "a=mid:9").replace("BUNDLE 0", "BUNDLE 9")
    if how == "other_codec":
        return answer.replace("VP8/90000", "H264/90000")
    if how == "missing_section":
        return answer[: answer.index("m=audio")]
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how", ["sendrecv", "sendonly", "other_mid", "other_codec", "missing_section"]
)
async def test_a_forged_answer_is_refused_and_changes_nothing(how: str) -> None:
    engine = MediaEngine(MediaSettings())
    await engine.start()
    viewer = Viewer()
    try:
        leg = engine.subscribe_peer()
        leg.attach(published("v"))
        leg.attach(published("a", "audio"))
        offer = await leg.create_offer()
        assert offer is not None
        genuine = await viewer.answer(offer.sdp)
        with pytest.raises(SdpInvalid):
            await leg.accept_answer(offer.version, forged(genuine, how))
        # nothing changed: the same offer still awaits its answer, and the genuine one applies
        assert await leg.create_offer() is None
        await leg.accept_answer(offer.version, genuine)
    finally:
        await viewer.pc.close()
        await engine.close()


async def test_two_hundred_comings_and_goings_leave_the_offer_the_same_size() -> None:
    engine = MediaEngine(MediaSettings())
    await engine.start()
    viewer = Viewer()
    try:
        leg = engine.subscribe_peer()
        sizes = []
        for round_ in range(200):
            # a witness called in and released, a party's camera back after a consultation
            tracks = [published(f"v{round_}"), published(f"a{round_}", "audio")]
            for track in tracks:
                leg.attach(track)
            leg.permit(frozenset(t.id for t in tracks))
            sizes.append(await negotiate(leg, viewer))
            for track in tracks:
                leg.detach(track.id)
            await negotiate(leg, viewer)
        assert leg.sections == 2
        assert len(viewer.pc.getTransceivers()) == 2
        assert max(sizes) - min(sizes) < 64 and max(sizes) < MAX_SDP_BYTES // 4
    finally:
        await viewer.pc.close()
        await engine.close()
