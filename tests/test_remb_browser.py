"""Bandwidth feedback with Chromium at both ends of the SFU: Chromium's own REMB reaches the
server as a subscriber's estimate, and Chromium as a publisher obeys the REMB the server sends
for its weakest subscriber."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci
from playwright.async_api import Page, async_playwright

from signaling.client import HearingClient
from tests.browser_support import (
    BROWSER_TEST,
    chromium,
    eventually,
    first_page,
    join_hearing,
    wait_for_decoded_video,
    wait_for_state,
)
from tests.conftest import RunningServer
from tests.test_court_rules_media import seat
from tests.test_hearing_media import decodes
from web.keys import SIGNALING

pytestmark = BROWSER_TEST

WEAK = 150_000
"""bit/s: the server's floor, and half of where Chromium's bandwidth estimate starts."""

OUTBOUND_VIDEO_JS = """
async () => {
  const pc = (window.ecourt || { pcs: {} }).pcs.publish;
  if (!pc) return null;
  let video = null, available = null;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "outbound-rtp" && r.kind === "video") {
      video = { ssrc: r.ssrc, targetBitrate: r.targetBitrate || 0, bytesSent: r.bytesSent };
    }
    if (r.type === "candidate-pair" && r.nominated && r.availableOutgoingBitrate) {
      available = r.availableOutgoingBitrate;
    }
  });
  return video && { ...video, available };
}
"""


async def outbound_video(page: Page) -> dict[str, Any] | None:
    stats: dict[str, Any] | None = await page.evaluate(OUTBOUND_VIDEO_JS)
    return stats


def video_ssrc(sdp: str) -> int:
    found = re.search(r"a=ssrc:(\d+)", sdp[sdp.index("m=video") :])
    assert found is not None
    return int(found.group(1))


async def test_chromium_sends_its_estimate_and_obeys_the_weakest_subscriber(
    tmp_path: Path, server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    judge = await seat(server, clients, hid, None, "presiding_judge", "Judge Le")
    await judge.request("phase", {"phase": "in_session"})
    await judge.publish(VideoStreamTrack(), AudioStreamTrack())
    issued = await server.issue_token(hid, "plaintiff", "Ms Nguyen")
    party_id = issued["participant_id"]
    session = server.app[SIGNALING].session(hid)
    assert session is not None

    async with async_playwright() as playwright, chromium(playwright, tmp_path / "p") as browser:
        page = await first_page(browser)
        await join_hearing(page, issued["join_url"])
        await judge.wait_for_waiting(party_id)
        await judge.admit(party_id)
        await wait_for_state(page, "courtroom", "party")
        await wait_for_decoded_video(page, "party", judge.participant["id"], 10, within=30)

        # Chromium, receiving the judge's video, reports its estimate: the server reads it.
        async def chromium_estimate() -> tuple[bool, object]:
            leg = session.members[party_id].subscribe
            estimates = [s.remb for s in leg.sinks() if s.remb] if leg is not None else []
            return bool(estimates), estimates

        estimates = await eventually(chromium_estimate, "a REMB from Chromium's subscribe leg", 20)
        print(f"Chromium's REMB as the server read it: {estimates} bit/s")

        # The judge takes the party's video over a weak link and says so: the server asks
        # Chromium for no more, and Chromium's encoder follows.
        await decodes(await judge.wait_for_track(party_id, "video"))
        leg: Any = judge._subscribe_pc
        transport = leg.getTransceivers()[0].receiver.transport
        ssrcs = [video_ssrc(leg.remoteDescription.sdp)]
        publish_leg = session.members[party_id].publish
        assert publish_leg is not None
        before = await outbound_video(page)
        assert before is not None
        print(f"Chromium's video before: {before}")
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            remb = RtcpPsfbPacket(
                fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(WEAK, ssrcs)
            )
            await transport._send_rtp(bytes(remb))
            now = await outbound_video(page)
            if now is not None:
                seen.append(now)
                if 0 < now["targetBitrate"] <= WEAK and publish_leg.remb_sent == WEAK:
                    break
            await asyncio.sleep(0.2)
        print(f"Chromium's video after: {seen[-1] if seen else None}")
        assert publish_leg.remb_sent == WEAK  # the server passed the weakest estimate on
        assert seen and 0 < seen[-1]["targetBitrate"] <= WEAK  # and Chromium's encoder obeyed
        assert seen[-1]["ssrc"] == before["ssrc"]
