"""Headless Chromium on both sides of the livestream: the presiding judge's console opens it
(and shows "LIVE (delay 3 s)"), a public viewer plays `/watch/{hearing}` through hls.js, its
`currentTime` advances and the video element has decoded frames; then the judge cuts it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.browser_support import (
    chromium,
    confirm,
    console_tail,
    eventually,
    first_page,
    join_hearing,
    wait_for_state,
)
from tests.conftest import RunningServer, running_server

pytestmark = [
    pytest.mark.media,
    pytest.mark.browser,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium"),
]
DELAY = 3.0

PLAYBACK_JS = """
() => {
  const video = document.getElementById("stream");
  const quality = video.getVideoPlaybackQuality();
  return { time: video.currentTime, frames: quality.totalVideoFrames,
    dropped: quality.droppedVideoFrames, width: video.videoWidth, height: video.videoHeight,
    paused: video.paused, ready: video.readyState, state: window.ecourtWatch.state,
    errors: window.ecourtWatch.errors, hls: !!window.ecourtWatch.hls,
    h264: !!window.MediaSource
      && MediaSource.isTypeSupported('video/mp4; codecs="avc1.4d401f,mp4a.40.2"') };
}
"""


@pytest.fixture
async def live_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    settings = {
        "livestream_delay": DELAY,
        "livestream_size": (320, 180),
        "livestream_fps": 15,
        "livestream_preset": "ultrafast",
    }
    async with running_server(tmp_path / "data", **settings) as running:
        yield running


async def playback(page: Page) -> dict[str, Any]:
    seen: dict[str, Any] = await page.evaluate(PLAYBACK_JS)
    return seen


async def test_the_public_watches_the_stream_the_judge_opens_and_cuts(
    tmp_path: Path, live_server: RunningServer
) -> None:
    hearing = await live_server.create_hearing(
        public=True, scheduled_at=datetime.now(UTC).isoformat(), title="Marsh v. Okafor"
    )
    token = await live_server.issue_token(hearing["id"], "presiding_judge", "Ada Marsh")
    async with async_playwright() as playwright, chromium(playwright, tmp_path / "p") as browser:
        judge = await first_page(browser)
        await join_hearing(judge, token["join_url"])
        await wait_for_state(judge, "courtroom", "judge")
        live = judge.locator("#livestream-state")
        await expect(judge.get_by_role("button", name="Open livestream")).to_be_disabled()
        await judge.get_by_role("button", name="Open session").click()
        await expect(judge.get_by_role("button", name="Open livestream")).to_be_enabled()
        await judge.get_by_role("button", name="Open livestream").click()
        await expect(live).to_have_text("LIVE (delay 3 s)")
        await expect(judge.get_by_role("button", name="Close livestream")).to_be_enabled()

        # the docket links to the viewer; the viewer needs no login
        viewer = await browser.new_page()
        await viewer.goto(f"{live_server.base_url}/docket")
        await viewer.get_by_role("link", name="Live: watch").click()
        await viewer.wait_for_url(f"**/watch/{hearing['id']}")

        async def playing() -> tuple[bool, object]:
            seen = await playback(viewer)
            return seen["frames"] > 15 and seen["time"] > 1.0, seen | {
                "console": console_tail(viewer)
            }

        first = await eventually(playing, "the viewer playing the stream through hls.js", 40)
        assert isinstance(first, dict)
        await asyncio.sleep(3.0)
        later = await playback(viewer)
        print(f"viewer: {first} then, 3 s later, {later}")
        assert first["hls"] and first["state"] == "live"
        assert later["time"] > first["time"] + 1.5, (first, later)
        assert later["frames"] > first["frames"] + 15
        assert (later["width"], later["height"]) == (320, 180)
        await viewer.screenshot(path=str(tmp_path / "viewer.png"))
        print(f"screenshot: {tmp_path / 'viewer.png'}")

        # the judge cuts: the console says so, and the viewer's stream ends on the slate
        await judge.get_by_role("button", name="Cut livestream").click()
        await confirm(judge, "Cut the livestream now?")
        await expect(live).to_have_text("Livestream cut by the court")
        await expect(judge.get_by_role("button", name="Open livestream")).to_be_enabled()

        async def stopped() -> tuple[bool, object]:
            seen = await playback(viewer)
            return seen["state"] == "stopped", seen

        # not "the stream has ended": the viewer is told the court stopped it
        await eventually(stopped, "the viewer page saying the court stopped the stream", 30)
        await expect(viewer.locator("#watch-status")).to_have_text("The court stopped the stream")
