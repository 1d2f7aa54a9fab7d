"""The connection check end to end: a real aiortc client offers a data channel `probe`, connects
to the server over ICE and DTLS, and gets every message back unchanged; the server's side ends
when the client's does, at its time limit, and when the server stops. In the loopback-only
namespace (media)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)

from media import MediaEngine, MediaSettings, ProbeLimits
from tests.conftest import RunningServer, running_server
from tests.test_connection_check import check, party_token
from tests.test_hearing_media import candidate_addresses
from web.keys import ENGINE

pytestmark = pytest.mark.media

PORTS = (42100, 42115)
MEDIA_HOST = "127.0.1.1"  # the address aioice gathers in the loopback namespace


class Probe:
    """The page's side: a peer connection with one data channel `probe`."""

    def __init__(self, *labels: str) -> None:
        config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self.pc = RTCPeerConnection(config)
        self.channels = {label: self.pc.createDataChannel(label) for label in labels or ["probe"]}
        self.channel = next(iter(self.channels.values()))
        self.received: asyncio.Queue[bytes | str] = asyncio.Queue()
        self.channel.on("message", self.received.put_nowait)
        self.closed = asyncio.Event()
        self.channel.on("close", self.closed.set)

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sdp: str = self.pc.localDescription.sdp
        return sdp

    async def connect(self, answer_sdp: str) -> None:
        opened = asyncio.Event()
        self.channel.on("open", opened.set)
        await self.pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        if self.channel.readyState != "open":
            await asyncio.wait_for(opened.wait(), 15)

    async def echo(self, message: bytes | str) -> tuple[bytes | str, float]:
        """Send one message; return what came back and the round trip in seconds."""
        sent = time.perf_counter()
        self.channel.send(message)
        back = await asyncio.wait_for(self.received.get(), 10)
        return back, time.perf_counter() - sent


@asynccontextmanager
async def probe(*labels: str) -> AsyncIterator[Probe]:
    made = Probe(*labels)
    try:
        yield made
    finally:
        await made.pc.close()


async def opened_check(server: RunningServer, client: Probe) -> str:
    hearing = await server.create_hearing()
    token = await party_token(server, hearing["id"])
    status, body = await check(
        server, hearing["id"], token, {"sdp": await client.offer(), "type": "offer"}
    )
    assert status == 200, body
    assert body["type"] == "answer"
    await client.connect(body["sdp"])
    answer: str = body["sdp"]
    return answer


async def test_a_probe_connects_gets_its_bytes_back_and_measures_the_round_trip(
    server: RunningServer,
) -> None:
    engine = server.app[ENGINE]
    async with probe() as client:
        await opened_check(server, client)
        (peer,) = engine.probes
        round_trips = []
        for i in range(5):
            ping = i.to_bytes(4, "big") + bytes(range(256)) * 3
            back, rtt = await client.echo(ping)
            assert back == ping
            round_trips.append(rtt)
        text, _ = await client.echo("ping 6 ✓")  # text comes back as text
        assert text == "ping 6 ✓"
        assert all(rtt > 0 for rtt in round_trips)
        assert peer.echoed == 6 and peer.connection_state == "connected"

        await client.pc.close()  # the page is done: the server's side goes too
        await asyncio.wait_for(peer.wait_closed(), 15)
        assert engine.probes == ()


async def test_the_server_echoes_at_most_its_cap_and_closes_at_its_time_limit() -> None:
    limits = ProbeLimits(lifetime=2.0, max_messages=3, max_message_bytes=16)
    engine = MediaEngine(MediaSettings(probe_limits=limits))
    await engine.start()
    try:
        async with probe("probe", "chat") as client:
            chat_closed = asyncio.Event()
            client.channels["chat"].on("close", chat_closed.set)
            peer = engine.probe_peer()
            await client.connect(await peer.accept(await client.offer()))
            client.channel.send(b"x" * 17)  # too large: dropped
            for i in range(5):
                client.channel.send(f"m{i}")
            echoes = [await asyncio.wait_for(client.received.get(), 5) for _ in range(3)]
            assert echoes == ["m0", "m1", "m2"]
            await asyncio.wait_for(chat_closed.wait(), 10)  # only the probe is served

            await asyncio.wait_for(peer.wait_closed(), 15)  # its 2 s are up
            assert peer.connection_state == "closed"
            assert (peer.echoed, peer.dropped) == (3, 3)  # the big one and the last two
            assert client.received.empty()
            assert engine.probes == ()
            await asyncio.wait_for(client.closed.wait(), 15)
    finally:
        await engine.close()


async def test_a_check_uses_the_media_port_range_and_the_announced_address(
    tmp_path: Path,
) -> None:
    async with (
        running_server(tmp_path / "data", udp_ports=PORTS, announced_ip=MEDIA_HOST) as server,
        probe() as client,
    ):
        answer = await opened_check(server, client)
        candidates = candidate_addresses(answer)
        assert candidates
        for host, port in candidates:
            assert host == MEDIA_HOST and PORTS[0] <= port <= PORTS[1], (host, port)
        assert (await client.echo(b"through the range"))[0] == b"through the range"


async def test_stopping_the_server_closes_a_live_check(tmp_path: Path) -> None:
    async with probe() as client:
        async with running_server(tmp_path / "data") as server:
            await opened_check(server, client)
            (peer,) = server.app[ENGINE].probes
            assert (await client.echo(b"still here"))[0] == b"still here"
        assert peer.closed and peer.connection_state == "closed"
        await asyncio.wait_for(client.closed.wait(), 15)  # the page sees its channel close
