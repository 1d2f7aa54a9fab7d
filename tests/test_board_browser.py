"""The supervision board in headless Chromium, in English and Vietnamese, on a desktop and a
phone: logged in through its form, it shows a hearing in session (phase, rooms, waiting) in
the page's language, passes axe-core, fits 360 px; the screenshots go to docs/screenshots/.
No WebRTC: the court is the Python client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from security import Secret
from signaling.client import HearingClient
from tests.browser_support import chromium, first_page
from tests.conftest import RunningServer, running_server
from tests.page_checks import assert_accessible, save_screenshots
from tests.test_lobby_news import enter_as
from web.i18n import t

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium"),
]
ADMIN_KEY = "court-admin-key-0123456789"


@pytest.fixture
async def court(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path / "data", court_admin_key=Secret(ADMIN_KEY.encode())) as s:
        yield s


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Page]:
    async with async_playwright() as playwright, chromium(playwright, tmp_path / "p") as browser:
        yield await first_page(browser)


async def test_the_board_logs_in_and_shows_a_sitting_hearing_in_both_languages(
    court: RunningServer, clients: list[HearingClient], page: Page
) -> None:
    hearing = await court.create_hearing()
    judge = await enter_as(court, clients, hearing["id"], "presiding_judge", "Judge Le")
    party = await enter_as(court, clients, hearing["id"], "plaintiff", "Ms Nguyen")
    await enter_as(court, clients, hearing["id"], "witness", "Mrs Vo")  # left waiting
    await judge.wait_for_waiting(party.participant["id"])
    await judge.admit(party.participant["id"])
    await judge.request("phase", {"phase": "in_session"})

    await page.goto(f"{court.base_url}/court?lang=en")
    await expect(page.locator("#login")).to_be_visible()
    await assert_accessible(page, "the board's login (en)")
    await page.fill("#key", "a wrong key, sixteen+")
    await page.click("#login button")
    await expect(page.locator("#login-error")).to_have_text(t("en", "court.login_refused"))
    await page.fill("#key", ADMIN_KEY)
    await page.click("#login button")
    row = page.locator(f"tr[data-hearing='{hearing['id']}']")
    await expect(row).to_contain_text(hearing["case_number"])
    await expect(row).to_contain_text(t("en", "phase.in_session"))
    assert "Judge Le" not in await page.content()

    async def words(page: Page, lang: str, _width: int) -> None:
        await expect(row).to_contain_text(t(lang, "phase.in_session"))
        await expect(row).to_contain_text(f"{t(lang, 'room.courtroom')}: 2")
        await expect(page.locator("h1")).to_have_text(t(lang, "court.title"))

    await save_screenshots(page, "court-board", check=words)
