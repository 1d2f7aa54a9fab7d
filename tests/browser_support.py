"""Helpers for the browser tests: the real app on loopback, headless Chromium, and polling.

Run inside the loopback-only namespace (``bash tools/in-netns ...``): aiortc then gathers
127.0.1.1, and Chromium reaches it with ``--allow-loopback-in-peer-connection``.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, Playwright, expect
from playwright.async_api import Error as PlaywrightError

CHROMIUM = "/usr/bin/chromium"
HAS_CHROMIUM = Path(CHROMIUM).exists()
BROWSER_TEST = [
    pytest.mark.media,
    pytest.mark.browser,
    pytest.mark.skipif(not HAS_CHROMIUM, reason="needs Debian's chromium"),
]
"""The marks of a test module that drives Chromium (its `pytestmark`)."""
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--auto-select-desktop-capture-source=Entire screen",
    "--allow-loopback-in-peer-connection",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
Json = dict[str, Any]


CHROMIUM_ARGS_REFUSING = [
    *(a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"),
    "--deny-permission-prompts",
]
"""A browser whose user refuses the camera and the microphone when the page asks."""


@asynccontextmanager
async def chromium(
    playwright: Playwright, profile_dir: Path, args: list[str] | None = None
) -> AsyncIterator[BrowserContext]:
    """One headless Chromium with a fake camera and microphone and its own fresh profile
    (`args`: other command-line switches instead of `CHROMIUM_ARGS`)."""
    context = await playwright.chromium.launch_persistent_context(
        str(profile_dir),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS if args is None else args,
    )
    try:
        yield context
    finally:
        await context.close()


async def eventually(
    probe: Callable[[], Awaitable[tuple[bool, object]]],
    what: str,
    within: float = 30.0,
    interval: float = 0.25,
) -> object:
    """Poll `probe` until it reports done; fail naming what never happened and the last sight."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        done, seen = await probe()
        if done:
            return seen
        if loop.time() >= deadline:
            raise AssertionError(f"{what}: not within {within:.0f} s; last seen: {seen}")
        await asyncio.sleep(interval)


_CONSOLE: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


async def first_page(context: BrowserContext) -> Page:
    """The context's page, with its console warnings and errors kept for failure messages."""
    page = context.pages[0] if context.pages else await context.new_page()
    lines: list[str] = []
    _CONSOLE[page] = lines
    page.on(
        "console",
        lambda m: lines.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: lines.append(f"pageerror: {e}"))
    return page


def console_tail(page: Page, n: int = 5) -> list[str]:
    return _CONSOLE.get(page, [])[-n:]


PAGE_STATE_JS = (
    "() => window.ecourt ? [window.ecourt.state, window.ecourt.errors] : ['no ecourt', []]"
)


async def page_state_and_errors(page: Page) -> tuple[str, object]:
    """The page's state and errors; ("navigating", []) while it loads again (a new link's
    fragment reloads the page, which destroys the context a read is made in)."""
    try:
        state, errors = await page.evaluate(PAGE_STATE_JS)
    except PlaywrightError as err:
        if "context was destroyed" not in str(err) and "navigat" not in str(err):
            raise
        return "navigating", []
    return str(state), errors


async def page_state(page: Page) -> str:
    state, _ = await page_state_and_errors(page)
    return state


async def wait_for_state(page: Page, state: str, who: str, within: float = 20.0) -> None:
    async def probe() -> tuple[bool, object]:
        current, errors = await page_state_and_errors(page)
        return current == state, {
            "state": current,
            "errors": errors,
            "console": console_tail(page),
        }

    await eventually(probe, f"the {who} page reaching state {state!r}", within)


# What the page's own WebRTC stack says: both legs, and every inbound video stream.
MEDIA_STATS_JS = """
async () => {
  const summary = async (pc) => {
    if (!pc) return null;
    const stats = await pc.getStats();
    const video = [], outbound = [];
    let srtpCipher = null;
    stats.forEach((r) => {
      if (r.type === "transport" && r.srtpCipher) srtpCipher = r.srtpCipher;
      if (r.type === "inbound-rtp" && r.kind === "video") {
        video.push({ mid: r.mid, framesDecoded: r.framesDecoded || 0,
          framesReceived: r.framesReceived || 0, packetsReceived: r.packetsReceived || 0,
          keyFramesDecoded: r.keyFramesDecoded || 0, width: r.frameWidth || 0,
          height: r.frameHeight || 0, fps: r.framesPerSecond || 0 });
      }
      if (r.type === "outbound-rtp") {
        outbound.push({ kind: r.kind, packetsSent: r.packetsSent || 0,
          framesEncoded: r.framesEncoded || 0, width: r.frameWidth || 0 });
      }
    });
    return { connection: pc.connectionState, ice: pc.iceConnectionState,
      signaling: pc.signalingState, srtpCipher, video, outbound };
  };
  const e = window.ecourt || { pcs: {} };
  return { state: e.state, errors: e.errors, tracks: e.tracks,
    publish: await summary(e.pcs.publish),
    subscribe: await summary(e.pcs.subscribe) };
}
"""


async def media_stats(page: Page) -> Json:
    stats: Json = await page.evaluate(MEDIA_STATS_JS)
    return stats


def frames_decoded(stats: Json, publisher_id: str) -> int:
    """Frames decoded on the subscribe leg from the video that `publisher_id` publishes.

    The page's `ecourt.tracks` (from the server's `subscribe_offer`) says which mid carries it.
    """
    mids = {
        t["mid"]
        for t in stats.get("tracks") or []
        if t["participant_id"] == publisher_id and t["kind"] == "video"
    }
    subscribe = stats.get("subscribe") or {}
    return max(
        (int(v["framesDecoded"]) for v in subscribe.get("video", []) if v["mid"] in mids),
        default=0,
    )


async def wait_for_decoded_video(
    page: Page, who: str, publisher_id: str, at_least: int, within: float
) -> Json:
    """Poll getStats() until the publisher's inbound-rtp video has decoded `at_least` frames."""

    async def probe() -> tuple[bool, object]:
        stats = await media_stats(page)
        done = frames_decoded(stats, publisher_id) >= at_least
        return done, stats | {"console": console_tail(page)}

    seen = await eventually(
        probe,
        f"the {who} page decoding {at_least} video frames from {publisher_id} (inbound-rtp)",
        within,
    )
    assert isinstance(seen, dict)
    return seen


# The tile's <video> element: frames actually presented, and its size.
TILE_VIDEO_JS = """
(tile) => {
  const video = tile.querySelector("video");
  const quality = video.getVideoPlaybackQuality();
  return { width: video.videoWidth, height: video.videoHeight,
    frames: quality.totalVideoFrames, paused: video.paused };
}
"""


async def tile_video(page: Page, participant_id: str) -> Json:
    tile = page.locator(f'.tile[data-participant-id="{participant_id}"]')
    if await tile.count() == 0:
        ids = await page.eval_on_selector_all(
            ".tile", "(tiles) => tiles.map((t) => t.dataset.participantId)"
        )
        return {"missing_tile": participant_id, "tiles": ids}
    shown: Json = await tile.evaluate(TILE_VIDEO_JS)
    return shown


async def join_hearing(page: Page, join_url: str) -> None:
    """Go through the join flow as a person would: the device check, the court's rules
    (accepted), then Join hearing. Ends when the page has asked to join."""
    await page.goto(join_url)
    await pass_device_check(page)
    await accept_rules_and_join(page)


async def pass_device_check(page: Page) -> None:
    proceed = page.locator("#continue")
    await expect(proceed).to_be_enabled(timeout=15_000)
    await proceed.click()


async def accept_rules_and_join(page: Page) -> None:
    join = page.locator("#join")
    await expect(join).to_be_disabled()  # not before the rules are accepted
    await page.locator("#accept-rules").check()
    await expect(join).to_be_enabled()
    await join.click()


async def confirm(page: Page, expected: str | None = None) -> None:
    """Answer yes in the page's confirmation dialog (a dangerous action asks first)."""
    dialog = page.locator("dialog#confirm")
    await expect(dialog).to_be_visible()
    if expected is not None:
        await expect(dialog.locator("#confirm-text")).to_contain_text(expected)
    await dialog.locator("#confirm-yes").click()
    await expect(dialog).to_be_hidden()


async def open_orders(page: Page, name: str) -> None:
    """Open the console's menu of orders on `name`'s roster row (once; it stays open)."""
    toggle = page.get_by_role("button", name=f"Orders for {name}")
    await expect(toggle).to_be_visible(timeout=15_000)
    if await toggle.get_attribute("aria-expanded") != "true":
        await toggle.click()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
