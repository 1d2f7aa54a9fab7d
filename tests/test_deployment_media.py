"""Deployment behind NAT or in a container: media sockets in a configured UDP port range, an
announced address in every candidate, and the STUN and TURN servers handed to the clients."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from security import Secret
from signaling.client import HearingClient, RequestFailed
from tests.conftest import RunningServer, running_server
from tests.test_hearing_media import candidate_addresses, decodes

pytestmark = pytest.mark.media

PORTS = (42000, 42031)
MEDIA_HOST = "127.0.1.1"  # the address aioice gathers in the loopback namespace


@asynccontextmanager
async def deployed(
    tmp_path: Path, clients: list[HearingClient], **settings: Any
) -> AsyncIterator[RunningServer]:
    """A server with these settings; its clients leave before it stops (a server that stops
    under live socket.io connections waits for them)."""
    async with running_server(tmp_path / "data", **settings) as server:
        try:
            yield server
        finally:
            await asyncio.gather(*(c.close() for c in clients))


async def test_media_binds_in_the_port_range_and_clients_get_the_stun_and_turn_servers(
    tmp_path: Path, clients: list[HearingClient]
) -> None:
    async with deployed(
        tmp_path,
        clients,
        udp_ports=PORTS,
        announced_ip=MEDIA_HOST,
        stun_urls=("stun:stun.court.example:3478",),
        turn_urls=("turn:turn.court.example:3478",),
        turn_username="ecourt",
        turn_credential=Secret(b"turn-password"),
    ) as server:
        hearing = await server.create_hearing()
        joined = []
        for role, name in (("presiding_judge", "Judge Le"), ("clerk", "Clerk Pham")):
            issued = await server.issue_token(hearing["id"], role, name)
            client = HearingClient(server.base_url, issued["token"])
            clients.append(client)
            welcome = await client.connect()
            assert welcome["ice_servers"] == [
                {"urls": ["stun:stun.court.example:3478"]},
                {
                    "urls": ["turn:turn.court.example:3478"],
                    "username": "ecourt",
                    "credential": "turn-password",
                },
            ]
            joined.append(client)
        judge, clerk = joined
        await judge.publish(VideoStreamTrack(), AudioStreamTrack())
        await decodes(await clerk.wait_for_track(judge.participant["id"], "video"), frames=10)

        assert clerk._subscribe_pc is not None
        offered = clerk._subscribe_pc.remoteDescription.sdp
        candidates = candidate_addresses(judge.publish_answer_sdp) + candidate_addresses(offered)
        assert candidates, "the server's answer and offer list candidates"
        for host, port in candidates:
            assert host == MEDIA_HOST and PORTS[0] <= port <= PORTS[1], (host, port)


async def test_every_candidate_carries_the_announced_address(
    tmp_path: Path, clients: list[HearingClient]
) -> None:
    async with deployed(tmp_path, clients, udp_ports=PORTS, announced_ip="203.0.113.7") as server:
        hearing = await server.create_hearing()
        issued = await server.issue_token(hearing["id"], "presiding_judge", "Judge Le")
        judge = HearingClient(server.base_url, issued["token"])
        clients.append(judge)
        await judge.connect()
        await judge.publish(VideoStreamTrack())  # the answer arrives; ICE itself cannot succeed

        answer = judge.publish_answer_sdp
        assert "c=IN IP4 203.0.113.7" in answer.split("\r\n")
        candidates = candidate_addresses(answer)
        assert candidates and all(host == "203.0.113.7" for host, _ in candidates)
        assert all(PORTS[0] <= port <= PORTS[1] for _, port in candidates)


async def test_a_full_port_range_refuses_the_publication_and_harms_nobody(
    tmp_path: Path, clients: list[HearingClient]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind((MEDIA_HOST, 0))
        port = squatter.getsockname()[1]
        async with deployed(tmp_path, clients, udp_ports=(port, port)) as server:
            hearing = await server.create_hearing()
            issued = await server.issue_token(hearing["id"], "presiding_judge", "Judge Le")
            judge = HearingClient(server.base_url, issued["token"])
            clients.append(judge)
            await judge.connect()
            with pytest.raises(RequestFailed) as refused:
                await judge.publish(VideoStreamTrack())
            assert refused.value.code == "ports_exhausted"
            assert (await judge.request("mute", {"kind": "audio", "muted": True})) is not None
