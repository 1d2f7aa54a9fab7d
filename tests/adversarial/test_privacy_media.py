"""With real media: under a profile where the accused and the public do see and hear the
child witness testify (us-3509, two-way closed circuit), nothing they receive identifies the
child's device or address. Every signalling frame, every subscribe offer's SDP, every RTP
header and every RTCP packet that reaches the accused and a public viewer is kept, and none
holds the child's name, host candidates (address and port), ICE credentials, DTLS
fingerprint, CNAME, stream or track ids, or SSRCs: the server forwards the packets under its
own SSRCs, offers its own candidates and describes the tracks itself."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from aiortc.rtp import RtcpPacket, RtcpSdesPacket

from signaling.client import HearingClient
from tests.adversarial.test_privacy import WITNESS_NAME, traces
from tests.conftest import RunningServer
from tests.test_hearing_media import decodes

pytestmark = pytest.mark.media
COLLECT_SECONDS = 4.0


@dataclass
class Received:
    """Everything one client was sent."""

    frames: list[str] = field(default_factory=list)
    rtcp: list[bytes] = field(default_factory=list)
    rtp_ssrcs: set[int] = field(default_factory=set)
    rtp_headers: list[bytes] = field(default_factory=list)

    def cnames(self) -> set[str]:
        names = set()
        for data in self.rtcp:
            for packet in RtcpPacket.parse(data):
                if isinstance(packet, RtcpSdesPacket):
                    for chunk in packet.chunks:
                        names |= {value.decode() for kind, value in chunk.items if kind == 1}
        return names

    def offers(self) -> list[str]:
        found = []
        for frame in self.frames:
            if frame.startswith('2/hearing,["subscribe_offer"'):
                found.append(json.loads(frame.partition(",")[2])[1]["sdp"])
        return found


def recording(client: HearingClient) -> Received:
    """Keep every socket.io frame the client receives (before the client reads it)."""
    received = Received()
    eio = client._sio.eio
    dispatch = eio.handlers["message"]

    async def record(data: object) -> None:
        received.frames.append(data if isinstance(data, str) else repr(data))
        await dispatch(data)

    eio.handlers["message"] = record
    return received


def tap_media(client: HearingClient, received: Received) -> None:
    """Keep every RTP header and RTCP packet the client's subscribe leg receives."""
    pc = client._subscribe_pc
    assert pc is not None
    transport: Any = pc.getTransceivers()[0].receiver.transport  # aiortc's private hooks
    on_rtcp, on_rtp = transport._handle_rtcp_data, transport._handle_rtp_data

    async def rtcp(data: bytes) -> None:
        received.rtcp.append(data)
        await on_rtcp(data)

    async def rtp(data: bytes, arrival_time_ms: int) -> None:
        received.rtp_ssrcs.add(int.from_bytes(data[8:12], "big"))
        received.rtp_headers.append(data[:64])
        await on_rtp(data, arrival_time_ms)

    transport._handle_rtcp_data = rtcp
    transport._handle_rtp_data = rtp


@dataclass(frozen=True)
class Identity:
    """What identifies the child's device and address, from its own peer connections."""

    candidates: frozenset[tuple[str, int]]
    strings: frozenset[str]
    ssrcs: frozenset[int]


def identity_of(sdps: list[str]) -> Identity:
    candidates, strings, ssrcs = set(), set(), set()
    for sdp in sdps:
        for line in sdp.splitlines():
            if line.startswith("a=candidate:"):
                parts = line.split()
                candidates.add((parts[4], int(parts[5])))
                strings.add(f"{parts[4]} {parts[5]}")
            for prefix in ("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:sha-256 "):
                if line.startswith(prefix):
                    strings.add(line.removeprefix(prefix))
            if line.startswith("a=msid:"):
                strings |= set(line.removeprefix("a=msid:").split())
            if match := re.match(r"a=ssrc:(\d+) cname:(\S+)", line):
                ssrcs.add(int(match[1]))
                strings.add(match[2])
    return Identity(frozenset(candidates), frozenset(strings), frozenset(ssrcs))


async def enter(
    server: RunningServer, clients: list[HearingClient], hid: str, role: str, name: str
) -> tuple[HearingClient, Received]:
    issued = await server.issue_token(hid, role, name)
    client = HearingClient(server.base_url, issued["token"])
    clients.append(client)
    received = recording(client)
    await client.connect()
    return client, received


async def test_nothing_the_accused_and_the_public_receive_identifies_the_child_witness(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing(
        case_number="05/2026/HS-ST", title="State v. Doe", profile="us-3509", public=True
    )
    hid = hearing["id"]
    judge, _ = await enter(server, clients, hid, "presiding_judge", "Judge Le")
    accused, to_accused = await enter(server, clients, hid, "accused", "Mr Doe")
    observer, to_public = await enter(server, clients, hid, "observer", "Observer Lam")
    child, _ = await enter(server, clients, hid, "child_witness", WITNESS_NAME)
    for client in (accused, observer, child):
        await judge.wait_for_waiting(client.participant["id"])
        await judge.admit(client.participant["id"])
        await client.wait_admitted()
    cid = child.participant["id"]
    await judge.request("phase", {"phase": "in_session"})
    room = {"kind": "witness_room", "id": "child"}
    await judge.request("move", {"participant_id": cid, "room": room})
    await judge.request("call_witness", {"participant_id": cid, "audio_only": True})
    await judge.publish(AudioStreamTrack())
    await accused.publish(VideoStreamTrack())  # the child sees the accused under us-3509
    await child.publish(VideoStreamTrack(), AudioStreamTrack())

    for viewer, received in ((accused, to_accused), (observer, to_public)):
        await decodes(await viewer.wait_for_track(cid, "video"))
        tap_media(viewer, received)
    await asyncio.sleep(COLLECT_SECONDS)

    assert child._publish_pc is not None and child._subscribe_pc is not None
    sdps = [child._publish_pc.localDescription.sdp, child._subscribe_pc.localDescription.sdp]
    child_id = identity_of(sdps)
    assert child_id.candidates and child_id.ssrcs and len(child_id.strings) > 5
    for viewer, received in ((accused, to_accused), (observer, to_public)):
        labels = {t.display_name for t in viewer.remote_tracks if t.participant_id == cid}
        assert labels == {"Protected witness"}
        text = "\n".join(received.frames)
        offers = received.offers()
        assert offers, "no subscribe offer was recorded"
        assert identity_of(offers).candidates.isdisjoint(child_id.candidates)
        for trace in [*traces(WITNESS_NAME), *(s.encode() for s in child_id.strings)]:
            assert trace not in text.encode(), trace
            assert all(trace not in packet for packet in received.rtcp), trace
            assert all(trace not in header for header in received.rtp_headers), trace
        cnames = received.cnames()
        assert cnames, "no RTCP SDES arrived in the collection window"
        assert cnames.isdisjoint(child_id.strings)
        assert received.rtp_ssrcs, "no RTP arrived in the collection window"
        assert received.rtp_ssrcs.isdisjoint(child_id.ssrcs)
        forwarded = identity_of(offers).ssrcs
        assert received.rtp_ssrcs <= forwarded  # only the server's own SSRCs
        print(
            f"\n[privacy] {viewer.participant['role']}: {len(received.frames)} frames,"
            f" {len(offers)} offers, {len(received.rtcp)} RTCP packets,"
            f" {len(received.rtp_headers)} RTP packets; CNAMEs {sorted(cnames)}"
        )
