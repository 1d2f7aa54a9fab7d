"""Headless Chromium joins through the real pages and receives decoded video through the SFU.

The last tests check the pages' HTTP side (headers, escaping, static files) without a browser.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, async_playwright, expect
from yarl import URL

from tests.browser_support import (
    HAS_CHROMIUM,
    chromium,
    confirm,
    eventually,
    first_page,
    frames_decoded,
    join_hearing,
    media_stats,
    open_orders,
    tile_video,
    wait_for_decoded_video,
    wait_for_state,
)
from tests.conftest import RunningServer, running_server
from web.keys import SIGNALING

JUDGE = ("presiding_judge", "Ada Marsh", "Presiding judge")
PARTY = ("plaintiff", "Ben Okafor", "Plaintiff")
CASE = {"case_number": "CV-2025/0142", "title": "Marsh v. Okafor", "public": True}


def inbound_video(stats: dict[str, Any], publisher_id: str) -> list[dict[str, Any]]:
    mids = {t["mid"] for t in stats["tracks"] if t["participant_id"] == publisher_id}
    return [v for v in stats["subscribe"]["video"] if v["mid"] in mids]


async def sees_video_of(page: Page, who: str, other_id: str, other: tuple[str, str, str]) -> Any:
    """Wait for `page` to decode and show the other participant; return its inbound video."""
    first = await wait_for_decoded_video(page, who, other_id, at_least=1, within=30)
    # Frames keep coming, not just one keyframe.
    more = frames_decoded(first, other_id) + 30
    flowing = await wait_for_decoded_video(page, who, other_id, at_least=more, within=20)

    async def shown() -> tuple[bool, object]:
        video = await tile_video(page, other_id)
        return video.get("width", 0) > 0 and video.get("frames", 0) > 0, video

    await eventually(shown, f"the {who} page showing the other participant's video tile", 15)
    plate = page.locator(f'.tile[data-participant-id="{other_id}"] .plate')
    await expect(plate.locator(".name")).to_have_text(other[1])
    await expect(plate.locator(".role")).to_have_text(other[2])
    await expect(plate).to_be_visible()
    return inbound_video(flowing, other_id)


@pytest.mark.media
@pytest.mark.browser
@pytest.mark.skipif(not HAS_CHROMIUM, reason="needs Debian's chromium")
async def test_judge_admits_party_and_both_see_each_other(
    tmp_path: Path, server: RunningServer
) -> None:
    async with async_playwright() as playwright:
        hearing = await server.create_hearing(**CASE)
        judge_token = await server.issue_token(hearing["id"], JUDGE[0], JUDGE[1])
        party_token = await server.issue_token(hearing["id"], PARTY[0], PARTY[1])
        judge_id, party_id = judge_token["participant_id"], party_token["participant_id"]
        async with (
            chromium(playwright, tmp_path / "judge-profile") as judge_browser,
            chromium(playwright, tmp_path / "party-profile") as party_browser,
        ):
            judge = await first_page(judge_browser)
            party = await first_page(party_browser)
            try:
                await join_hearing(judge, judge_token["join_url"])
                await wait_for_state(judge, "courtroom", "judge")
                await expect(judge.locator("#hearing-title")).to_have_text(hearing["title"])

                await join_hearing(party, party_token["join_url"])
                await wait_for_state(party, "lobby", "party")
                await expect(
                    party.get_by_text("Waiting for the clerk to admit you")
                ).to_be_visible()

                admit = judge.get_by_role("button", name=f"Admit {PARTY[1]} ({PARTY[2]})")
                await expect(admit).to_be_visible(timeout=10_000)
                await judge.screenshot(path=str(tmp_path / "judge-lobby.png"))
                await party.screenshot(path=str(tmp_path / "party-lobby.png"))
                await admit.click()
                await wait_for_state(party, "courtroom", "party")
                await expect(party.locator("#phase")).to_have_text("The session has not opened yet")
                await judge.get_by_role("button", name="Open session").click()
                await expect(party.locator("#phase")).to_have_text("In session")
                await expect(judge.get_by_role("button", name="Open session")).to_be_disabled()
                # Going into session starts the recording, and every page says so.
                await expect(party.locator("#recording-state")).to_have_text("● Recorded")
                await judge.get_by_role("button", name="Pause recording").click()
                await expect(party.locator("#recording-state")).to_have_text("Recording paused")
                await judge.get_by_role("button", name="Start recording").click()
                await expect(party.locator("#recording-state")).to_have_text("● Recorded")

                seen_by_judge = await sees_video_of(judge, "judge", party_id, PARTY)
                seen_by_party = await sees_video_of(party, "party", judge_id, JUDGE)
                print(f"judge page inbound video: {seen_by_judge}")
                print(f"party page inbound video: {seen_by_party}")
                # Chromium negotiated AES-GCM, so every frame it decoded was protected by the
                # forwarding path's own SRTP (media/srtp.py), not by libsrtp.
                for page in (judge, party):
                    cipher = (await media_stats(page))["subscribe"]["srtpCipher"]
                    assert cipher in ("SRTP_AEAD_AES_256_GCM", "SRTP_AEAD_AES_128_GCM"), cipher
                # The datagram guard drops none of Chromium's media, RTCP or STUN; only the
                # first ClientHello of a subscribe leg, sent before the server has the answer
                # (Chromium sends it again about 50 ms later).
                session = server.app[SIGNALING].session(hearing["id"])
                assert session is not None
                for member in session.members.values():
                    for leg in (member.publish, member.subscribe):
                        assert leg is not None
                        assert set(leg.drops.as_dict()) <= {"unvalidated_source"}, leg.drops

                # The judge shows an exhibit: the party gets a tile of its own for the screen.
                await judge.get_by_role("button", name="Share screen", exact=True).click()
                await expect(judge.get_by_role("button", name="Stop sharing")).to_be_visible()

                async def exhibit_shown() -> tuple[bool, object]:
                    video = await tile_video(party, f"{judge_id}:screen")
                    return video.get("width", 0) > 0 and video.get("frames", 0) > 0, video

                await eventually(exhibit_shown, "the party page showing the judge's screen", 20)
                plate = party.locator(f'.tile[data-participant-id="{judge_id}:screen"] .name')
                await expect(plate).to_have_text(f"{JUDGE[1]}: shared screen")
                await judge.get_by_role("button", name="Stop sharing").click()
                await expect(
                    party.locator(f'.tile[data-participant-id="{judge_id}:screen"]')
                ).to_have_count(0, timeout=10_000)
                await sees_video_of(party, "party (after the exhibit)", judge_id, JUDGE)
            finally:
                for name, page in (("judge", judge), ("party", party)):
                    path = tmp_path / f"{name}.png"
                    await page.screenshot(path=str(path), full_page=True)
                    print(f"screenshot: {path}")

            # The party's connection drops and comes back: no second pass through the lobby,
            # and the judge decodes the party's new publication.
            await party.evaluate("() => window.ecourt.socket.io.engine.close()")

            async def welcomed_again() -> tuple[bool, object]:
                seen = await party.evaluate(
                    "() => [window.ecourt.welcomes, window.ecourt.admission, window.ecourt.state]"
                )
                return seen == [2, "admitted", "courtroom"], seen

            await eventually(welcomed_again, "the party rejoining, admitted, after a reconnect", 15)
            again = await sees_video_of(judge, "judge (after reconnect)", party_id, PARTY)
            back = await sees_video_of(party, "party (after reconnect)", judge_id, JUDGE)
            print(f"after the party reconnected: judge page {again}, party page {back}")

            # Muting reaches the other side through the roster.
            await party.get_by_role("button", name="Mute microphone").click()
            party_tile = judge.locator(f'.tile[data-participant-id="{party_id}"]')
            await expect(party_tile.locator(".muted-flag")).to_have_text("Microphone off")

            # The party raises a hand; the judge sees it, mutes the party, then asks to unmute.
            await party.get_by_role("button", name="Raise hand").click()
            roster_entry = judge.locator(f'#roster [data-participant-id="{party_id}"]')
            await expect(roster_entry.locator(".muted-flag")).to_contain_text("Hand raised")
            await open_orders(judge, PARTY[1])
            await judge.get_by_role("button", name=f"Mute: {PARTY[1]}").click()
            await expect(party.locator("#status")).to_contain_text("The court has muted")
            await expect(roster_entry.locator(".muted-flag")).to_contain_text("Muted by the court")
            # The party's own button follows the court's order: the court unmutes, not them.
            await expect(party.locator("#mic")).to_have_text("Microphone muted by the court")
            await expect(party.locator("#mic")).to_be_disabled()
            await judge.get_by_role("button", name=f"Ask to unmute: {PARTY[1]}").click()
            await expect(party.locator("#status")).to_contain_text("asks you to unmute")
            await expect(party.locator("#mic")).to_have_text("Unmute microphone")
            await expect(party.locator("#mic")).to_be_enabled()

            # Leaving: the party sees so, and the judge's page drops the party's tile.
            await party.get_by_role("button", name="Leave hearing").click()
            await confirm(party, "Leave the hearing?")
            await expect(party.get_by_role("heading", name="You have left")).to_be_visible()
            await expect(party_tile).to_have_count(0, timeout=10_000)
            await expect(
                judge.locator(f'#roster [data-participant-id="{party_id}"]')
            ).to_have_count(0)


@pytest.mark.media
@pytest.mark.browser
@pytest.mark.skipif(not HAS_CHROMIUM, reason="needs Debian's chromium")
async def test_a_denied_witness_is_told_so_and_cannot_come_back(
    tmp_path: Path, server: RunningServer
) -> None:
    async with async_playwright() as playwright:
        hearing = await server.create_hearing(**CASE)
        judge_token = await server.issue_token(hearing["id"], "clerk", "Cora Lind")
        witness_token = await server.issue_token(hearing["id"], "witness", "Dan Webb")
        async with chromium(playwright, tmp_path / "profile") as browser:
            clerk = await first_page(browser)
            witness = await browser.new_page()
            await join_hearing(clerk, judge_token["join_url"])
            await wait_for_state(clerk, "courtroom", "clerk")
            await join_hearing(witness, witness_token["join_url"])
            await wait_for_state(witness, "lobby", "witness")

            await clerk.get_by_role("button", name="Deny Dan Webb (Witness)").click()
            await expect(witness.get_by_text("The court has not admitted you")).to_be_visible()
            await expect(clerk.locator("#queue-empty")).to_be_visible()

            # Coming back with the same link is refused on the first page, in words (no code),
            # with the court's contact, and no camera is opened.
            await witness.reload()
            await wait_for_state(witness, "link_refused", "witness")
            refused = witness.locator("#link-refused")
            await expect(refused).to_have_attribute("data-code", "denied")
            await expect(refused).to_contain_text("The court has not admitted you")
            await expect(refused).to_contain_text("contact the court that sent you the link")
            await expect(witness.locator("#continue")).to_be_hidden()
            assert "(denied)" not in await witness.locator("body").inner_text()

            # A damaged link is refused there too.
            await witness.goto(witness_token["join_url"][:-4] + "AAAA")
            await wait_for_state(witness, "link_refused", "witness")
            await expect(refused).to_have_attribute("data-code", "token_forged")
            await expect(refused).to_contain_text("This join link is not valid.")


# -- the pages over plain HTTP -----------------------------------------------------------------


async def test_join_page_is_never_cached_and_allows_only_its_own_scripts(
    server: RunningServer,
) -> None:
    async with server.session.get(f"{server.base_url}/join/h_abcdefgh") as response:
        assert response.status == 200
        body = await response.text()
        headers = response.headers
    assert headers["Cache-Control"] == "no-store"
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "<script>" not in body and "<script " in body  # only external scripts


async def test_the_join_page_names_the_courts_contact_escaped(tmp_path: Path) -> None:
    contact = 'Phòng Hành chính tư pháp, 028 3829 0000 <b>"x"</b>'
    async with running_server(tmp_path / "data", court_contact=contact) as server:
        response = await server.session.get(f"{server.base_url}/join/h_abcdefgh")
        body = await response.text()
    expected = '<meta name="court-contact" content="Phòng Hành chính tư pháp, 028 3829 0000 '
    assert expected + '&lt;b&gt;&quot;x&quot;&lt;/b&gt;">' in body
    assert "<b>" not in body


async def test_docket_lists_public_hearings_only_and_escapes_them(server: RunningServer) -> None:
    court = ZoneInfo("Asia/Ho_Chi_Minh")  # the court's zone (ECOURT_TIME_ZONE's default)
    today = datetime.now(court).replace(hour=12).isoformat()  # the docket lists today's
    await server.create_hearing(
        title='Doe v. <script>alert("x")</script>', public=True, scheduled_at=today
    )
    await server.create_hearing(title="Sealed family matter", public=False, scheduled_at=today)
    async with server.session.get(f"{server.base_url}/docket") as response:
        assert response.status == 200
        body = await response.text()
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "Doe v. &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "<script>alert" not in body
    assert "Sealed family matter" not in body


@pytest.mark.parametrize(
    "path", ["/static/../pages.py", "/static/%2e%2e/pages.py", "/static/..%2fapp.py"]
)
async def test_static_files_stay_inside_the_static_folder(server: RunningServer, path: str) -> None:
    url = URL(f"{server.base_url}{path}", encoded=True)  # sent as written, not normalised
    async with server.session.get(url) as response:
        body = await response.text()
    assert response.status in (403, 404)
    assert "add_routes" not in body and "create_app" not in body


async def test_static_client_is_served_with_a_script_type(server: RunningServer) -> None:
    async with server.session.get(f"{server.base_url}/static/hearing.js") as response:
        assert response.status == 200
        assert response.content_type in ("application/javascript", "text/javascript")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
