"""A Chromium party's network cut for 10 s under one leg, the other or both, then restored
(nftables in the namespace drops every datagram of the page's but those of the leg that still
works, new connections included); and a page whose user refused the camera and microphone.
An aiortc judge sits with it. Each cut comes back by itself within the bound, without a
reload: the judge decodes the party's video again, the page the judge's. The refused page is
shown `no media` on the judge's roster within 2 s of its admission (and the server measures
its round trip from the page's receiver reports)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from aiortc.mediastreams import AudioStreamTrack
from playwright.async_api import Page, async_playwright

from signaling.client import HearingClient, RemoteTrack, RequestFailed
from tests.browser_support import (
    BROWSER_TEST,
    CHROMIUM_ARGS_REFUSING,
    chromium,
    eventually,
    first_page,
    join_hearing,
    wait_for_decoded_video,
    wait_for_state,
)
from tests.conftest import RunningServer
from tests.faults.court import Firewall, SmallVideo
from tests.faults.test_heal_browser import JUDGE_RANGES, PAGE_PORTS, seated_page
from tests.faults.test_heal_client import carries
from web.keys import SIGNALING

pytestmark = BROWSER_TEST

CUT = 10.0
BACK_WITHIN = 15.0
"""From the network's return to decoded video again: the page's watch waits up to 8 s between
attempts on a leg that stays dead (2, 4, 8 s), then ICE, DTLS and a keyframe."""
SHOWN_WITHIN = 2.0

PAGE_DECODED_JS = """(publisher) => {
  const e = window.ecourt;
  const pc = e.pcs.subscribe;
  if (!pc) return Promise.resolve([null, 0]);
  pc.__generation ||= Math.random();
  const mids = new Set(e.tracks
    .filter((t) => t.participant_id === publisher && t.kind === "video").map((t) => t.mid));
  return pc.getStats().then((stats) => {
    let frames = 0;
    stats.forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video" && mids.has(r.mid)) {
        frames = Math.max(frames, r.framesDecoded || 0);
      }
    });
    return [pc.__generation, frames];
  });
}"""


async def page_decoded(page: Page, publisher: str) -> tuple[float | None, int]:
    """(which receiving connection, frames of `publisher`'s video it decoded)."""
    generation, frames = await page.evaluate(PAGE_DECODED_JS, publisher)
    return generation, int(frames)


async def page_decodes_anew(page: Page, publisher: str, within: float, frames: int = 5) -> float:
    """Wait until the page decodes `frames` more of `publisher`'s video than now (on a new
    receiving connection: that many); return how long it took."""
    started = time.monotonic()
    first, before = await page_decoded(page, publisher)

    async def probe() -> tuple[bool, object]:
        generation, now = await page_decoded(page, publisher)
        fresh = now >= frames if generation != first else now >= before + frames
        return fresh, (generation, now)

    await eventually(probe, f"the page decoding {publisher}'s video again", within, 0.1)
    return time.monotonic() - started


class FrameCount:
    """Every frame the judge decodes of one publisher's video, on whichever track it arrives
    (a rebuilt leg may bring a new one)."""

    def __init__(self, judge: HearingClient, publisher: str) -> None:
        self.judge, self.publisher = judge, publisher
        self.frames = 0
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def follow(self) -> None:
        for remote in self.judge.remote_tracks:
            ours = remote.participant_id == self.publisher and remote.kind == "video"
            if ours and id(remote.track) not in self._tasks:
                task = asyncio.get_running_loop().create_task(self._count(remote))
                self._tasks[id(remote.track)] = task

    async def _count(self, remote: RemoteTrack) -> None:
        while True:
            await remote.track.recv()
            self.frames += 1

    async def decodes_anew(self, within: float, frames: int = 5) -> float:
        started = time.monotonic()
        self.follow()
        await asyncio.sleep(0.2)  # frames already decoded and waiting are drained first
        before = self.frames

        async def probe() -> tuple[bool, object]:
            self.follow()
            return self.frames >= before + frames, self.frames - before

        await eventually(probe, "the judge decoding the party's video again", within, 0.1)
        return time.monotonic() - started

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)


@pytest.mark.parametrize("leg", ["publish", "subscribe", "both"])
async def test_a_page_whose_network_is_cut_for_ten_seconds_and_restored_carries_media_again(
    tmp_path: Path, heal_server: RunningServer, clients: list[HearingClient], leg: str
) -> None:
    async with seated_page(tmp_path, heal_server, clients) as seated:
        judge, judge_id = seated.judge, seated.judge_id
        party, party_id = seated.party, seated.party_id
        counted = FrameCount(judge, party_id)
        firewall = Firewall()
        try:
            await counted.decodes_anew(within=10)
            kept = {"publish": "subscribe", "subscribe": "publish"}.get(leg)
            ports: list[Any] = [] if kept is None else await party.evaluate(PAGE_PORTS, kept)
            firewall.silence_all_but([*JUDGE_RANGES, *ports])
            cut_at = time.monotonic()
            if leg == "publish":  # the leg that still works is not disturbed meanwhile
                await page_decodes_anew(party, judge_id, within=5)
            elif leg == "subscribe":
                await counted.decodes_anew(within=5)
            await asyncio.sleep(max(0.0, cut_at + CUT / 2 - time.monotonic()))
            if leg != "subscribe":  # the cut is real: nothing of the party reaches the judge
                assert not await carries(judge, party_id)
            if leg != "publish":  # nor of the judge the page
                seen = await page_decoded(party, judge_id)
                await asyncio.sleep(1.0)
                later = await page_decoded(party, judge_id)
                assert later == seen or later[1] == 0, (seen, later)  # a new leg decodes none
            await asyncio.sleep(max(0.0, cut_at + CUT - time.monotonic()))
            firewall.close()
            back = await asyncio.gather(
                counted.decodes_anew(within=BACK_WITHIN),
                page_decodes_anew(party, judge_id, within=BACK_WITHIN),
            )
            print(f"{leg}: back to the judge in {back[0]:.1f} s, to the page in {back[1]:.1f} s")
        finally:
            firewall.close()
            await counted.close()
        rebuilt = await party.evaluate("() => window.ecourt.legWatch.rebuilds.map((r) => r[0])")
        # whether the page's watch rebuilt the cut leg, or the old leg carried on once the
        # network came back, is a race of timers within a 10 s cut (CI saw both); the watch
        # itself is held by the network-change tests of test_heal_browser.py
        cut_legs = {"publish", "subscribe"} if leg == "both" else {leg}
        assert set(rebuilt) <= cut_legs, rebuilt  # the leg that worked was left alone
        assert await party.evaluate("() => window.ecourt.state") == "courtroom"


async def test_a_page_that_refused_camera_and_microphone_is_shown_without_media_at_once(
    tmp_path: Path, heal_server: RunningServer, clients: list[HearingClient]
) -> None:
    server = heal_server
    hearing = await server.create_hearing()
    hid = hearing["id"]
    judge_token = await server.issue_token(hid, "presiding_judge", "Judge Le")
    party_token = await server.issue_token(hid, "witness", "Mr Lam")
    judge_id, party_id = judge_token["participant_id"], party_token["participant_id"]
    judge = HearingClient(server.base_url, judge_token["token"])
    clients.append(judge)
    await judge.connect()
    await judge.request("phase", {"phase": "in_session"})
    await judge.publish(SmallVideo(), AudioStreamTrack())
    profile = tmp_path / "refusing-profile"
    async with (
        async_playwright() as playwright,
        chromium(playwright, profile, CHROMIUM_ARGS_REFUSING) as browser,
    ):
        party = await first_page(browser)
        await join_hearing(party, party_token["join_url"])
        error = await party.evaluate("() => document.querySelector('#device-note')?.textContent")
        await judge.wait_for_waiting(party_id)
        await judge.admit(party_id)
        admitted_at = time.monotonic()
        nothing = {"audio": "no_media", "video": "no_media"}
        await judge.wait_until(
            lambda: judge.health_of(party_id) == nothing, SHOWN_WITHIN, "no media on the roster"
        )
        shown = time.monotonic() - admitted_at
        print(f"refused: shown no media {shown:.2f} s after admission ({error})")
        with pytest.raises(RequestFailed) as refused:  # no witness without media, unconfirmed
            await judge.request("call_witness", {"participant_id": party_id})
        assert refused.value.code == "witness_without_media"
        # called to testify by audio only... with no microphone either: the page still
        # receives the court, and the roster still says so
        await judge.request("call_witness", {"participant_id": party_id, "audio_only": True})
        await wait_for_state(party, "courtroom", "witness")
        await wait_for_decoded_video(party, "witness", judge_id, at_least=5, within=20)
        assert judge.health_of(party_id) == nothing
        # Chromium's receiver reports answer the server's sender reports: a round trip
        session = server.app[SIGNALING].session(hid)
        assert session is not None
        member = session.members[party_id]

        async def measured() -> tuple[bool, object]:
            leg = member.subscribe
            latest = None if leg is None else leg.report_round_trips.latest
            return latest is not None and member.round_trip is not None, latest

        rtt = await eventually(measured, "a round trip from the page's receiver reports", 10)
        assert isinstance(rtt, float) and 0.0 <= rtt < 0.2, rtt
