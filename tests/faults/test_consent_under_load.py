"""Consent under load (issue 19): aioice sends each ICE consent check once and gives its
response 0.5 s; six misses in a row close the connection. A peer starved of CPU (or a server
loop stalled past 0.5 s) misses them all, and every leg lost its media together. Here a party
answers the server's consent checks 0.8 s late, as a starved browser does, with the consent
period shortened to 1 s (aioice's own constant, on both sides) so that six misses take about
6 s: the server must keep the party's leg (`hooks.keep_consent`), and its media flowing.
Without the fix the server closes the leg (`media_lost`) within about 8 s."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aioice import ice
from aiortc import RTCPeerConnection

from signaling.client import HearingClient
from tests.conftest import RunningServer
from tests.faults.test_heal_client import carries, court_of_two

pytestmark = pytest.mark.media

LATE = 0.8
"""How late the starved party handles a consent check: more than aioice's 0.5 s."""


def answer_checks_late(pc: RTCPeerConnection) -> None:
    """Hand every STUN binding request that reaches `pc`'s ICE sockets to aioice `LATE`
    seconds after it arrived (a browser whose network thread is starved); nothing else."""
    loop = asyncio.get_running_loop()
    transport: Any = pc.getTransceivers()[0].sender.transport
    for protocol in transport.transport._connection._protocols:
        receive = protocol.datagram_received

        def late(data: bytes, addr: tuple[Any, ...], _receive: Any = receive) -> None:
            if data[:2] == b"\x00\x01":  # a binding request
                loop.call_later(LATE, _receive, data, addr)
            else:
                _receive(data, addr)

        protocol.datagram_received = late


async def test_a_party_that_answers_consent_checks_late_keeps_its_legs(
    heal_server: RunningServer, clients: list[HearingClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ice, "CONSENT_INTERVAL", 1.0)
    # the client's own watch is off: what is tested is whether the server ends the leg
    judge, party = await court_of_two(heal_server, clients, None)
    assert party._publish_pc is not None
    answer_checks_late(party._publish_pc)
    for _ in range(12):  # twelve consent periods, about 12 s: six misses twice over
        await asyncio.sleep(1.0)
        assert party.media_lost == [], party.media_lost
    assert await carries(judge, party)
