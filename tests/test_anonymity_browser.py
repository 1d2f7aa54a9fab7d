"""The presiding judge's anonymity order in headless Chromium: the witness (an aiortc client
sending a fine red-and-white pattern) is on the judge's tiles; the judge opens the order from
the witness's row, the preview shows the pattern masked as the server will mask it, the order
is made, and the roster and the tile say that the court sees the natural image. Screenshots
of the dialog in both languages."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, async_playwright, expect

from signaling.client import HearingClient
from tests.browser_support import (
    BROWSER_TEST,
    chromium,
    eventually,
    first_page,
    join_hearing,
    open_orders,
    wait_for_decoded_video,
    wait_for_state,
)
from tests.conftest import RunningServer
from tests.page_checks import SCREENSHOTS, assert_accessible, switch_language
from tests.test_anonymity_media import Checkerboard, Tone

pytestmark = BROWSER_TEST

# The preview canvas's detail: the mean absolute difference between neighbouring pixels'
# green (0 in the red squares, 255 in the white), and how much redder than green it is.
PREVIEW_DETAIL_JS = """
() => {
  const canvas = document.getElementById("anonymity-preview");
  const { width, height } = canvas;
  const { data } = canvas.getContext("2d").getImageData(0, 0, width, height);
  let sum = 0, n = 0, red = 0;
  for (let y = 0; y < height; y++) for (let x = 1; x < width; x++) {
    const i = (y * width + x) * 4;
    sum += Math.abs(data[i + 1] - data[i - 3]); n++; red += data[i] - data[i + 1];
  }
  return { detail: sum / n, redness: red / n, screening: canvas.dataset.screening };
}
"""


async def preview(page: Page) -> dict[str, object]:
    shown: dict[str, object] = await page.evaluate(PREVIEW_DETAIL_JS)
    return shown


async def test_the_judge_makes_an_anonymity_order_with_a_preview_of_the_masked_side(
    tmp_path: Path, server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing(case_number="22/2026/HS-ST", title="State v. Roe")
    hid = hearing["id"]
    judge_token = await server.issue_token(hid, "presiding_judge", "Judge Le")
    async with async_playwright() as playwright, chromium(playwright, tmp_path / "j") as browser:
        judge = await first_page(browser)
        await judge.set_viewport_size({"width": 1280, "height": 900})
        await join_hearing(judge, judge_token["join_url"])
        await wait_for_state(judge, "courtroom", "judge")
        issued = await server.issue_token(hid, "witness", "Jane Doe")
        witness = HearingClient(server.base_url, issued["token"])
        clients.append(witness)
        await witness.connect()
        await judge.get_by_role("button", name="Admit Jane Doe (Witness)").click()
        await witness.wait_admitted()
        await judge.locator("#phase-controls button[data-phase='in_session']").click()
        wid = witness.participant["id"]
        await open_orders(judge, "Jane Doe")
        await judge.locator(
            f'li[data-participant-id="{wid}"] button[data-order="call_witness"]'
        ).click()
        confirm_audio = judge.locator("dialog#confirm")
        await expect(confirm_audio).to_be_visible(timeout=10_000)  # no camera yet: audio only
        await confirm_audio.locator("#confirm-yes").click()
        await witness.publish(Checkerboard(), Tone())
        await wait_for_decoded_video(judge, "judge", wid, at_least=10, within=30)

        await open_orders(judge, "Jane Doe")
        await judge.get_by_role("button", name="Anonymity order: Jane Doe").click()
        dialog = judge.locator("dialog#anonymity")
        await expect(dialog).to_be_visible()
        await expect(dialog.locator("#anonymity-heading")).to_have_text(
            "Anonymity order for Jane Doe"
        )

        async def pixelated() -> tuple[bool, object]:
            shown = await preview(judge)
            return float(str(shown["detail"])) < 8 and float(str(shown["redness"])) > 30, shown

        await eventually(pixelated, "a pixelated preview of the red-and-white pattern", 10)
        await dialog.locator("select[name=screening]").select_option("none")

        async def natural() -> tuple[bool, object]:
            shown = await preview(judge)
            return float(str(shown["detail"])) > 25, shown

        await eventually(natural, "the natural pattern in the preview with no screening", 10)
        await dialog.locator("select[name=screening]").select_option("pixelate")
        await dialog.locator("input[name=pseudonym]").fill("Witness A")
        await assert_accessible(judge, "the anonymity order dialog")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await judge.screenshot(path=str(SCREENSHOTS / "anonymity-order-en-1280.png"))

        # the page offers no way to name the court (the server would refuse masks_the_court)
        assert await dialog.locator("input[name=to_judges], input[name=to_clerk]").count() == 0
        await dialog.get_by_role("button", name="Make the order").click()
        await expect(dialog).to_be_hidden()
        await expect(judge.locator("#status")).to_have_text("Anonymity order made: Witness A.")
        row = judge.locator(f'#roster li[data-participant-id="{wid}"]')
        await expect(row).to_contain_text("Anonymous witness: you see the natural image")
        tile = judge.locator(f'.tile[data-participant-id="{wid}"] .anonymity-flag')
        await expect(tile).to_have_text("Anonymous witness: you see the natural image")
        await expect(judge.locator(f'.tile[data-participant-id="{wid}"] .name')).to_have_text(
            "Jane Doe"
        )

        await switch_language(judge, "vi")
        toggle = judge.locator(f'li[data-participant-id="{wid}"] button[aria-controls]')
        if await toggle.get_attribute("aria-expanded") != "true":
            await toggle.click()
        await judge.locator(
            f'li[data-participant-id="{wid}"] button[data-order="anonymity"]'
        ).click()
        await expect(dialog).to_be_visible()
        await expect(dialog.locator("#anonymity-heading")).to_contain_text("Jane Doe")
        await expect(dialog.locator("input[name=pseudonym]")).to_have_value("Witness A")
        await expect(dialog.locator("#anonymity-discharge")).to_be_visible()
        await judge.screenshot(path=str(SCREENSHOTS / "anonymity-order-vi-1280.png"))
        await dialog.locator("#anonymity-discharge").click()
        await expect(dialog).to_be_hidden()
        await expect(tile).to_have_text("")
