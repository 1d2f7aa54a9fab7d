"""The public pages in headless Chromium, in English and Vietnamese, on a desktop and a phone:
the docket (a live and a scheduled hearing; and empty) and the viewer (waiting, then live).
Each passes axe-core with no serious or critical violation, fits 360 px, switches its words to
the catalogue's, is reachable by keyboard with a visible focus; the screenshots are saved to
docs/screenshots/. No WebRTC here: the judge is the Python client, the stream a slate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright, expect

from signaling.client import HearingClient
from tests.browser_support import chromium, console_tail, eventually, first_page
from tests.conftest import RunningServer, running_server
from tests.page_checks import (
    assert_accessible,
    assert_fits,
    assert_keyboard_reaches,
    load_axe,
    save_screenshots,
)
from tests.test_signaling import enter
from web.i18n import format_datetime, t

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium"),
]
HANOI = timezone(timedelta(hours=7))
LIVE = {
    "livestream_delay": 1.0,
    "livestream_size": (320, 180),
    "livestream_fps": 10,
    "livestream_preset": "ultrafast",
}


@pytest.fixture
async def live_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path / "data", **LIVE) as running:
        yield running


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Page]:
    async with async_playwright() as playwright, chromium(playwright, tmp_path / "p") as browser:
        yield await first_page(browser)


async def live_hearing(server: RunningServer, clients: list[HearingClient], **fields: Any) -> str:
    """A public trial in session whose livestream the judge (the Python client) has opened."""
    hearing = await server.create_hearing(public=True, **fields)
    judge = await enter(server, clients, hearing["id"], "presiding_judge")
    await judge.request("phase", {"phase": "in_session"})
    ack = await judge.request("livestream", {"action": "open"})
    assert ack["livestream"]["state"] == "live", ack
    return str(hearing["id"])


async def test_the_docket_in_both_languages_at_both_widths(
    live_server: RunningServer, clients: list[HearingClient], page: Page
) -> None:
    now = datetime.now(HANOI)
    live = await live_hearing(
        live_server,
        clients,
        case_number="12/2026/HS-ST",
        title="Prosecutor v. Lê Văn Minh, theft",
        scheduled_at=now.replace(second=0, microsecond=0).isoformat(),
    )
    scheduled = await live_server.create_hearing(
        public=True,
        case_number="07/2026/DS-ST",
        title="Nguyễn Thị Hoa v. Trần Quốc Bảo, contract dispute",
        scheduled_at=now.isoformat(),
    )
    await page.goto(f"{live_server.base_url}/docket")

    async def words(page: Page, lang: str, width: int) -> None:
        await expect(page.locator("html")).to_have_attribute("lang", lang)
        await expect(page.locator("caption")).to_have_text(t(lang, "docket.caption"))
        await expect(page.locator("h1")).to_have_text(t(lang, "docket.title"))
        row = page.locator(f'tr[data-hearing-id="{live}"]')
        await expect(row.get_by_role("link")).to_have_text(t(lang, "docket.watch"))
        when = datetime.fromisoformat(scheduled["scheduled_at"])
        other = page.locator(f'tr[data-hearing-id="{scheduled["id"]}"]')
        await expect(other.locator("time")).to_have_text(format_datetime(lang, when))
        await expect(other.locator("td.state")).to_have_text(t(lang, "docket.status.scheduled"))

    saved = await save_screenshots(page, "docket", check=words)
    assert [p.name for p in saved] == [
        "docket-en-1280.png",
        "docket-en-360.png",
        "docket-vi-1280.png",
        "docket-vi-360.png",
    ]
    assert t("vi", "docket.caption") != t("en", "docket.caption")

    # by keyboard alone, from the top: the language links, then the live hearing's link
    await page.goto(f"{live_server.base_url}/docket")
    await assert_keyboard_reaches(page, 'a[hreflang="en"]', "the switch to English")
    await assert_keyboard_reaches(page, f'a[href="/watch/{live}"]', "the watch link")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/watch/{live}")
    # the language chosen on the docket (vi, last) was kept: the viewer opens in it
    await expect(page.locator("h1")).to_have_text(t("vi", "watch.title"))


async def test_the_empty_docket_in_both_languages_at_both_widths(
    server: RunningServer, page: Page
) -> None:
    await server.create_hearing(public=True, scheduled_at="2020-01-02T09:00:00+07:00")
    await page.goto(f"{server.base_url}/docket")

    async def words(page: Page, lang: str, width: int) -> None:
        await expect(page.locator("p.empty")).to_have_text(t(lang, "docket.empty"))
        await expect(page.locator("table")).to_have_count(0)

    await save_screenshots(page, "docket-empty", check=words)


async def test_the_viewer_waiting_then_live_in_both_languages_at_both_widths(
    live_server: RunningServer, clients: list[HearingClient], page: Page
) -> None:
    hearing = await live_server.create_hearing(
        public=True, scheduled_at=datetime.now(UTC).isoformat()
    )
    await page.goto(f"{live_server.base_url}/watch/{hearing['id']}?lang=vi")
    status = page.locator("#watch-status")
    await expect(status).to_have_text(t("vi", "watch.state.waiting"))
    await expect(page.locator("html")).to_have_attribute("lang", "vi")
    await assert_accessible(page, "the viewer, waiting (vi)")
    await page.goto(f"{live_server.base_url}/watch/{hearing['id']}?lang=en")
    await expect(status).to_have_text(t("en", "watch.state.waiting"))
    await assert_accessible(page, "the viewer, waiting (en)")

    judge = await enter(live_server, clients, hearing["id"], "presiding_judge")
    await judge.request("phase", {"phase": "in_session"})
    await judge.request("livestream", {"action": "open"})

    async def playing() -> tuple[bool, object]:
        seen = await page.evaluate(
            "() => ({ state: window.ecourtWatch.state, errors: window.ecourtWatch.errors,"
            " time: document.getElementById('stream').currentTime })"
        )
        return seen["state"] == "live" and seen["time"] > 0.5, seen | {
            "console": console_tail(page)
        }

    await eventually(playing, "the viewer playing the stream", 40)

    async def words(page: Page, lang: str, width: int) -> None:
        await expect(page.locator("h1")).to_have_text(t(lang, "watch.title"))
        await expect(status).to_have_text(t(lang, "watch.state.live"))
        await expect(page.locator("label[for=lang]")).to_have_text(t(lang, "common.language"))
        await expect(page.locator("#stream")).to_have_attribute(
            "aria-label", t(lang, "watch.video")
        )

    await save_screenshots(page, "watch", check=words)
    assert await page.evaluate("window.ecourtWatch.state") == "live"

    # the choice is kept (the URL no longer names one); by keyboard alone, from the top:
    # the docket link and the language switch
    await page.goto(f"{live_server.base_url}/watch/{hearing['id']}")
    await expect(status).to_have_text(t("vi", "watch.state.live"))
    await assert_keyboard_reaches(page, "a[href='/docket']", "the link to the docket")
    await assert_keyboard_reaches(page, "select#lang", "the language switch")


async def test_each_check_fails_on_a_page_that_breaks_it(server: RunningServer, page: Page) -> None:
    """The checks can fail: an image without a text alternative and an unnamed field (axe), a
    block wider than the phone, a link whose focus is not drawn."""
    await page.goto(f"{server.base_url}/docket")
    await assert_accessible(page, "the docket")
    await page.evaluate(
        """() => {
          const main = document.getElementById("main");
          const img = document.createElement("img");
          img.src = "data:,";
          main.append(img, document.createElement("input"));
        }"""
    )
    with pytest.raises(AssertionError) as failed:
        await assert_accessible(page, "the docket, spoiled")
    message = str(failed.value)
    assert "image-alt (critical)" in message and "label (critical)" in message, message
    assert "[img]" in message and "[input]" in message, message  # where: the selectors

    await page.set_viewport_size({"width": 360, "height": 780})
    await assert_fits(page, "the docket")
    await page.evaluate(
        """() => { const wide = document.createElement("div");
          wide.style.width = "500px"; wide.textContent = "wide";
          document.getElementById("main").append(wide); }"""
    )
    with pytest.raises(AssertionError, match="overflows sideways"):
        await assert_fits(page, "the docket, spoiled")

    await page.goto(f"{server.base_url}/docket")
    await assert_keyboard_reaches(page, 'a[hreflang="vi"]', "the switch to Vietnamese")
    await page.goto(f"{server.base_url}/docket")
    await page.evaluate(
        """() => document.querySelectorAll("a").forEach((a) => {
          a.style.setProperty("outline", "none", "important"); })"""
    )
    with pytest.raises(AssertionError, match="no visible outline"):
        await assert_keyboard_reaches(page, 'a[hreflang="vi"]', "the switch to Vietnamese")
    with pytest.raises(AssertionError, match="Tab never reached"):
        await assert_keyboard_reaches(page, "a.nowhere", "a link that is not there", presses=5)


async def test_axe_loads_under_the_pages_policy_which_still_refuses_inline_script(
    server: RunningServer, page: Page
) -> None:
    hearing = await server.create_hearing(public=True)
    for path in ("/docket", f"/watch/{hearing['id']}"):
        await page.goto(f"{server.base_url}{path}")
        with pytest.raises(PlaywrightError, match="Content Security Policy"):
            await page.add_script_tag(content="window.inlineRan = true")
        assert await page.evaluate("window.inlineRan") is None
        assert (await load_axe(page)).startswith("4.")
