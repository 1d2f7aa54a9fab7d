"""SDP past the door: mutants of real offers and answers that `media/sdp.py` lets through go on
to aiortc's setRemoteDescription, and still end in an answer or a clean `MediaError`.

The mutants come from the fuzzer's line-level mutator with a fixed seed. aiortc gathers ICE
candidates for each leg, so this runs in the loopback namespace.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from media import MediaEngine, MediaError, MediaSettings, PublishedTrack
from media import _aiortc_hooks as hooks
from media.sdp import parse as parse_sdp
from media.sdp import parse_offer
from tests.fuzz_targets import CORPUS, sdp_seeds
from tests.fuzzing import mutate_lines

pytestmark = pytest.mark.media


def mutants(seeds: list[bytes], count: int, accepted: Callable[[str], object]) -> list[str]:
    """`count` mutants that the door (`accepted`) lets through to aiortc."""
    rng = random.Random(2026)
    found: list[str] = []
    while len(found) < count:
        text = mutate_lines(rng, rng.choice(seeds), rng.choice(seeds)).decode("utf-8", "replace")
        try:
            accepted(text)
        except MediaError:
            continue
        found.append(text)
    return found


async def test_offers_that_pass_the_door_are_answered_or_refused_cleanly() -> None:
    engine = MediaEngine(MediaSettings())
    await engine.start()
    outcomes: dict[str, int] = {}
    try:
        for text in mutants(sdp_seeds(), 40, parse_offer):
            peer = engine.publish_peer("fuzz", lambda _track: None)
            try:
                await peer.accept(text)
                outcomes["answered"] = outcomes.get("answered", 0) + 1
            except MediaError as refused:
                outcomes[refused.code] = outcomes.get(refused.code, 0) + 1
            finally:
                await engine.release(peer)
        # the engine is unharmed: an unmutated offer is still answered
        peer = engine.publish_peer("fuzz", lambda _track: None)
        assert "a=fingerprint" in await peer.accept(sdp_seeds()[0].decode())
    finally:
        await engine.close()
    assert outcomes.get("answered", 0) > 0 and outcomes.get("sdp_invalid", 0) > 0, outcomes


async def test_every_stored_sdp_input_is_answered_or_refused_cleanly() -> None:
    engine = MediaEngine(MediaSettings())
    await engine.start()
    try:
        for path in sorted((CORPUS / "sdp").iterdir()):
            peer = engine.publish_peer("fuzz", lambda _track: None)
            try:
                await peer.accept(path.read_bytes().decode("utf-8", "replace"))
            except MediaError:
                pass
            finally:
                await engine.release(peer)
    finally:
        await engine.close()


async def test_a_connection_aiortc_cannot_close_is_closed_without_raising() -> None:
    """Found by fuzzing: an offer whose BUNDLE group names a missing mid (now refused at the
    door) leaves a transceiver without a transport, and aiortc's close raises half-way."""
    bad = (CORPUS / "sdp" / "crash-negotiation-bundle-names-no-section.sdp").read_text()

    async def half_negotiated() -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        pc.addTransceiver("video", direction="recvonly")
        await pc.setRemoteDescription(RTCSessionDescription(bad, "offer"))
        with pytest.raises(AttributeError):
            await pc.setLocalDescription(await pc.createAnswer())
        return pc

    with pytest.raises(AttributeError):  # the control: aiortc's own close
        await (await half_negotiated()).close()
    pc = await half_negotiated()
    await hooks.close_peer_connection(pc)
    assert all(t.stopped for t in pc.getTransceivers())


async def _no_keyframes(_ssrc: int) -> None:
    return None


def video_track() -> PublishedTrack:
    return PublishedTrack(
        track_id="t",
        source="s",
        kind="video",
        mime_type="video/vp8",
        clock_rate=90000,
        payload_type=96,
        ssrc=1,
        extension_ids={},
        request_keyframe=_no_keyframes,
    )


async def subscribe_answer(engine: MediaEngine) -> str:
    """A real answer from an aiortc client to a subscribe offer of one forwarded track."""
    leg = engine.subscribe_peer()
    leg.attach(video_track())
    offer = await leg.create_offer()
    assert offer is not None
    client = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    try:
        await client.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
        await client.setLocalDescription(await client.createAnswer())
        answer: str = client.localDescription.sdp
    finally:
        await client.close()
        await engine.release(leg)
    return answer


async def test_subscribe_answers_that_pass_the_door_are_applied_or_refused_cleanly() -> None:
    engine = MediaEngine(MediaSettings())
    await engine.start()
    outcomes: dict[str, int] = {}
    try:
        answer = await subscribe_answer(engine)
        for text in mutants([answer.encode()], 30, lambda t: parse_sdp(t, "answer")):
            leg = engine.subscribe_peer()
            leg.attach(video_track())
            offer = await leg.create_offer()
            assert offer is not None
            try:
                await leg.accept_answer(offer.version, text)
                outcomes["applied"] = outcomes.get("applied", 0) + 1
            except MediaError as refused:
                outcomes[refused.code] = outcomes.get(refused.code, 0) + 1
            finally:
                await engine.release(leg)
    finally:
        await engine.close()
    assert outcomes.get("applied", 0) > 0 and outcomes.get("sdp_invalid", 0) > 0, outcomes
