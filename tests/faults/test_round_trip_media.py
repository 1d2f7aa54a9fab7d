"""The round trip the server measures to each person, with real aiortc clients in the loopback
namespace: from the subscriber's receiver reports (LSR/DLSR of the server's sender reports)
and the consent checks on each leg; the server's own receiver reports let a publisher measure
its round trip too; and a party on a slow line (half a second each way in) is shown `weak`
to the judge, then `live` again when the line is fast again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from signaling.client import HearingClient
from signaling.client_watch import WatchRules
from signaling.member import Member
from tests.browser_support import eventually
from tests.conftest import RunningServer
from tests.faults.test_heal_client import court_of_two
from tests.faults.test_media_health_media import shown
from web.keys import SIGNALING

pytestmark = pytest.mark.media

LOOPBACK_BOUND = 0.2
"""Over loopback a round trip is a millisecond or two; this bound leaves a loaded machine room."""


def member_of(server: RunningServer, judge: HearingClient, participant_id: str) -> Member:
    session = server.app[SIGNALING].session(judge.hearing["id"])
    assert session is not None
    return session.members[participant_id]


async def test_the_server_measures_a_round_trip_to_an_aiortc_party_on_each_leg(
    heal_server: RunningServer, clients: list[HearingClient]
) -> None:
    judge, party = await court_of_two(heal_server, clients, WatchRules())
    member = member_of(heal_server, judge, party.participant["id"])

    async def measured() -> tuple[bool, object]:
        subscribe, publish = member.subscribe, member.publish
        seen = {
            "reports": None if subscribe is None else subscribe.report_round_trips.latest,
            "checks": None if publish is None else publish.consent_round_trips.latest,
            "person": member.round_trip,
        }
        return all(v is not None for v in seen.values()), seen

    seen = await eventually(measured, "a round trip from RTCP and from consent checks", 20)
    assert isinstance(seen, dict)
    for figure in seen.values():
        assert 0.0 <= figure < LOOPBACK_BOUND, seen

    # the server's receiver reports now carry LSR/DLSR: the party measures its publish leg
    async def publisher_measures() -> tuple[bool, object]:
        stats = (await party.connection_stats())["publish"]
        trips = [s.get("roundTripTime") for s in stats if s["type"] == "remote-inbound-rtp"]
        return any(t is not None for t in trips), trips

    trips = await eventually(publisher_measures, "the party's own publish round trip", 10)
    assert isinstance(trips, list)
    assert all(t is None or 0.0 <= t < LOOPBACK_BOUND for t in trips), trips


class SlowLine:
    """Everything that reaches a client's ICE sockets is handed on `delay` seconds late: a
    line with half a second of latency towards the party (a satellite link, a saturated
    uplink's queue), which every round trip includes once."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def under(self, pc: RTCPeerConnection) -> None:
        loop = asyncio.get_running_loop()
        transport: Any = pc.getTransceivers()[0].sender.transport
        for protocol in transport.transport._connection._protocols:
            receive = protocol.datagram_received

            def late(data: bytes, addr: tuple[Any, ...], _receive: Any = receive) -> None:
                if self.delay:
                    loop.call_later(self.delay, _receive, data, addr)
                else:
                    _receive(data, addr)

            protocol.datagram_received = late


async def test_a_party_on_a_slow_line_is_shown_weak_then_live_when_it_is_fast_again(
    heal_server: RunningServer, clients: list[HearingClient]
) -> None:
    judge, party = await court_of_two(heal_server, clients, WatchRules())
    pid = party.participant["id"]
    member = member_of(heal_server, judge, pid)
    await shown(judge, pid, lambda h: h == {"audio": "live", "video": "live"}, 10)
    line = SlowLine(0.5)
    assert party._publish_pc is not None and party._subscribe_pc is not None
    line.under(party._publish_pc)
    line.under(party._subscribe_pc)
    # every packet still arrives: only the round trip says the line is slow (about 4 s of
    # receiver reports make it sustained)
    await shown(judge, pid, lambda h: h == {"audio": "weak", "video": "weak"}, 15)
    for _ in range(150):  # the round trip is measured with the receiver reports' pace
        if member.round_trip is not None and member.round_trip > 0.4:
            break
        await asyncio.sleep(0.1)
    assert member.round_trip is not None and member.round_trip > 0.4, member.round_trip
    line.delay = 0.0
    await shown(judge, pid, lambda h: h == {"audio": "live", "video": "live"}, 15)
    assert party.media_lost == []
