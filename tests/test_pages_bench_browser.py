"""The bench's console at a glance, in headless Chromium through the real server, with eight
people in the hearing: the presiding judge's and the clerk's pages, and six more people
joining through the Python client (no media: the console is what is looked at).

At 1280x800 the judge sees the phase and its buttons, who is waiting, the raised hands in
order, and the recording and livestream state without scrolling; only the moves the court can
make are enabled; each person's orders are in a menu on their row; the roster is grouped by
room; the frequent orders have keyboard shortcuts; at 360 px the console is a drawer, still
complete. Screenshots of it go to docs/screenshots/ (console-bench-{lang}-{width}.png)."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Locator, Page, async_playwright, expect

from signaling.client import HearingClient
from tests.browser_support import (
    BROWSER_TEST,
    chromium,
    confirm,
    first_page,
    join_hearing,
    wait_for_state,
)
from tests.conftest import RunningServer
from tests.page_checks import (
    SCREENSHOTS,
    WIDTHS,
    assert_accessible,
    assert_fits,
    switch_language,
)
from tests.test_pages_a11y_browser import no_raw_keys

pytestmark = BROWSER_TEST
CASE = {"type": "trial", "case_number": "HS-2026/0412", "title": "People v. Lê", "public": True}
ADMITTED = [
    ("prosecutor", "Mai Đỗ", "Prosecutor"),
    ("accused", "Văn Lê", "Accused"),
    ("defence_counsel", "Minh Trần", "Defence counsel"),
    ("witness", "Hoa Phạm", "Witness"),
]
WAITING = [("interpreter", "Anh Vũ"), ("observer", "Bảo Ngô")]
TO_THE_TOP_JS = """() => {
  window.scrollTo(0, 0);
  for (const part of document.querySelectorAll(".console, .console-scroll")) part.scrollTo(0, 0);
}"""
PHASE_BUTTONS = ["in_session", "recess", "in_camera", "deliberation", "adjourned"]


async def in_view(page: Page, locator: Locator, what: str) -> None:
    """The element is drawn wholly inside the viewport, with the page not scrolled."""
    await expect(locator).to_be_visible()
    box = await locator.bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None, what
    scrolled = await page.evaluate("() => [window.scrollX, window.scrollY]")
    assert scrolled == [0, 0], f"the page was scrolled to {scrolled}"
    inside = box["y"] >= 0 and box["y"] + box["height"] <= size["height"]
    print(f"{what}: {box['y']:.0f}-{box['y'] + box['height']:.0f} px of {size['height']}")
    assert inside, f"{what} is outside the {size['width']}x{size['height']} view: {box}"


async def enabled_phases(page: Page) -> list[str]:
    buttons = page.locator("#phase-controls button[data-phase]")
    enabled: list[str] = await buttons.evaluate_all(
        "(all) => all.filter((b) => !b.disabled).map((b) => b.dataset.phase)"
    )
    return enabled


async def expect_enabled_phases(page: Page, expected: list[str]) -> None:
    for phase in PHASE_BUTTONS:
        button = page.locator(f'#phase-controls button[data-phase="{phase}"]')
        if phase in expected:
            await expect(button).to_be_enabled()
        else:
            await expect(button).to_be_disabled()


async def bench_screenshots(page: Page) -> None:
    """Each language, each width: the view as the judge has it (no scrolling at 1280 px; the
    drawer opened at 360 px), checked by axe, for nothing sideways and no raw keys."""
    for lang in ("en", "vi"):
        await switch_language(page, lang)
        for width, height in WIDTHS.items():
            await page.set_viewport_size({"width": width, "height": height})
            drawer = page.locator("#console-open")
            if width < 700 and await drawer.get_attribute("aria-expanded") != "true":
                await drawer.click()
            await page.evaluate(TO_THE_TOP_JS)
            what = f"the bench console ({lang}, {width} px)"
            await assert_fits(page, what)
            await assert_accessible(page, what)
            await no_raw_keys(page, lang, width)
            path = SCREENSHOTS / f"console-bench-{lang}-{width}.png"
            await page.screenshot(path=str(path), animations="disabled")
    await switch_language(page, "en")
    await page.set_viewport_size({"width": 1280, "height": 800})


async def test_the_judge_runs_a_hearing_of_eight_from_one_view(
    tmp_path: Path, server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing(**CASE)
    hid = hearing["id"]
    judge_token = await server.issue_token(hid, "presiding_judge", "Thu Nguyễn")
    clerk_token = await server.issue_token(hid, "clerk", "Lan Hồ")
    async with (
        async_playwright() as playwright,
        chromium(playwright, tmp_path / "judge") as judge_browser,
        chromium(playwright, tmp_path / "clerk") as clerk_browser,
    ):
        judge = await first_page(judge_browser)
        clerk = await first_page(clerk_browser)
        await judge.set_viewport_size({"width": 1280, "height": 800})
        await join_hearing(judge, judge_token["join_url"])
        await wait_for_state(judge, "courtroom", "judge")
        await join_hearing(clerk, clerk_token["join_url"])
        await wait_for_state(clerk, "courtroom", "clerk")

        people: dict[str, HearingClient] = {}
        for role, name, role_name in ADMITTED:
            token = await server.issue_token(hid, role, name)
            client = HearingClient(server.base_url, token["token"])
            clients.append(client)
            await client.connect()
            people[role] = client
            await judge.get_by_role("button", name=f"Admit {name} ({role_name})").click()
            await client.wait_admitted()
        for role, name in WAITING:
            token = await server.issue_token(hid, role, name)
            client = HearingClient(server.base_url, token["token"])
            clients.append(client)
            await client.connect()
            people[role] = client
        await expect(judge.locator("#queue li")).to_have_count(2, timeout=15_000)
        await people["accused"].request("raise_hand", {"raised": True})
        await expect(judge.locator("#hands li")).to_have_count(1)
        await people["prosecutor"].request("raise_hand", {"raised": True})
        await expect(judge.locator("#hands li")).to_have_count(2)

        # At a glance: nothing of this needs a scroll.
        await judge.evaluate("() => window.scrollTo(0, 0)")
        await in_view(judge, judge.locator("#phase-controls"), "the phase buttons")
        await in_view(judge, judge.locator("#queue"), "who is waiting")
        await in_view(judge, judge.locator("#hands"), "the raised hands")
        await in_view(judge, judge.locator("#console-recording"), "the recording state")
        await in_view(judge, judge.locator("#console-livestream"), "the livestream state")
        await expect(judge.locator("#hands li .name")).to_have_text(["Văn Lê", "Mai Đỗ"])

        # The roster, by room: the witness waits apart from the courtroom.
        groups = judge.locator("#roster .room-group")
        await expect(groups).to_have_count(2)
        waiting_room = judge.locator('#roster .room-group[data-room^="witness_waiting"]')
        await expect(waiting_room.locator("li .name")).to_have_text(["Hoa Phạm"])

        # Each person's orders are behind one button on their row.
        mute = judge.get_by_role("button", name="Mute: Văn Lê")
        await expect(mute).to_be_hidden()
        orders = judge.get_by_role("button", name="Orders for Văn Lê")
        await orders.click()
        await expect(orders).to_have_attribute("aria-expanded", "true")
        await expect(mute).to_be_visible()
        await judge.keyboard.press("Tab")
        await judge.keyboard.press("Escape")
        await expect(mute).to_be_hidden()
        await expect(orders).to_be_focused()

        # Only the moves the court can make.
        await expect_enabled_phases(judge, ["in_session", "in_camera", "adjourned"])
        await expect(judge.locator('[data-phase="in_session"]')).to_have_attribute(
            "aria-keyshortcuts", "Alt+Shift+S"
        )
        await judge.keyboard.press("Alt+Shift+KeyS")
        await expect(judge.locator("#phase")).to_have_text("In session")
        await expect_enabled_phases(judge, ["recess", "in_camera", "deliberation", "adjourned"])

        # The audit pane in words: names and roles, never an id; the phase named; results
        # translated.
        log = judge.locator("#audit")
        await expect(log).to_contain_text(
            "Thu Nguyễn (Presiding judge): changed the phase: In session"
        )
        await expect(log).to_contain_text(
            "Thu Nguyễn (Presiding judge): admitted → Văn Lê (Accused)"
        )
        await expect(log).to_contain_text("Anh Vũ (Interpreter): arrived")
        shown = await log.inner_text()
        ids = [p.participant["id"] for p in people.values()] + [judge_token["participant_id"]]
        assert not [i for i in ids if i in shown], shown
        assert "(waiting)" not in shown and "(admitted)" not in shown, shown

        # The shortcuts for the frequent orders: admit the first waiting, give the floor to
        # the first raised hand (which lowers it).
        await judge.keyboard.press("Alt+Shift+KeyA")
        await people["interpreter"].wait_admitted()
        await expect(judge.locator("#queue li")).to_have_count(1)
        await judge.keyboard.press("Alt+Shift+KeyF")
        await expect(judge.locator("#hands li .name")).to_have_text(["Mai Đỗ"])
        accused_id = people["accused"].participant["id"]
        accused = judge.locator(f'#roster li[data-participant-id="{accused_id}"]')
        await expect(accused.locator(".muted-flag")).to_contain_text("Has the floor")

        # The clerk: the same console, without the presiding judge's orders.
        await expect(clerk.locator("#queue li")).to_have_count(1)
        await expect(clerk.locator("#hands li")).to_have_count(1)
        await expect(clerk.locator("#phase-controls")).to_be_hidden()
        await expect(clerk.locator("#console-phase")).to_have_text("In session")
        await clerk.get_by_role("button", name="Orders for Văn Lê").click()
        await expect(clerk.get_by_role("button", name="Mute: Văn Lê")).to_be_visible()
        await expect(clerk.get_by_role("button", name="Eject: Văn Lê")).to_have_count(0)

        await bench_screenshots(judge)

        # On a phone the console is a drawer, still complete.
        await judge.set_viewport_size({"width": 360, "height": 780})
        drawer = judge.locator("#console-open")
        await expect(drawer).to_have_attribute("aria-expanded", "true")  # left open above
        await judge.get_by_role("button", name="Close", exact=True).click()
        await expect(judge.locator("#console")).to_be_hidden()
        await expect(drawer).to_have_attribute("aria-expanded", "false")
        await drawer.click()
        await expect(judge.locator("#console")).to_be_visible()
        await expect(judge.locator("#phase-controls")).to_be_visible()
        await expect(judge.locator("#queue li")).to_have_count(1)
        await judge.keyboard.press("Escape")
        await expect(judge.locator("#console")).to_be_hidden()
        await expect(drawer).to_be_focused()

        # After an adjournment nothing follows.
        await judge.set_viewport_size({"width": 1280, "height": 800})
        await judge.locator('[data-phase="adjourned"]').click()
        await confirm(judge)
        await expect(judge.locator("#phase")).to_have_text("Adjourned")
        await expect_enabled_phases(judge, [])
        assert await enabled_phases(judge) == []
        # and the buttons follow: no hand to raise, no exhibit to show
        await expect(judge.locator("#hand")).to_be_disabled()
        await expect(judge.locator("#screen")).to_be_disabled()
