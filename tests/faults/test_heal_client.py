"""A client heals its own legs: a party's network goes silent under one leg, under the other,
or under both (nftables in the namespace drops the party's UDP), and comes back, or the party
moves to another network (the old sockets stay dead for good). The client's watch rebuilds
the dead legs itself, long before the server's consent period would close them, and nobody
else's media is touched. The server's own watch is kept out of the way (30 s of silence)."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiortc.mediastreams import AudioStreamTrack

from media._aiortc_hooks import local_ports
from signaling.client import HearingClient
from signaling.client_watch import WatchRules
from tests.conftest import RunningServer
from tests.faults.conftest import SERVER_SILENCE
from tests.faults.court import Firewall, SmallVideo

pytestmark = pytest.mark.media

PUBLISH_PORTS = (42000, 42049)
SUBSCRIBE_PORTS = (42050, 42099)

BACK_WITHIN = 15.0
"""After the network returns (or moves), each leg carries media again within this: the
client's silence limit (4 s) plus a pause and an ICE and DTLS handshake on a loaded machine."""
CUT = 8.0


async def court_of_two(
    server: RunningServer,
    clients: list[HearingClient],
    watch: WatchRules | None,
    party_kinds: tuple[str, ...] = ("video", "audio"),
) -> tuple[HearingClient, HearingClient]:
    """A judge and a party in session, each publishing a camera and a microphone, each
    receiving the other; the party's legs bound in their own port ranges."""
    hearing = await server.create_hearing()
    judge_token = await server.issue_token(hearing["id"], "presiding_judge", "Judge Le")
    party_token = await server.issue_token(hearing["id"], "plaintiff", "Ms Nguyen")
    judge = HearingClient(server.base_url, judge_token["token"])
    party = HearingClient(
        server.base_url,
        party_token["token"],
        watch=watch,
        leg_ports={"publish": PUBLISH_PORTS, "subscribe": SUBSCRIBE_PORTS},
    )
    clients.extend([judge, party])
    await judge.connect()
    await judge.request("phase", {"phase": "in_session"})
    await party.connect()
    await judge.wait_for_waiting(party.participant["id"])
    await judge.admit(party.participant["id"])
    await party.wait_admitted()
    await judge.publish(SmallVideo(), AudioStreamTrack())
    await party.publish(
        *(SmallVideo() if k == "video" else AudioStreamTrack() for k in party_kinds)
    )
    if "video" in party_kinds:
        await flowing(judge, party, within=30)
    await flowing(party, judge, within=30)
    return judge, party


async def carries(viewer: HearingClient, publisher: HearingClient | str) -> bool:
    """Do the publisher's video packets reach the viewer now (over 0.7 s)?"""
    pid = publisher if isinstance(publisher, str) else publisher.participant["id"]

    def video() -> int:
        return sum(
            n
            for ssrc, n in viewer.rtp_by_ssrc().items()
            if viewer.ssrc_owner(ssrc) == (pid, "video")
        )

    before = video()
    await asyncio.sleep(0.7)
    return video() > before


async def flowing(viewer: HearingClient, publisher: HearingClient | str, within: float) -> float:
    """Wait until the publisher's video reaches the viewer; return how long it took."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if await carries(viewer, publisher):
            return time.monotonic() - started
    who = publisher if isinstance(publisher, str) else publisher.participant["role"]
    raise AssertionError(f"no video from {who} within {within}s")


async def cut_and_restore(firewall: Firewall, ranges: list[tuple[int, int]]) -> None:
    for low, high in ranges:
        firewall.silence_range(low, high)
    await asyncio.sleep(CUT)
    firewall.close()


@pytest.mark.parametrize("leg", ["publish", "subscribe", "both"])
async def test_a_leg_whose_network_is_cut_and_restored_carries_media_again(
    heal_server: RunningServer, clients: list[HearingClient], leg: str
) -> None:
    judge, party = await court_of_two(heal_server, clients, WatchRules())
    ranges = {"publish": [PUBLISH_PORTS], "subscribe": [SUBSCRIBE_PORTS]}
    cut = ranges.get(leg, [PUBLISH_PORTS, SUBSCRIBE_PORTS])
    firewall = Firewall()
    try:
        cutting = asyncio.create_task(cut_and_restore(firewall, cut))
        if leg == "publish":  # the leg that still works is not disturbed meanwhile
            assert await carries(party, judge)
        elif leg == "subscribe":
            assert await carries(judge, party)
        await cutting
    finally:
        firewall.close()
    await flowing(judge, party, within=BACK_WITHIN)
    await flowing(party, judge, within=BACK_WITHIN)
    rebuilt = {name for name, _reason in party.watch.rebuilds} if party.watch else set()
    assert rebuilt == ({"publish", "subscribe"} if leg == "both" else {leg}), rebuilt
    assert judge.watch is not None and judge.watch.rebuilds == []


@pytest.mark.parametrize("leg", ["publish", "subscribe"])
async def test_a_party_that_moves_to_another_network_gets_its_leg_back_before_the_server_notices(
    heal_server: RunningServer, clients: list[HearingClient], leg: str
) -> None:
    """Wi-Fi to 4G: the old leg's sockets never hear again. The client's watch rebuilds it on
    new sockets within `BACK_WITHIN`; the server alone would take its 30 s consent period."""
    judge, party = await court_of_two(heal_server, clients, WatchRules())
    firewall = Firewall()
    try:
        pc = party._publish_pc if leg == "publish" else party._subscribe_pc
        assert pc is not None
        firewall.silence(local_ports(pc))
        viewer, publisher = (judge, party) if leg == "publish" else (party, judge)
        await asyncio.sleep(1.0)
        assert not await carries(viewer, publisher)
        took = await flowing(viewer, publisher, within=BACK_WITHIN)
        assert took < SERVER_SILENCE - 10
        assert party.media_lost == []  # the server never had to close it
    finally:
        firewall.close()
