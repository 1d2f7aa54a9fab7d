"""The datagram guard's second rule, on its own: DTLS is accepted from an address that has sent
an authenticated connectivity check, before our own check to it has succeeded (the peer
starts DTLS as soon as its check succeeds), and still refused from any other address.

The server side is aiortc's own ICE and DTLS transports, guarded as a leg is; the peer is a
bare UDP socket that speaks just enough STUN, so that our check to it never succeeds."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aioice import stun
from aiortc import RTCCertificate, RTCDtlsTransport, RTCIceGatherer
from aiortc.rtcicetransport import RTCIceTransport

from media import _aiortc_hooks as hooks
from media.datagrams import Drop, DropCounts

pytestmark = pytest.mark.media

DTLS_RECORD = bytes([22, 0xFE, 0xFD]) + bytes(10) + b"\x00\x04" + b"ping"
"""A DTLS handshake record, as the peer's first flight would start."""


@asynccontextmanager
async def guarded_leg() -> AsyncIterator[tuple[Any, DropCounts, tuple[str, int]]]:
    """A gathered, guarded ICE and DTLS transport pair: (its ICE connection, the guard's drop
    counts, its host candidate's address)."""
    gatherer = RTCIceGatherer()
    await gatherer.gather()
    ice = RTCIceTransport(gatherer)
    dtls = RTCDtlsTransport(ice, [RTCCertificate.generateCertificate()])
    counts = hooks.guard_datagrams(dtls)
    connection: Any = ice._connection
    candidate = connection.local_candidates[0]
    try:
        yield connection, counts, (candidate.host, candidate.port)
    finally:
        await dtls.stop()
        await ice.stop()


def binding_request(connection: Any, password: str | None = None) -> bytes:
    """A connectivity check from the peer `peer:…`, signed with the leg's ICE password (or
    with another one)."""
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    request.attributes["USERNAME"] = f"{connection.local_username}:peer"
    request.attributes["PRIORITY"] = 1853824767
    request.attributes["ICE-CONTROLLING"] = 1  # the leg is the controlled side
    request.add_message_integrity((password or connection.local_password).encode())
    request.add_fingerprint()
    return bytes(request)


def udp_peer(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(2)
    return sock


async def test_dtls_from_an_address_that_sent_an_authenticated_check_is_accepted() -> None:
    async with guarded_leg() as (connection, counts, leg):
        with udp_peer(leg[0]) as peer, udp_peer(leg[0]) as stranger, udp_peer(leg[0]) as forger:
            peer.sendto(binding_request(connection), leg)
            forger.sendto(binding_request(connection, password=os.urandom(11).hex()), leg)
            loop = asyncio.get_running_loop()
            answer = stun.parse_message(await loop.run_in_executor(None, peer.recv, 2000))
            assert answer.message_class == stun.Class.RESPONSE  # aioice authenticated it
            refusal = stun.parse_message(await loop.run_in_executor(None, forger.recv, 2000))
            assert refusal.message_class == stun.Class.ERROR
            assert refusal.attributes["ERROR-CODE"][0] == 401

            # ICE starts (the check above is handled now); ours to the peer gets no answer.
            connection.remote_username, connection.remote_password = "peer", "x" * 22
            checking = asyncio.create_task(connection.connect())
            try:
                await asyncio.sleep(0.3)
                assert not any(
                    pair.state is pair.State.SUCCEEDED for pair in connection._check_list
                ), "our check succeeded: the test would prove nothing"

                peer.sendto(DTLS_RECORD, leg)
                data, _component = await asyncio.wait_for(
                    connection._queue.get(), 2
                )  # what DTLS reads
                assert data == DTLS_RECORD
                assert counts[Drop.UNVALIDATED_SOURCE] == 0

                for other in (stranger, forger):
                    other.sendto(DTLS_RECORD, leg)
                for _ in range(50):
                    if counts[Drop.UNVALIDATED_SOURCE] == 2:
                        break
                    await asyncio.sleep(0.02)
                assert counts[Drop.UNVALIDATED_SOURCE] == 2
                assert connection._queue.empty()
            finally:
                checking.cancel()
                await asyncio.gather(checking, return_exceptions=True)
