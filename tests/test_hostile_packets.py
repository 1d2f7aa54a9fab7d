"""Hostile packets at a live participant's media ports: the exact single packets that close an
aiortc 1.16 connection (F1, F2), malformed RTCP, and a burst of 10,000 junk datagrams. The
victim stays connected and keeps receiving, and so does everyone else.

Test-side code reaches into the aiortc client (its DTLS transport and ICE sockets) to send
what a real client never would; the server is used exactly as it runs.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from media import PublishPeer, SubscribePeer
from media.datagrams import MAX_DATAGRAM, Drop
from media.rtp import URI_ABS_SEND_TIME
from signaling.client import HearingClient
from tests.conftest import RunningServer
from tests.test_court_rules_media import sitting_court
from tests.test_datagrams import MALFORMED_RTCP, binding_request, remb
from tests.test_hearing_media import candidate_addresses, decodes
from web.keys import SIGNALING

pytestmark = pytest.mark.media

Address = tuple[str, int]


@dataclass
class Court:
    """A hearing in session with three publishers who all receive each other."""

    server: RunningServer
    hearing_id: str
    judge: HearingClient
    victim: HearingClient
    other: HearingClient

    @property
    def everyone(self) -> list[HearingClient]:
        return [self.judge, self.victim, self.other]

    def legs(self, client: HearingClient) -> tuple[PublishPeer, SubscribePeer]:
        """The server's publish and subscribe legs of `client`."""
        session = self.server.app[SIGNALING].session(self.hearing_id)
        assert session is not None
        member = session.members[client.participant["id"]]
        assert member.publish is not None and member.subscribe is not None
        return member.publish, member.subscribe


@pytest.fixture
async def court(server: RunningServer, clients: list[HearingClient]) -> Court:
    hid, judge, (victim, other) = await sitting_court(
        server, clients, ("plaintiff", "Ms Nguyen"), ("respondent", "Mr Tran")
    )
    court = Court(server, hid, judge, victim, other)
    for client in court.everyone:
        await client.publish(VideoStreamTrack(), AudioStreamTrack())
    for viewer in court.everyone:
        for publisher in court.everyone:
            if publisher is not viewer:
                await decodes(await viewer.wait_for_track(publisher.participant["id"], "video"))
    await everyone_keeps_receiving(court)
    return court


async def stream_counts(viewer: HearingClient) -> dict[tuple[str, str], int]:
    """RTP packets `viewer` has received, by (publisher, kind)."""
    pc: RTCPeerConnection | None = viewer._subscribe_pc
    assert pc is not None
    streams = {t.mid: (t.participant_id, t.kind) for t in viewer.remote_tracks}
    counts: dict[tuple[str, str], int] = {}
    for transceiver in pc.getTransceivers():
        stream = streams.get(transceiver.mid or "")
        if stream is None:
            continue
        for stats in (await transceiver.receiver.getStats()).values():
            if stats.type == "inbound-rtp":
                counts[stream] = counts.get(stream, 0) + int(stats.packetsReceived)
    return counts


async def everyone_keeps_receiving(court: Court, at_least: int = 25, within: float = 20) -> None:
    """Every viewer receives `at_least` more packets of every other publisher's audio and
    video, from now on; and every leg, on the server and in the clients, is connected."""
    expected = {
        viewer: [
            (p.participant["id"], kind)
            for p in court.everyone
            if p is not viewer
            for kind in ("audio", "video")
        ]
        for viewer in court.everyone
    }
    before = {viewer: await stream_counts(viewer) for viewer in court.everyone}
    lagging: list[str] = []
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        lagging = []
        for viewer, streams in expected.items():
            now = await stream_counts(viewer)
            for stream in streams:
                gained = now.get(stream, 0) - before[viewer].get(stream, 0)
                if gained < at_least:
                    lagging.append(f"{viewer.participant['role']} <- {stream}: +{gained}")
        if not lagging:
            break
        await asyncio.sleep(0.2)
    assert not lagging, f"media stopped: {lagging}"
    for client in court.everyone:
        for leg in court.legs(client):
            assert leg.connection_state == "connected", (client.participant["role"], leg)
        for pc in (client._publish_pc, client._subscribe_pc):
            assert pc is not None and pc.connectionState == "connected"


def client_dtls(pc: RTCPeerConnection | None) -> Any:
    assert pc is not None
    return pc.getTransceivers()[0].sender.transport


def own_socket(pc: RTCPeerConnection | None) -> tuple[socket.socket, Address]:
    """A duplicate of the client's ICE socket in use, and the server address it talks to."""
    pair = client_dtls(pc).transport._connection._nominated[1]
    sock: socket.socket = pair.protocol.transport.get_extra_info("socket").dup()
    return sock, pair.remote_addr


def server_addresses(client: HearingClient) -> list[Address]:
    """Every host candidate of the server's publish and subscribe legs for `client`."""
    assert client._subscribe_pc is not None
    offer = client._subscribe_pc.remoteDescription.sdp
    return candidate_addresses(client.publish_answer_sdp) + candidate_addresses(offer)


def extension_id(sdp: str, uri: str) -> int:
    for line in sdp.splitlines():
        if line.startswith("a=extmap:") and line.split()[1] == uri:
            return int(line[len("a=extmap:") :].split()[0].split("/")[0])
    raise AssertionError(f"no extmap for {uri}")


def short_abs_send_time_packet(ext_id: int, payload_type: int) -> bytes:
    """F2: RTP whose abs-send-time element is 1 byte long (it must be 3)."""
    element = bytes([ext_id << 4 | 0, 0x42]) + b"\x00\x00"  # L=0: one byte; then padding
    header = struct.pack("!BBHII", 0x90, payload_type, 4242, 90000, 0x0BADF00D)
    return header + struct.pack("!HH", 0xBEDE, 1) + element + b"\x10\x00\x00\x00payload"


async def test_without_an_attacker_the_guard_drops_nothing(court: Court) -> None:
    """The control for the tests below: aiortc clients' STUN, DTLS, RTP and RTCP all pass."""
    await everyone_keeps_receiving(court)
    for client in court.everyone:
        for leg in court.legs(client):
            assert leg.drops.as_dict() == {}, (client.participant["role"], leg.drops.as_dict())
        assert court.legs(client)[0].packets_malformed == 0


async def test_f1_an_empty_datagram_at_either_leg_from_anywhere_harms_nobody(
    court: Court,
) -> None:
    publish, subscribe = court.legs(court.victim)
    before = publish.drops[Drop.EMPTY] + subscribe.drops[Drop.EMPTY]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        for address in server_addresses(court.victim):
            stranger.sendto(b"", address)
    for pc in (court.victim._publish_pc, court.victim._subscribe_pc):
        own, address = own_socket(pc)
        with own:
            own.sendto(b"", address)  # from the victim's own, validated, address

    await everyone_keeps_receiving(court)
    sent = len(server_addresses(court.victim)) + 2
    assert publish.drops[Drop.EMPTY] + subscribe.drops[Drop.EMPTY] - before == sent


async def test_a_1504_byte_rtp_datagram_from_a_stranger_closes_no_subscribe_leg(
    court: Court,
) -> None:
    """Found here: pylibsrtp raises ValueError (not pylibsrtp.Error) on a packet over 1503
    bytes; aiortc 1.16 catches only the latter, so one such datagram from any address
    closed the subscribe leg it reached (the publish leg's fast path was spared)."""
    publish, subscribe = court.legs(court.victim)
    before = publish.drops[Drop.OVERSIZED] + subscribe.drops[Drop.OVERSIZED]
    targets = server_addresses(court.victim)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        for address in targets:
            stranger.sendto(b"\x80" * 1504, address)

    await everyone_keeps_receiving(court)
    after = publish.drops[Drop.OVERSIZED] + subscribe.drops[Drop.OVERSIZED]
    assert after - before == len(targets)


async def test_f2_an_authenticated_rtp_packet_with_a_one_byte_abs_send_time_harms_nobody(
    court: Court,
) -> None:
    publish, subscribe = court.legs(court.victim)
    offer = court.victim._subscribe_pc.remoteDescription.sdp  # type: ignore[union-attr]
    legs = [
        (court.victim._publish_pc, court.victim.publish_answer_sdp),
        (court.victim._subscribe_pc, offer),
    ]
    unroutable = publish.packets_unroutable
    unexpected = subscribe.drops[Drop.UNEXPECTED_RTP]
    for pc, sdp in legs:
        ext_id = extension_id(sdp, URI_ABS_SEND_TIME)
        packet = short_abs_send_time_packet(ext_id, payload_type=96)
        extensions = HeaderExtensionsMap()
        extensions.configure(
            RTCRtpParameters(
                headerExtensions=[RTCRtpHeaderExtensionParameters(ext_id, URI_ABS_SEND_TIME)]
            )
        )
        with pytest.raises(struct.error):  # the control: what aiortc 1.16's parser does
            RtpPacket.parse(packet, extensions)
        await client_dtls(pc)._send_rtp(packet)  # SRTP-protected with the victim's own keys

    await everyone_keeps_receiving(court)
    # authenticated, unprotected and parsed by the server's own parser, then not routed
    assert publish.packets_unroutable == unroutable + 1
    assert publish.packets_malformed == 0
    # a subscribe leg receives no RTP: dropped after SRTP, before any parser
    assert subscribe.drops[Drop.UNEXPECTED_RTP] == unexpected + 1


async def test_malformed_rtcp_from_a_participant_closes_nothing(court: Court) -> None:
    publish, subscribe = court.legs(court.victim)
    bad = [p for p in MALFORMED_RTCP.values() if len(p) >= 8] + [remb(2, b""), remb(200, b"")]
    not_rtp_class = [p for p in bad if not 127 < p[0] < 192]  # version 1: its first byte is 64+
    unknown = publish.drops[Drop.UNKNOWN_CLASS] + subscribe.drops[Drop.UNKNOWN_CLASS]
    for pc in (court.victim._publish_pc, court.victim._subscribe_pc):
        for packet in bad:
            await client_dtls(pc)._send_rtp(packet)  # SRTCP-protected with the victim's keys

    await everyone_keeps_receiving(court)
    refused = len(bad) - len(not_rtp_class)
    assert publish.drops[Drop.MALFORMED_RTCP] == subscribe.drops[Drop.MALFORMED_RTCP] == refused
    after = publish.drops[Drop.UNKNOWN_CLASS] + subscribe.drops[Drop.UNKNOWN_CLASS]
    assert after - unknown == 2 * len(not_rtp_class)


def junk(rng: random.Random, count: int, oversized: bool) -> Iterator[bytes]:
    """Every first-byte class of RFC 7983 and beyond, tiny, ordinary and oversized."""

    def body(first: int, size: int) -> bytes:
        return bytes([first]) + rng.randbytes(size - 1)

    makers: list[Callable[[], bytes]] = [
        lambda: body(rng.randrange(0, 4), rng.randrange(1, 200)),  # STUN-like garbage
        lambda: binding_request((0x0024, b"\x00\x01")),  # a short PRIORITY (aioice raises)
        lambda: binding_request((0x0006, rng.randbytes(9))),  # USERNAME, not UTF-8
        lambda: body(rng.randrange(4, 20), rng.randrange(1, 200)),  # ZRTP and unassigned
        lambda: body(rng.randrange(20, 64), rng.randrange(1, 300)),  # DTLS-like
        lambda: b"\x15\xfe\xfd" + bytes(8) + b"\x00\x02\x01\x00",  # a plaintext close_notify
        lambda: body(rng.randrange(64, 80), rng.randrange(1, 200)),  # TURN channel data
        lambda: body(rng.randrange(80, 128), rng.randrange(1, 200)),
        lambda: body(rng.randrange(128, 192), rng.randrange(1, 1200)),  # RTP-like
        lambda: bytes([0x80, rng.randrange(192, 209)]) + rng.randbytes(30),  # RTCP-like
        lambda: body(rng.randrange(128, 192), 1),  # a lone RTP first byte
        lambda: body(rng.randrange(192, 256), rng.randrange(1, 200)),
        lambda: body(rng.choice([0, 0x16, 0x80, 0x90]), MAX_DATAGRAM + 1),
        lambda: body(0x80, 1504),  # pylibsrtp raises ValueError past 1503 bytes
        lambda: b"",
    ]
    for n in range(count):
        if oversized and n == 0:  # the largest a UDP datagram can be
            yield body(rng.choice([0x80, 0x16, 0x00, 0xFF]), 65507)
        else:
            yield rng.choice(makers)()


async def test_a_burst_of_ten_thousand_junk_datagrams_stops_no_ones_media(
    court: Court, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    rng = random.Random(4)
    publish, subscribe = court.legs(court.victim)
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.1", 0))
    stranger.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    sources: list[tuple[socket.socket, list[Address]]] = [
        (stranger, server_addresses(court.victim))
    ]
    for pc in (court.victim._publish_pc, court.victim._subscribe_pc):
        own, address = own_socket(pc)
        sources.append((own, [address]))
    sent = 0
    try:
        for burst in range(200):  # 200 bursts of 50: 10,000 datagrams
            sock, targets = sources[burst % len(sources)]
            for data in junk(rng, 50, oversized=burst % 10 == 0):
                with_retry(sock, data, targets[sent % len(targets)])
                sent += 1
            await asyncio.sleep(0.01)  # let the server (same event loop) read its sockets
    finally:
        for sock, _ in sources:
            sock.close()
    assert sent == 10_000

    await everyone_keeps_receiving(court)
    await decodes(await court.judge.wait_for_track(court.victim.participant["id"], "video"))
    await decodes(await court.victim.wait_for_track(court.judge.participant["id"], "video"))
    drops = {**publish.drops.as_dict()}
    for reason, count in subscribe.drops.as_dict().items():
        drops[reason] = drops.get(reason, 0) + count
    expected = {
        Drop.EMPTY,
        Drop.OVERSIZED,
        Drop.UNKNOWN_CLASS,
        Drop.MALFORMED_STUN,
        Drop.UNVALIDATED_SOURCE,
        Drop.SRTP_REJECTED,
        Drop.UNEXPECTED_RTP,
    }
    assert expected <= {Drop(r) for r in drops}, drops
    # Refused at the guard. The rest is DTLS, RTCP and valid STUN from the victim's own
    # address, which aiortc and aioice handle, and what the kernel dropped from the full
    # socket buffer while the single event loop of this test was busy (a third, at worst).
    assert sum(drops.values()) >= 2_000, drops  # the rest is DTLS, RTCP and STUN to aiortc
    floods = [r for r in caplog.records if r.name.startswith(("media", "aiortc", "asyncio"))]
    assert len(floods) <= 6, [r.getMessage() for r in floods]
    assert not [r for r in floods if r.exc_info], "no traceback for a junk datagram"


def with_retry(sock: socket.socket, data: bytes, address: Address) -> None:
    """Send on a socket that may be non-blocking (the client's own, shared with asyncio)."""
    for _ in range(100):
        try:
            sock.sendto(data, address)
            return
        except BlockingIOError:
            time.sleep(0.001)
    raise AssertionError("the socket never took the datagram")
