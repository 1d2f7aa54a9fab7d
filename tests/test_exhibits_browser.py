"""Exhibits on the page, in headless Chromium: two people in the courtroom see the exhibit the
judge presents, drawn by pdf.js from the page the server serves, with "P-1, page 3 of 5", and
follow the judge's page turns; a restricted exhibit never reaches the accused's page, whose
own request for the page is refused 403 and audited. Screenshots in both languages."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Page, async_playwright, expect

from signaling.client import HearingClient
from tests import exhibit_samples as samples
from tests.browser_support import BROWSER_TEST, chromium, first_page, join_hearing, wait_for_state
from tests.conftest import RunningServer
from tests.page_checks import save_screenshots
from tests.test_exhibit_orders import hearing_log
from tests.test_exhibit_presentation import admitted_exhibit
from tests.test_exhibits_api import upload
from tests.test_pages_flows_browser import admitted_judge, judge_and_party, seat
from tests.test_signaling import connect

pytestmark = BROWSER_TEST
NAMES = {"defence_counsel": "Tran Van Minh", "prosecutor": "Le Thi Hoa", "accused": "Pham Quoc Bao"}

CANVAS_DRAWN_JS = """
() => {
  const canvas = document.getElementById("exhibit-page");
  if (!canvas || canvas.width === 0) return 0;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 0; i < pixels.length; i += 4 * 97) if (pixels[i + 3] > 0) inked += 1;
  return inked;
}
"""

FETCH_PAGE_JS = """
async ([url, token]) => (await fetch(url, { headers: { Authorization: `Bearer ${token}` } })).status
"""


@asynccontextmanager
async def two_viewers(
    tmp_path: Path, server: RunningServer, clients: list[HearingClient], roles: tuple[str, str]
) -> AsyncIterator[tuple[str, HearingClient, list[Page], list[str]]]:
    """A criminal trial in session: the judge as a Python client, two people on Chromium pages
    in the courtroom. Yields the hearing, the judge, the two pages and their tokens."""
    hearing = (await server.create_hearing(type="trial", profile="vn"))["id"]
    judge_token = await server.issue_token(hearing, "presiding_judge", "Judge Le")
    judge = await connect(server, clients, judge_token["token"])
    await judge.request("phase", {"phase": "in_session"})
    issued = [await server.issue_token(hearing, role, NAMES[role]) for role in roles]
    async with (
        async_playwright() as playwright,
        chromium(playwright, tmp_path / "first") as first_browser,
        chromium(playwright, tmp_path / "second") as second_browser,
    ):
        pages = [await first_page(first_browser), await first_page(second_browser)]
        for page, token in zip(pages, issued, strict=True):
            await join_hearing(page, token["join_url"])
            await judge.wait_until(
                lambda p=token["participant_id"]: any(w.get("id") == p for w in judge.lobby),
                15,
                "the viewer in the lobby",
            )
            await judge.request("admit", {"participant_id": token["participant_id"]})
            await wait_for_state(page, "courtroom", token["display_name"])
        yield hearing, judge, pages, [str(t["token"]) for t in issued]


async def test_two_viewers_see_the_page_the_judge_turns_to(
    tmp_path: Path, server: RunningServer, clients: list[HearingClient]
) -> None:
    async with two_viewers(tmp_path, server, clients, ("defence_counsel", "prosecutor")) as (
        hearing,
        judge,
        pages,
        _tokens,
    ):
        exhibit = await admitted_exhibit(server, hearing, samples.document_pdf(pages=5))
        await judge.present_exhibit(exhibit["id"])
        for page in pages:
            await expect(page.locator("#exhibit-caption")).to_have_text("P-1, page 1 of 5")
        for number in (3, 5):
            sent = time.monotonic()
            await judge.turn_exhibit_page(number, pointer=(0.5, 0.5))
            for page in pages:
                await expect(page.locator("#exhibit")).to_have_attribute(
                    "data-page", str(number), timeout=5_000
                )
                await expect(page.locator("#exhibit-caption")).to_have_text(
                    f"P-1, page {number} of 5"
                )
            print(f"page {number} drawn on both pages {time.monotonic() - sent:.3f} s after")
        for page in pages:
            assert await page.evaluate(CANVAS_DRAWN_JS) > 0  # pdf.js drew the sheet
            await expect(page.locator("#exhibit-pointer")).to_be_visible()
        await save_screenshots(pages[0], "exhibit")
        await judge.stop_exhibit()
        for page in pages:
            await expect(page.locator("#exhibit")).to_be_hidden()


async def test_a_restricted_exhibit_never_reaches_the_accuseds_page(
    tmp_path: Path, server: RunningServer, clients: list[HearingClient]
) -> None:
    async with two_viewers(tmp_path, server, clients, ("defence_counsel", "accused")) as (
        hearing,
        judge,
        (counsel, accused),
        (_counsel_token, accused_token),
    ):
        statement = await admitted_exhibit(
            server, hearing, samples.clean_pdf(pages=2), restricted="true"
        )
        await judge.present_exhibit(statement["id"])
        await expect(counsel.locator("#exhibit")).to_have_attribute("data-page", "1")
        await judge.turn_exhibit_page(2)
        await expect(counsel.locator("#exhibit")).to_have_attribute("data-page", "2")
        await expect(accused.locator("#exhibit")).to_be_hidden()
        assert await accused.evaluate("() => window.ecourt.exhibit") is None
        url = f"/api/hearings/{hearing}/exhibits/{statement['id']}/pages/2"
        assert await accused.evaluate(FETCH_PAGE_JS, [url, accused_token]) == 403
        refused = [e for e in hearing_log(server, hearing) if e.action == "exhibit_page_refused"]
        assert [e.result for e in refused] == ["exhibit_hidden"]


async def test_the_judge_admits_presents_and_turns_pages_from_the_console(
    tmp_path: Path, server: RunningServer
) -> None:
    hearing = (await server.create_hearing(type="trial"))["id"]
    party_token = await server.issue_token(hearing, "plaintiff", "Nguyen Thi Hoa")
    submitter = await server.issue_token(hearing, "plaintiff", "Counsel's office")
    _status, exhibit = await upload(
        server,
        hearing,
        submitter["participant_id"],
        samples.document_pdf(pages=3),
        title="Contract of sale",
    )
    async with judge_and_party(tmp_path) as (judge, party):
        await admitted_judge(judge, server, hearing)
        await seat(judge, party, party_token["join_url"], "Nguyen Thi Hoa", "Plaintiff")
        console = judge.locator("#console")
        await console.get_by_role("button", name="Refresh the exhibits").click()
        await expect(console.locator("#exhibit-list")).to_contain_text("P-1: Contract of sale")
        await console.get_by_role("button", name="Admit P-1").click()
        await console.get_by_role("button", name="Present P-1").click()
        await expect(party.locator("#exhibit-caption")).to_have_text("P-1, page 1 of 3")
        await console.get_by_role("button", name="Next page").click()
        await expect(party.locator("#exhibit")).to_have_attribute("data-page", "2")
        await expect(judge.locator("#exhibit-caption")).to_have_text("P-1, page 2 of 3")
        # beside the page (on a phone the console is a drawer over it: "exhibit" shows that)
        await save_screenshots(judge, "exhibit-console", widths={1280: 800})
        stop = judge.locator("#exhibit-controls").get_by_role("button", name="Dừng trình chiếu")
        await stop.click()  # the screenshots left the page in Vietnamese
        await expect(party.locator("#exhibit")).to_be_hidden()
    actions = [e.action for e in hearing_log(server, hearing) if e.action.startswith("exhibit_")]
    assert actions == [
        "exhibit_admitted",
        "exhibit_presented",
        "exhibit_page",
        "exhibit_stopped",
    ]
    assert exhibit["number"] == "P-1"
