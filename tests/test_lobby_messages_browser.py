"""Messages to the lobby in headless Chromium, through the real server: the clerk writes from
the console (to one person from the Write button on their row, then to all who wait), and the
waiting page shows each message with its time at the court's time zone (Asia/Ho_Chi_Minh, the
default), in both languages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import Page, async_playwright, expect

from signaling.client import HearingClient
from tests.browser_support import BROWSER_TEST, chromium, first_page, join_hearing, wait_for_state
from tests.conftest import RunningServer
from tests.page_checks import assert_accessible, assert_fits, switch_language

pytestmark = BROWSER_TEST
COURT = ZoneInfo("Asia/Ho_Chi_Minh")
TO_ONE = "Phiên tòa sẽ bắt đầu lúc 9 giờ 30.\nĐề nghị Ông/Bà giữ nguyên trang này."
TO_ALL = "The court sits in ten minutes."


async def court_clock(page: Page, index: int) -> str:
    """The hour and minute of the page's `index`th message, at the court's time."""
    at = await page.evaluate(f"() => window.ecourt.lobbyMessages[{index}].at")
    return datetime.fromisoformat(at).astimezone(COURT).strftime("%H:%M")


async def test_the_clerk_writes_to_the_lobby_and_the_waiting_page_shows_it_at_the_courts_time(
    tmp_path: Path, server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing(case_number="DS-2026/0099", title="Trần v. Lê")
    hid = hearing["id"]
    clerk_token = await server.issue_token(hid, "clerk", "Lan Hồ")
    party_token = await server.issue_token(hid, "plaintiff", "Minh Trần")
    async with (
        async_playwright() as playwright,
        chromium(playwright, tmp_path / "clerk") as clerk_browser,
        chromium(playwright, tmp_path / "party") as party_browser,
    ):
        clerk = await first_page(clerk_browser)
        party = await first_page(party_browser)
        await clerk.set_viewport_size({"width": 1280, "height": 800})
        await join_hearing(clerk, clerk_token["join_url"])
        await wait_for_state(clerk, "courtroom", "clerk")
        await join_hearing(party, party_token["join_url"])
        await wait_for_state(party, "lobby", "party")
        other_token = await server.issue_token(hid, "respondent", "Hoa Lê")
        other = HearingClient(server.base_url, other_token["token"])
        clients.append(other)
        await other.connect()
        await expect(party.locator("#lobby-messages-part")).to_be_hidden()

        # To one person, from their row in the lobby.
        await expect(clerk.locator("#queue li")).to_have_count(2, timeout=15_000)
        await clerk.get_by_role("button", name="Write to Minh Trần (Plaintiff)").click()
        compose = clerk.locator("#lobby-compose")
        await expect(compose.locator("#lobby-compose-to")).to_have_text("To Minh Trần (Plaintiff):")
        await expect(compose.locator("textarea")).to_be_focused()
        await compose.locator("textarea").fill(TO_ONE)
        await compose.get_by_role("button", name="Send").click()
        await expect(clerk.locator("#status")).to_have_text("Message sent to Minh Trần.")
        await expect(compose).to_be_hidden()

        shown = party.locator("#lobby-messages li")
        await expect(shown).to_have_count(1, timeout=10_000)
        await expect(shown.locator(".text")).to_have_text(TO_ONE)
        first_at = await court_clock(party, 0)
        await expect(shown.locator(".meta")).to_have_text(f"{first_at} · Clerk, to you")

        # To all who wait: the Python client waiting too, and the newest first on the page.
        await clerk.get_by_role("button", name="Write to all waiting").click()
        await expect(compose.locator("#lobby-compose-to")).to_have_text("To everyone waiting:")
        await compose.locator("textarea").fill(TO_ALL)
        await compose.locator("textarea").press("Tab")
        await compose.get_by_role("button", name="Send").click()
        await expect(clerk.locator("#status")).to_have_text("Message sent to 2 people waiting.")
        await expect(shown).to_have_count(2)
        await expect(shown.first.locator(".text")).to_have_text(TO_ALL)
        second_at = await court_clock(party, 1)
        await expect(shown.first.locator(".meta")).to_have_text(
            f"{second_at} · Clerk, to everyone waiting"
        )
        await other.wait_until(lambda: bool(other.lobby_messages), 5, "the message to all")
        assert [m["text"] for m in other.lobby_messages] == [TO_ALL]

        # In Vietnamese, and readable by everyone at a phone's width.
        await switch_language(party, "vi")
        await expect(party.locator("#lobby-messages-heading")).to_have_text("Thông báo của Tòa án")
        await expect(shown.first.locator(".meta")).to_contain_text(
            "Thư ký phiên tòa gửi tất cả người đang chờ"
        )
        await expect(shown.last.locator(".meta")).to_contain_text("Thư ký phiên tòa gửi Ông/Bà")
        await expect(shown.last.locator("time")).to_have_text(first_at)
        await party.set_viewport_size({"width": 360, "height": 740})
        await assert_fits(party, "the waiting page with messages (vi, 360 px)")
        await assert_accessible(party, "the waiting page with messages (vi, 360 px)")
        await assert_accessible(clerk, "the console with the lobby's Write buttons")
