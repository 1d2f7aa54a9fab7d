"""A browser whose own connections die: Chromium closes its receiving connection, then its
sending one. The server closes each dead leg, says `media_lost`, and the page rebuilds it
without a reload; the media comes back both ways."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiortc.mediastreams import AudioStreamTrack
from playwright.async_api import Page, async_playwright

from signaling.client import HearingClient
from tests.browser_support import (
    BROWSER_TEST,
    chromium,
    eventually,
    first_page,
    frames_decoded,
    join_hearing,
    media_stats,
    wait_for_decoded_video,
    wait_for_state,
)
from tests.conftest import RunningServer
from tests.faults.court import Firewall, SmallVideo
from tests.faults.test_heal_client import carries, flowing
from tests.test_hearing_media import decodes
from web.keys import AUDIT, SIGNALING

pytestmark = BROWSER_TEST


JUDGE_PORTS = {"publish": (20000, 20049), "subscribe": (20050, 20099)}
"""The judge's legs bind here, below the ephemeral ports the server and Chromium use, so a
firewall can tell the judge's datagrams from the page's."""
JUDGE_RANGES = [f"{low}-{high}" for low, high in JUDGE_PORTS.values()]


@dataclass
class Seated:
    hearing_id: str
    judge: HearingClient
    judge_id: str
    party: Page
    party_id: str


@asynccontextmanager
async def seated_page(
    tmp_path: Path, server: RunningServer, clients: list[HearingClient]
) -> AsyncIterator[Seated]:
    """A sitting court: an aiortc judge and a Chromium party, media flowing both ways."""
    hearing = await server.create_hearing()
    hid = hearing["id"]
    judge_token = await server.issue_token(hid, "presiding_judge", "Judge Le")
    party_token = await server.issue_token(hid, "plaintiff", "Ms Nguyen")
    judge_id, party_id = judge_token["participant_id"], party_token["participant_id"]
    judge = HearingClient(server.base_url, judge_token["token"], leg_ports=JUDGE_PORTS)
    clients.append(judge)
    await judge.connect()
    await judge.request("phase", {"phase": "in_session"})
    await judge.publish(SmallVideo(), AudioStreamTrack())
    async with (
        async_playwright() as playwright,
        chromium(playwright, tmp_path / "party-profile") as browser,
    ):
        party = await first_page(browser)
        await join_hearing(party, party_token["join_url"])
        await judge.wait_for_waiting(party_id)
        await judge.admit(party_id)
        await wait_for_state(party, "courtroom", "party")
        await wait_for_decoded_video(party, "party", judge_id, at_least=5, within=30)
        await decodes(await judge.wait_for_track(party_id, "video", timeout=30))
        yield Seated(hid, judge, judge_id, party, party_id)


async def test_a_page_rebuilds_the_legs_the_server_closed_as_dead(
    tmp_path: Path, server: RunningServer, clients: list[HearingClient]
) -> None:
    async with seated_page(tmp_path, server, clients) as seated:
        hid, judge, judge_id = seated.hearing_id, seated.judge, seated.judge_id
        party, party_id = seated.party, seated.party_id
        session = server.app[SIGNALING].session(hid)
        assert session is not None
        first_subscribe = session.members[party_id].subscribe
        # only the server's word may rebuild here: the page's own watch would otherwise see its
        # closed connection first, and which of the two wins is a race (the next test has it)
        await party.evaluate("() => window.ecourt.legWatch.close()")

        # the page closes its own receiving connection, as a crashed tab's would close
        await party.evaluate("() => window.ecourt.pcs.subscribe.close()")

        async def rebuilt() -> tuple[bool, object]:
            member = session.members.get(party_id)
            leg = None if member is None else member.subscribe
            fresh = leg is not None and leg is not first_subscribe and bool(leg.forwarding())
            return fresh, leg

        await eventually(rebuilt, "a new subscribe leg forwarding to the page", 30)
        stats = await wait_for_decoded_video(party, "party", judge_id, at_least=5, within=30)
        assert frames_decoded(stats, judge_id) >= 5

        # then its sending connection: the judge gets the party's camera back
        first_publish = session.members[party_id].publish
        await party.evaluate("() => window.ecourt.pcs.publish.close()")

        async def republished() -> tuple[bool, object]:
            member = session.members.get(party_id)
            leg = None if member is None else member.publish
            return leg is not None and leg is not first_publish and bool(leg.tracks), leg

        await eventually(republished, "the page publishing again on a new leg", 30)
        await decodes(await judge.wait_for_track(party_id, "video", timeout=30), frames=10)
        assert (await media_stats(party))["subscribe"] is not None

    lost = [
        json.loads(line)
        for line in server.app[AUDIT].path(hid).read_text().splitlines()
        if '"media_lost"' in line
    ]
    legs = [(e["target"] or e["actor"], e["details"]["leg"]) for e in lost]
    assert (party_id, "subscribe") in legs and (party_id, "publish") in legs, legs


PAGE_PORTS = """(leg) => window.ecourt.pcs[leg].getStats().then((stats) => {
  const ports = [];
  stats.forEach((entry) => { if (entry.type === "local-candidate") ports.push(entry.port); });
  return ports;
})"""


@pytest.mark.parametrize("leg", ["publish", "subscribe"])
async def test_a_page_whose_leg_dies_under_a_network_change_rebuilds_it_before_the_server_notices(
    tmp_path: Path, server: RunningServer, clients: list[HearingClient], leg: str
) -> None:
    """Wi-Fi to 4G under one of the page's legs: its sockets never hear again, its connection
    still looks open. The page's own watch rebuilds it within 15 s; the server alone would
    wait its 30 s consent period (the page's sending connection was never rebuilt before)."""
    async with seated_page(tmp_path, server, clients) as seated:
        judge, judge_id = seated.judge, seated.judge_id
        party, party_id = seated.party, seated.party_id
        ports = await party.evaluate(PAGE_PORTS, leg)
        assert ports
        firewall = Firewall()
        try:
            firewall.silence(ports)
            if leg == "publish":
                await asyncio.sleep(1.0)
                assert not await carries(judge, party_id)
                await flowing(judge, party_id, within=15)
            else:
                before = frames_decoded(await media_stats(party), judge_id)
                await wait_for_decoded_video(
                    party, "party", judge_id, at_least=before + 5, within=15
                )
        finally:
            firewall.close()
        rebuilt = await party.evaluate("() => window.ecourt.legWatch.rebuilds.map((r) => r[0])")
        assert leg in rebuilt, rebuilt
    assert judge.media_lost == []
