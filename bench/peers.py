"""Cheap benchmark peers: subscribers that count RTP instead of decoding it.

A subscriber's DTLS transport hands every unprotected RTP packet to an `RtpCounter` (through
`media._aiortc_hooks.divert_incoming_rtp`), so no jitter buffer or decoder runs in the client
process. A video frame is counted at each RTP marker bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters

from media import _aiortc_hooks as hooks
from signaling.client import HearingClient


@dataclass(frozen=True, slots=True)
class Counts:
    packets: int = 0
    octets: int = 0
    frames: int = 0

    def __sub__(self, other: Counts) -> Counts:
        return Counts(
            self.packets - other.packets, self.octets - other.octets, self.frames - other.frames
        )


class RtpCounter:
    """Counts the RTP packets, bytes and frames (marker bits) one subscriber receives."""

    def __init__(self) -> None:
        self.packets = 0
        self.octets = 0
        self.frames = 0

    async def on_rtp(self, data: bytes, arrival_time_ms: int) -> None:
        # aiortc passes arrival_time_ms by keyword
        self.packets += 1
        self.octets += len(data)
        if len(data) > 1 and data[1] & 0x80:
            self.frames += 1

    def snapshot(self) -> Counts:
        return Counts(self.packets, self.octets, self.frames)


def _ignore_receiver(_parameters: RTCRtpReceiveParameters, _receiver: RTCRtpReceiver) -> None:
    return None


def count_incoming(transport: RTCDtlsTransport, counter: RtpCounter) -> None:
    hooks.divert_incoming_rtp(transport, counter.on_rtp, _ignore_receiver)


def loopback_configuration() -> RTCConfiguration:
    """No STUN server (everything is on loopback), one transport for every section."""
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


class CountingHearingClient(HearingClient):
    """A `HearingClient` whose subscribe leg counts RTP and never decodes.

    aiortc fires `track` at the end of `setRemoteDescription`, after bundling and before the
    transports connect, so the diversion is in place before the first packet arrives."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__(base_url, token)
        self.counter = RtpCounter()
        self._counting = False

    def _on_track(self, track: MediaStreamTrack) -> None:
        pc = self._subscribe_pc
        if self._counting or pc is None:
            return
        count_incoming(pc.getTransceivers()[0].receiver.transport, self.counter)
        self._counting = True


async def _post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> dict[str, Any]:
    async with session.post(url, json=body) as response:
        if response.status != 200:
            raise RuntimeError(f"POST {url}: {response.status} {await response.text()}")
        result: dict[str, Any] = await response.json()
        return result


async def relay_publish(
    session: aiohttp.ClientSession, base_url: str, track: MediaStreamTrack
) -> RTCPeerConnection:
    """Publish `track` to the MediaRelay baseline server (POST /publish)."""
    pc = RTCPeerConnection(loopback_configuration())
    pc.addTransceiver(track, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    answer = await _post(session, f"{base_url}/publish", {"sdp": pc.localDescription.sdp})
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    return pc


async def relay_subscribe(
    session: aiohttp.ClientSession, base_url: str, counter: RtpCounter
) -> RTCPeerConnection:
    """Receive the baseline server's relayed video (POST /subscribe), counting RTP."""
    pc = RTCPeerConnection(loopback_configuration())
    transceiver = pc.addTransceiver("video", direction="recvonly")
    count_incoming(transceiver.receiver.transport, counter)
    await pc.setLocalDescription(await pc.createOffer())
    answer = await _post(session, f"{base_url}/subscribe", {"sdp": pc.localDescription.sdp})
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    return pc
