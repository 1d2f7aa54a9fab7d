"""Every participant page, in both languages, at 1280 px and 360 px: axe-core finds no serious
or critical violation, nothing scrolls sideways, no catalogue key shows through untranslated,
and a screenshot is saved to docs/screenshots/ (referenced from the README)."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.async_api import Page, async_playwright, expect

from tests.browser_support import (
    BROWSER_TEST,
    accept_rules_and_join,
    chromium,
    confirm,
    first_page,
    join_hearing,
    pass_device_check,
    wait_for_decoded_video,
    wait_for_state,
)
from tests.conftest import RunningServer
from tests.page_checks import Switch, assert_keyboard_reaches, save_screenshots, switch_language

pytestmark = BROWSER_TEST
CATALOGUE = Path(__file__).resolve().parent.parent / "web" / "static" / "i18n"
KEYS = sorted(json.loads((CATALOGUE / "en.json").read_text(encoding="utf-8")))
CASE = {"case_number": "HS-2026/0311", "title": "Nguyen v. Pham", "public": True}


async def no_raw_keys(page: Page, lang: str, width: int) -> None:
    text: str = await page.evaluate("() => document.body.innerText")
    shown = [key for key in KEYS if key in text]
    assert not shown, f"catalogue keys shown untranslated ({lang}, {width} px): {shown}"
    assert await page.evaluate("() => document.documentElement.lang") == lang


async def switch_under_dialog(page: Page, lang: str) -> None:
    """A modal dialog makes the header's switch inert: change it the way its handler sees."""
    await page.evaluate(
        "(lang) => { const s = document.getElementById('lang'); s.value = lang;"
        " s.dispatchEvent(new Event('change')); }",
        lang,
    )
    await page.wait_for_function("(lang) => document.documentElement.lang === lang", arg=lang)


async def screenshots(page: Page, name: str, switch: Switch = switch_language) -> None:
    await save_screenshots(page, name, check=no_raw_keys, switch=switch)
    await switch(page, "en")
    await page.set_viewport_size({"width": 1280, "height": 800})


async def test_every_participant_page_passes_axe_in_both_languages_and_fits_a_phone(
    tmp_path: Path, server: RunningServer
) -> None:
    hearing = await server.create_hearing(**CASE)
    judge_token = await server.issue_token(hearing["id"], "presiding_judge", "Thu Nguyen")
    party_token = await server.issue_token(hearing["id"], "accused", "Quang Pham")
    async with (
        async_playwright() as playwright,
        chromium(playwright, tmp_path / "judge") as judge_browser,
        chromium(playwright, tmp_path / "party") as party_browser,
    ):
        judge = await first_page(judge_browser)
        party = await first_page(party_browser)
        await join_hearing(judge, judge_token["join_url"])
        await wait_for_state(judge, "courtroom", "judge")

        # The device check, reached and left by keyboard alone.
        await party.goto(party_token["join_url"])
        await expect(party.locator("#continue")).to_be_enabled(timeout=15_000)
        await expect(party.locator("#connection-result")).not_to_have_attribute(
            "data-result", "pending", timeout=30_000
        )
        await screenshots(party, "join-devices")
        await party.locator("#lang").focus()
        await assert_keyboard_reaches(party, "#camera", "the camera choice")
        await assert_keyboard_reaches(party, "#continue", "the Continue button")
        await pass_device_check(party)

        await screenshots(party, "join-rules")
        await accept_rules_and_join(party)
        await wait_for_state(party, "lobby", "party")
        await expect(party.locator("#lobby-position")).not_to_be_empty()
        await screenshots(party, "lobby")

        await expect(judge.locator("#queue li")).to_have_count(1, timeout=15_000)
        await screenshots(judge, "console-lobby")
        await judge.get_by_role("button", name="Admit Quang Pham (Accused)").click()
        await wait_for_state(party, "courtroom", "party")
        await judge.get_by_role("button", name="Open session").click()
        await expect(party.locator("#phase")).to_have_text("In session")
        await wait_for_decoded_video(
            party, "party", judge_token["participant_id"], at_least=10, within=30
        )
        await wait_for_decoded_video(
            judge, "judge", party_token["participant_id"], at_least=10, within=30
        )
        await screenshots(party, "courtroom")
        await expect(judge.locator("#audit li")).not_to_have_count(0)
        await screenshots(judge, "console")

        await party.get_by_role("button", name="Leave hearing").click()
        await screenshots(party, "confirm-leave", switch_under_dialog)  # the dialog is open
        await confirm(party)
        await wait_for_state(party, "left", "party")
        await screenshots(party, "ended")
