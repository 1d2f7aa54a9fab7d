"""The supervision board in headless Chromium, in English and Vietnamese, on a desktop and a
phone: logged in through its form, it shows a hearing in session (phase, rooms, waiting,
media health, an alert) in the page's language and follows the court live over the socket's
`/court` namespace without a reload; the day's report opens from it as a printable page.
Both pass axe-core and fit 360 px; the screenshots go to docs/screenshots/. No WebRTC: the
court is the Python client (so nobody's media reaches it: `no media`, and the plaintiff,
whom the court cannot sit without, raises the alert)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
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
from web.keys import SETTINGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium"),
]
ADMIN_KEY = "court-admin-key-0123456789"


@pytest.fixture
async def court(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(
        tmp_path / "data",
        court_admin_key=Secret(ADMIN_KEY.encode()),
        due_process_grace=3600.0,  # the alert stays up; the court does not recess by itself
    ) as s:
        yield s


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Page]:
    async with async_playwright() as playwright, chromium(playwright, tmp_path / "p") as browser:
        yield await first_page(browser)


async def test_the_board_logs_in_follows_the_court_live_and_opens_the_days_report(
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
    await page.wait_for_function("() => window.ecourtBoard.live === true")
    assert "Judge Le" not in await page.content()

    # the court acts; the page follows without a reload, well before its 10 s fallback poll
    loads = await page.evaluate("() => performance.getEntriesByType('navigation').length")
    await judge.request("phase", {"phase": "recess"})
    await expect(row).to_contain_text(t("en", "phase.recess"), timeout=5000)
    await expect(row).not_to_contain_text(t("en", "court.alert.required_without_media"))
    await judge.request("phase", {"phase": "in_session"})
    await expect(row).to_contain_text(t("en", "court.alert.required_without_media"))
    assert await page.evaluate("() => window.ecourtBoard.changes") >= 2
    assert await page.evaluate("() => performance.getEntriesByType('navigation').length") == loads

    async def words(page: Page, lang: str, _width: int) -> None:
        await expect(row).to_contain_text(t(lang, "phase.in_session"))
        await expect(row).to_contain_text(f"{t(lang, 'room.courtroom')}: 2")
        await expect(row).to_contain_text(f"{t(lang, 'health.no_media')}: 2")
        await expect(row).to_contain_text(t(lang, "court.alert.required_without_media"))
        await expect(page.locator("h1")).to_have_text(t(lang, "court.title"))

    await save_screenshots(page, "court-board", check=words)

    today = datetime.now(court.app[SETTINGS].zone).date().isoformat()
    await page.goto(f"{court.base_url}/court/report?date={today}&lang=en")
    table = page.locator("table").first
    await expect(table).to_contain_text(hearing["id"])

    async def report_words(page: Page, lang: str, _width: int) -> None:
        await expect(page.locator("h1")).to_have_text(t(lang, "report.title", date=today))
        await expect(table).to_contain_text(t(lang, "report.col.sat_minutes"))
        await expect(page.locator("a[href*='report.csv']").first).to_have_text(
            t(lang, "report.csv_hearings")
        )

    await save_screenshots(page, "court-report", check=report_words)
