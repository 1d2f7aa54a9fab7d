"""The judge's console shows each person's media health (a dot and a word on the roster and
the tile), measured by the server: live, weak, frozen, no media and reconnecting, each made
for real by aiortc parties (a thin camera, a refused camera, a network gone, a leg closed);
and the judge's own page tells them when it is their own connection. Screenshots of it in
both languages go to docs/screenshots/console-health-*.png and own-health-*.png."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from aiortc.mediastreams import AudioStreamTrack
from playwright.async_api import Page, async_playwright, expect

from media._aiortc_hooks import local_ports
from signaling.client import HearingClient
from tests.browser_support import (
    BROWSER_TEST,
    chromium,
    confirm,
    first_page,
    join_hearing,
    open_orders,
    wait_for_state,
)
from tests.conftest import RunningServer
from tests.faults.court import Firewall, SmallVideo
from tests.page_checks import save_screenshots
from web.keys import AUDIT

pytestmark = BROWSER_TEST

SHOWN_WITHIN = 2.0
"""The console shows a state within this of the server's being able to tell it."""


class ThinVideo(SmallVideo):
    """A camera at 2 frames a second: it arrives, but too thin to follow (`weak`)."""

    interval = 0.5


BADGE_JS = """(id) => {
  const badge = document.querySelector(`#roster [data-participant-id="${id}"] .health`);
  return badge ? badge.dataset.health : null;
}"""


async def badge_shows(page: Page, participant_id: str, state: str, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if await page.evaluate(BADGE_JS, participant_id) == state:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    seen = await page.evaluate(BADGE_JS, participant_id)
    raise AssertionError(f"the console never showed {state} for {participant_id} (shows {seen})")


async def test_the_console_shows_every_media_health_state_and_the_judge_their_own(
    tmp_path: Path, heal_server: RunningServer, clients: list[HearingClient]
) -> None:
    server = heal_server
    hearing = await server.create_hearing()
    hid = hearing["id"]
    judge_token = await server.issue_token(hid, "presiding_judge", "Judge Le")
    clerk_token = await server.issue_token(hid, "clerk", "Clerk Pham")
    clerk = HearingClient(server.base_url, clerk_token["token"], watch=None)
    clients.append(clerk)
    await clerk.connect()

    async def party(role: str, name: str, *tracks: object, **options: object) -> HearingClient:
        issued = await server.issue_token(hid, role, name)
        client = HearingClient(server.base_url, issued["token"], watch=None, **options)  # type: ignore[arg-type]
        clients.append(client)
        await client.connect()
        await clerk.wait_for_waiting(client.participant["id"])
        await clerk.admit(client.participant["id"])
        await client.wait_admitted()
        await client.publish(*tracks)  # type: ignore[arg-type]
        return client

    profile = tmp_path / "judge-profile"
    async with async_playwright() as playwright, chromium(playwright, profile) as browser:
        judge = await first_page(browser)
        await join_hearing(judge, judge_token["join_url"])
        await wait_for_state(judge, "courtroom", "judge")
        await judge.locator('#phase-controls button[data-phase="in_session"]').click()
        await clerk.wait_until(lambda: clerk.state.get("phase") == "in_session", 10, "session")

        refused = await party("respondent", "Mr Tran", AudioStreamTrack())  # no camera
        await badge_shows(judge, refused.participant["id"], "no_media", 10)  # generous bound
        live = await party("plaintiff", "Ms Nguyen", SmallVideo(), AudioStreamTrack())
        thin = await party("expert", "Dr Vo", ThinVideo(), AudioStreamTrack())
        gone = await party("party_lawyer", "Ms Do", SmallVideo(), AudioStreamTrack())
        closed = await party(
            "interpreter", "Mr Ly", SmallVideo(), AudioStreamTrack(), heal_media=False
        )
        await badge_shows(judge, live.participant["id"], "live", 10)
        await badge_shows(judge, thin.participant["id"], "weak", 10)
        await badge_shows(judge, gone.participant["id"], "live", 10)
        await badge_shows(judge, closed.participant["id"], "live", 10)

        firewall = Firewall()
        try:
            assert gone._publish_pc is not None
            firewall.silence(local_ports(gone._publish_pc))
            cut_at = time.monotonic()
            await badge_shows(judge, gone.participant["id"], "frozen", 10)
            assert time.monotonic() - cut_at <= 2.0 + SHOWN_WITHIN
            await closed.close_publish_leg()  # the server closes its half: reconnecting
            await badge_shows(judge, closed.participant["id"], "reconnecting", 5)
            await save_screenshots(judge, "console-health")

            # the judge's own sending connection goes (the page's watch is off: it stays so)
            await judge.evaluate("() => window.ecourt.legWatch.close()")
            ports = await judge.evaluate(
                """() => window.ecourt.pcs.publish.getStats().then((stats) => {
                  const ports = [];
                  stats.forEach((e) => { if (e.type === "local-candidate") ports.push(e.port); });
                  return ports;
                })"""
            )
            firewall.silence(ports)
            banner = judge.locator("#own-health")
            await expect(banner).to_have_attribute("data-health", "frozen", timeout=10_000)
            await expect(banner).to_be_visible()
            await save_screenshots(judge, "own-health")
        finally:
            firewall.close()


async def test_the_judge_calls_a_witness_without_a_camera_only_after_confirming_audio_only(
    tmp_path: Path, heal_server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await heal_server.create_hearing()
    hid = hearing["id"]
    judge_token = await heal_server.issue_token(hid, "presiding_judge", "Judge Le")
    witness_token = await heal_server.issue_token(hid, "witness", "Mr Lam")
    witness = HearingClient(heal_server.base_url, witness_token["token"])
    clients.append(witness)
    wid = witness_token["participant_id"]
    async with (
        async_playwright() as playwright,
        chromium(playwright, tmp_path / "judge-profile") as browser,
    ):
        judge = await first_page(browser)
        await join_hearing(judge, judge_token["join_url"])
        await wait_for_state(judge, "courtroom", "judge")
        await witness.connect()
        item = judge.locator(f'#roster [data-participant-id="{wid}"]')
        admit = judge.get_by_role("button", name="Admit Mr Lam (Witness)")
        await expect(admit).to_be_visible(timeout=15_000)
        await admit.click()
        await witness.wait_admitted()
        await witness.publish(AudioStreamTrack())  # the camera refused
        await badge_shows(judge, wid, "no_media", 10)
        await open_orders(judge, "Mr Lam")  # the person's orders are in a menu on their row
        await item.get_by_role("button", name="Call").click()
        await confirm(judge, "Mr Lam")  # "testify by audio only?"
        await expect(item.get_by_role("button", name="Release")).to_be_visible(timeout=10_000)
    entries = heal_server.app[AUDIT].path(hid).read_text().splitlines()
    called = [e for e in map(json.loads, entries) if e.get("action") == "call_witness"]
    assert [e["details"]["audio_only"] for e in called] == [True]
    refused = [json.loads(e) for e in entries if '"witness_without_media"' in e]
    assert len(refused) == 1 and refused[0]["action"] == "refused"
