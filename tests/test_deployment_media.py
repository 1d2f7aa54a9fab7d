"""Deployment behind NAT or in a container: media sockets in a configured UDP port range, an
announced address in every candidate, and the STUN and TURN servers handed to the clients."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
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
PUBLIC_HOST = "127.0.2.1"
"""The address a NAT publishes the server at; no interface has it, nothing listens on it."""


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


async def judge_and_clerk(
    server: RunningServer, clients: list[HearingClient]
) -> list[tuple[HearingClient, dict[str, Any]]]:
    """A presiding judge and a clerk connected to a new hearing (neither waits in a lobby),
    each with the welcome it got."""
    hearing = await server.create_hearing()
    joined = []
    for role, name in (("presiding_judge", "Judge Le"), ("clerk", "Clerk Pham")):
        issued = await server.issue_token(hearing["id"], role, name)
        client = HearingClient(server.base_url, issued["token"])
        clients.append(client)
        joined.append((client, await client.connect()))
    return joined


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
        joined = await judge_and_clerk(server, clients)
        for _client, welcome in joined:
            assert welcome["ice_servers"] == [
                {"urls": ["stun:stun.court.example:3478"]},
                {
                    "urls": ["turn:turn.court.example:3478"],
                    "username": "ecourt",
                    "credential": "turn-password",
                },
            ]
        (judge, _), (clerk, _) = joined
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


@contextmanager
def port_forward(public: str, private: str, ports: tuple[int, int]) -> Iterator[None]:
    """A destination NAT, as Docker's `-p` or a firewall's port forward: UDP to `public` on
    `ports` goes to `private`, and the replies come back from `public` (conntrack undoes the
    rewrite). nftables, in this test's own network namespace; removed afterwards."""
    table = f"ecourt_nat_{os.getpid()}"
    rule = f"ip daddr {public} udp dport {ports[0]}-{ports[1]} dnat to {private}"
    for command in (
        f"add table ip {table}",
        f"add chain ip {table} out {{ type nat hook output priority -100 ; }}",
        f"add rule ip {table} out {rule}",
    ):
        subprocess.run(["nft", command], check=True)
    try:
        yield
    finally:
        subprocess.run(["nft", f"delete table ip {table}"], check=True)


def nominated_remote(pc: Any) -> str:
    """The remote address of the ICE pair a peer connection's media uses."""
    transport = pc.getTransceivers()[0].receiver.transport.transport
    pair = transport._connection._nominated[1]
    host: str = pair.remote_candidate.host
    return host


@pytest.mark.skipif(shutil.which("nft") is None, reason="needs nftables for the NAT")
async def test_media_reaches_a_server_behind_nat_through_its_announced_address(
    tmp_path: Path, clients: list[HearingClient]
) -> None:
    with port_forward(PUBLIC_HOST, MEDIA_HOST, PORTS):
        async with deployed(tmp_path, clients, udp_ports=PORTS, announced_ip=PUBLIC_HOST) as server:
            (judge, _), (clerk, _) = await judge_and_clerk(server, clients)
            await judge.publish(VideoStreamTrack(), AudioStreamTrack())
            await decodes(await clerk.wait_for_track(judge.participant["id"], "video"), frames=10)

            assert clerk._subscribe_pc is not None and judge._publish_pc is not None
            offered = clerk._subscribe_pc.remoteDescription.sdp
            candidates = candidate_addresses(judge.publish_answer_sdp)
            candidates += candidate_addresses(offered)
            assert candidates and {host for host, _ in candidates} == {PUBLIC_HOST}
            # Both legs' media went through the NAT: to the public address, answered from it.
            assert nominated_remote(judge._publish_pc) == PUBLIC_HOST
            assert nominated_remote(clerk._subscribe_pc) == PUBLIC_HOST
    # And the public address reaches nothing once the forward is gone.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.3)
        probe.sendto(b"x", (PUBLIC_HOST, candidates[0][1]))
        with pytest.raises((TimeoutError, ConnectionRefusedError)):
            probe.recvfrom(10)
