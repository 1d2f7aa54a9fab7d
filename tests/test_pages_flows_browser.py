"""The participant pages' flows in headless Chromium (fake camera and microphone), through the
real server: joining step by step, moving between rooms, phases on every page, and coming back
after the network drops."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page, async_playwright, expect

from tests.browser_support import (
    BROWSER_TEST,
    accept_rules_and_join,
    chromium,
    confirm,
    eventually,
    first_page,
    join_hearing,
    open_orders,
    pass_device_check,
    wait_for_state,
)
from tests.conftest import RunningServer, running_server
from tests.page_checks import save_screenshots, switch_language

pytestmark = BROWSER_TEST
CASE = {"case_number": "CV-2026/0077", "title": "Tran v. Okafor", "public": True}


async def ecourt(page: Page, expression: str) -> Any:
    return await page.evaluate(f"() => window.ecourt.{expression}")


async def admitted_judge(page: Page, server: RunningServer, hearing_id: str) -> str:
    token = await server.issue_token(hearing_id, "presiding_judge", "Lan Tran")
    await join_hearing(page, token["join_url"])
    await wait_for_state(page, "courtroom", "judge")
    participant_id: str = token["participant_id"]
    return participant_id


@asynccontextmanager
async def judge_and_party(tmp_path: Path) -> AsyncIterator[tuple[Page, Page]]:
    """Two headless Chromiums, each with its own profile: the judge's and a party's pages."""
    async with (
        async_playwright() as playwright,
        chromium(playwright, tmp_path / "judge") as judge_browser,
        chromium(playwright, tmp_path / "party") as party_browser,
    ):
        yield await first_page(judge_browser), await first_page(party_browser)


@asynccontextmanager
async def seated_court(
    tmp_path: Path, server: RunningServer, role: str, name: str, role_name: str
) -> AsyncIterator[tuple[Page, Page, str]]:
    """A hearing whose judge is in the courtroom and has admitted one party: the judge's page,
    the party's page, and the judge's participant id."""
    hearing = await server.create_hearing(**CASE)
    party_token = await server.issue_token(hearing["id"], role, name)
    async with judge_and_party(tmp_path) as (judge, party):
        judge_id = await admitted_judge(judge, server, hearing["id"])
        await seat(judge, party, party_token["join_url"], name, role_name)
        yield judge, party, judge_id


async def seat(judge: Page, party: Page, join_url: str, name: str, role: str) -> None:
    """The party joins, the judge admits, the party is in the courtroom."""
    await join_hearing(party, join_url)
    await admit(judge, name, role)
    await wait_for_state(party, "courtroom", name)


async def admit(judge: Page, name: str, role: str) -> None:
    button = judge.get_by_role("button", name=f"Admit {name} ({role})")
    await expect(button).to_be_visible(timeout=15_000)
    await button.click()


async def test_a_party_checks_devices_accepts_the_rules_waits_and_is_admitted(
    tmp_path: Path, server: RunningServer
) -> None:
    hearing = await server.create_hearing(**CASE)
    party_token = await server.issue_token(hearing["id"], "plaintiff", "Minh Tran")
    async with judge_and_party(tmp_path) as (judge, party):
        judge_id = await admitted_judge(judge, server, hearing["id"])

        # 1. The device check: both devices listed and previewed, the microphone's level
        # moves, and the connection to the media server is tested.
        await party.goto(party_token["join_url"])
        await expect(party.locator("#greeting")).to_have_text(
            "You are joining as Minh Tran, Plaintiff."
        )
        # the page names the hearing the link opens, before anyone joins
        await expect(party.locator("#hearing-title")).to_have_text(str(CASE["title"]))
        await expect(party.locator("#hearing-case")).to_have_text(f"Case {CASE['case_number']}")
        await expect(party.locator("#camera option")).not_to_have_count(0)
        await expect(party.locator("#microphone option")).not_to_have_count(0)
        await expect(party.locator("#device-note")).to_contain_text("ready")

        async def preview_plays() -> tuple[bool, object]:
            seen = await party.evaluate(
                "() => { const v = document.getElementById('preview');"
                " return { width: v.videoWidth, time: v.currentTime }; }"
            )
            return seen["width"] > 0 and seen["time"] > 0, seen

        await eventually(preview_plays, "the camera preview playing", 15)

        async def level_moves() -> tuple[bool, object]:
            peak = await party.evaluate("() => document.getElementById('mic-level').value")
            return peak > 0.2, peak

        await party.locator("#camera").focus()  # a gesture lets the meter's audio run
        await eventually(level_moves, "the microphone level meter moving (fake beeps)", 15)

        async def checked() -> tuple[bool, object]:
            check = await ecourt(party, "connectionCheck")
            return check["state"] != "pending", check

        check = await eventually(checked, "the connection test finishing", 30)
        assert isinstance(check, dict)
        assert check["state"] == "reachable", check
        assert check["rtt"] is not None and check["rtt"] >= 0
        await expect(party.locator("#connection-result")).to_contain_text("Round trip")

        # 2. The rules: Join hearing stays disabled until they are accepted.
        await pass_device_check(party)
        await expect(party.get_by_role("heading", name="The court's rules")).to_be_visible()
        await accept_rules_and_join(party)

        # 3. The lobby: calm, with the place in the queue; the judge sees the party waiting.
        await wait_for_state(party, "lobby", "party")
        await expect(party.locator("#lobby-position")).to_have_text(
            "You are number 1 of 1 waiting."
        )
        # the time it is scheduled for (09:00 +07:00), at the court's time (Asia/Ho_Chi_Minh)
        await expect(party.locator("#lobby-scheduled")).to_have_text(
            "The hearing is scheduled for 29 November 2026 at 09:00, the court's time."
        )
        await expect(party.locator(".steps [aria-current=step]")).to_have_text("Lobby")

        # 4. Admitted: the courtroom, the room named, the presiding judge's tile first.
        await admit(judge, "Minh Tran", "Plaintiff")
        await wait_for_state(party, "courtroom", "party")
        await expect(party.locator("#room")).to_have_text("You are in: Courtroom")
        first_tile = party.locator(".tile").first
        await expect(first_tile).to_have_attribute("data-participant-id", judge_id)
        await expect(first_tile).to_have_class("tile pinned")
        await expect(first_tile.locator(".role")).to_have_text("Presiding judge")


async def test_the_judge_moves_a_party_into_a_consultation_room_and_back(
    tmp_path: Path, server: RunningServer
) -> None:
    court = seated_court(tmp_path, server, "respondent", "Hoa Le", "Respondent")
    async with court as (judge, party, judge_id):
        judge_tile = party.locator(f'.tile[data-participant-id="{judge_id}"]')
        await expect(judge_tile).to_have_count(1)

        await judge.get_by_role("button", name="Open session").click()
        recorded = party.locator("#recording-state")
        await expect(recorded).to_have_text("● Recorded")
        await open_orders(judge, "Hoa Le")
        move = judge.get_by_role("combobox", name="Move Hoa Le to")
        await move.select_option(label="Consultation room 1")
        await expect(party.locator("#room")).to_have_text("You are in: Consultation room 1")
        await expect(recorded).to_be_hidden()  # a consultation is never recorded
        group = judge.locator('#roster .room-group[data-room="consultation:c1"]')
        await expect(group.locator("h4")).to_have_text("Consultation room 1 (1)")
        await expect(group.get_by_text("Hoa Le")).to_be_visible()
        # Private: the judge's media does not follow the party into the consultation room.
        await expect(judge_tile).to_have_count(0, timeout=10_000)

        await open_orders(judge, "Hoa Le")
        move = judge.get_by_role("combobox", name="Move Hoa Le to")
        await move.select_option(label="Courtroom")
        await expect(party.locator("#room")).to_have_text("You are in: Courtroom")
        await expect(recorded).to_have_text("● Recorded")
        await expect(judge_tile).to_have_count(1, timeout=10_000)
        courtroom = judge.locator('#roster .room-group[data-room="courtroom:courtroom"]')
        await expect(courtroom.locator("h4")).to_have_text("Courtroom (2)")


async def test_every_page_shows_the_phase_the_judge_sets(
    tmp_path: Path, server: RunningServer
) -> None:
    hearing = await server.create_hearing(**CASE)
    people = [("clerk", "Mai Vo", "Clerk"), ("plaintiff", "Minh Tran", "Plaintiff")]
    tokens = [await server.issue_token(hearing["id"], r, n) for r, n, _ in people]
    async with async_playwright() as playwright, chromium(playwright, tmp_path / "p") as browser:
        judge = await first_page(browser)
        await admitted_judge(judge, server, hearing["id"])
        pages = [judge]
        for (_, name, role), token in zip(people, tokens, strict=True):
            page = await browser.new_page()
            await join_hearing(page, token["join_url"])
            if role != "Clerk":  # the clerk comes straight in; a party waits to be admitted
                await admit(judge, name, role)
            await wait_for_state(page, "courtroom", name)
            pages.append(page)
        for page in pages:
            await expect(page.locator("#phase")).to_have_text("The session has not opened yet")

        steps = [
            ("Open session", None, "In session"),
            ("Recess", None, "In recess"),
            ("In camera", "Go in camera?", "In camera (closed to the public)"),
            ("Deliberation", None, "The court is deliberating"),
            ("Adjourn", "Adjourn the hearing?", "Adjourned"),
        ]
        for button, question, shown in steps:
            await judge.get_by_role("button", name=button, exact=True).click()
            if question:
                await confirm(judge, question)
            for page in pages:
                await expect(page.locator("#phase")).to_have_text(shown)
            await expect(judge.get_by_role("button", name=button, exact=True)).to_be_disabled()
        # The clerk may not change the phase: the clerk's console has no phase buttons.
        await expect(pages[1].locator("#console-phase")).to_have_text("Adjourned")
        await expect(pages[1].get_by_role("button", name="Recess", exact=True)).to_be_hidden()


async def test_a_dangerous_order_asks_first_and_cancel_changes_nothing(
    tmp_path: Path, server: RunningServer
) -> None:
    court = seated_court(tmp_path, server, "plaintiff", "Minh Tran", "Plaintiff")
    async with court as (judge, party, _judge_id):
        await open_orders(judge, "Minh Tran")
        eject = judge.get_by_role("button", name="Eject: Minh Tran")
        await eject.click()
        dialog = judge.locator("dialog#confirm")
        await expect(dialog).to_be_visible()
        await expect(dialog.locator("#confirm-text")).to_have_text(
            "Eject: Minh Tran. Are you sure?"
        )
        # The roster is re-drawn while the dialog is open (the party raises a hand): the
        # focus still comes back to the Eject button that stands there now.
        await party.get_by_role("button", name="Raise hand to speak").click()
        await expect(judge.locator("#roster li.hand[data-participant-id]")).to_have_count(1)
        await judge.keyboard.press("Escape")  # cancels, and the focus goes back
        await expect(dialog).to_be_hidden()
        await expect(eject).to_be_focused()
        assert await ecourt(party, "state") == "courtroom"

        await eject.click()
        await confirm(judge, "Eject: Minh Tran")
        await wait_for_state(party, "left", "party")
        await expect(party.locator("#ended-text")).to_have_text(
            "The court has removed you from the hearing."
        )


async def test_a_party_whose_network_drops_comes_back_into_the_same_room(
    tmp_path: Path, server: RunningServer
) -> None:
    court = seated_court(tmp_path, server, "respondent", "Hoa Le", "Respondent")
    async with court as (judge, party, _judge_id):
        await open_orders(judge, "Hoa Le")
        await judge.get_by_role("combobox", name="Move Hoa Le to").select_option(
            label="Consultation room 2"
        )
        await expect(party.locator("#room")).to_have_text("You are in: Consultation room 2")

        await go_offline(party.context, party)
        await expect(party.locator("#connection")).to_have_text("Connection lost. Reconnecting…")
        assert await ecourt(party, "connection") == "reconnecting"
        await party.wait_for_timeout(1000)  # offline for a while: nothing comes through
        assert await ecourt(party, "welcomes") == 1

        # Back online. The server may or may not have seen the old connection go: either
        # way the page comes back (its resume key replaces a connection of its own).
        await party.context.set_offline(False)

        async def back() -> tuple[bool, object]:
            seen = await party.evaluate(
                "() => [ecourt.welcomes, ecourt.connection, ecourt.state, ecourt.admission,"
                " ecourt.room]"
            )
            room = {"kind": "consultation", "id": "c2"}
            return seen == [2, "connected", "courtroom", "admitted", room], seen

        await eventually(back, "the party back, admitted, in consultation room 2", 20)
        await expect(party.locator("#connection")).to_have_text(
            "Reconnected. You are back where you were."
        )
        await expect(party.locator("#room")).to_have_text("You are in: Consultation room 2")
        group = judge.locator('#roster .room-group[data-room="consultation:c2"]')
        await expect(group.get_by_text("Hoa Le")).to_be_visible()
        await expect(judge.locator('#roster .name:text-is("Hoa Le")')).to_have_count(1)


async def go_offline(context: BrowserContext, page: Page) -> None:
    await context.set_offline(True)
    online: bool = await page.evaluate("() => navigator.onLine")
    assert not online


async def press_tab_to(page: Page, selector: str, presses: int = 40) -> None:
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


async def test_joining_and_admitting_work_with_the_keyboard_alone(
    tmp_path: Path, server: RunningServer
) -> None:
    hearing = await server.create_hearing(**CASE)
    party_token = await server.issue_token(hearing["id"], "plaintiff", "Minh Tran")
    async with judge_and_party(tmp_path) as (judge, party):
        await admitted_judge(judge, server, hearing["id"])
        await party.goto(party_token["join_url"])
        await expect(party.locator("#continue")).to_be_focused(timeout=15_000)
        await party.keyboard.press("Enter")
        await expect(party.locator("#rules-heading")).to_be_focused()
        await press_tab_to(party, "#accept-rules")
        await party.keyboard.press("Space")
        await press_tab_to(party, "#join")
        await party.keyboard.press("Enter")
        await wait_for_state(party, "lobby", "party")

        await judge.locator("#lang").focus()
        await press_tab_to(judge, "#queue button.admit")
        await judge.keyboard.press("Enter")
        await wait_for_state(party, "courtroom", "party")
        await press_tab_to(party, "#hand")
        await party.keyboard.press("Enter")
        await expect(party.locator("#hand")).to_have_attribute("aria-pressed", "true")
        entry = judge.locator('#roster li:has(.name:text-is("Minh Tran"))')
        await expect(entry.locator(".muted-flag")).to_contain_text("Hand raised")


async def test_a_bad_link_is_refused_on_the_first_page_with_the_courts_contact(
    tmp_path: Path,
) -> None:
    contact = "Tòa án nhân dân TP. Hồ Chí Minh, 028 3829 0000"
    async with running_server(tmp_path / "data", court_contact=contact) as server:
        hearing = await server.create_hearing(**CASE)
        token = await server.issue_token(hearing["id"], "witness", "Dan Webb")
        forged = token["join_url"][:-4] + "AAAA"
        async with (
            async_playwright() as playwright,
            chromium(playwright, tmp_path / "p") as browser,
        ):
            page = await first_page(browser)
            await page.goto(forged)
            await wait_for_state(page, "link_refused", "the page of a forged link")
            refused = page.locator("#link-refused")
            await expect(refused).to_contain_text("This join link is not valid.")
            await expect(refused).to_contain_text(f"please contact the court: {contact}")
            await expect(page.locator("#prejoin")).to_be_hidden()  # no device check
            assert await page.evaluate("() => document.querySelector('#preview').srcObject") is None
            await save_screenshots(page, "link-refused")
            await switch_language(page, "vi")
            await expect(refused).to_contain_text("Đường liên kết tham gia không hợp lệ.")
            await expect(refused).to_contain_text(f"đề nghị liên hệ Tòa án: {contact}")
