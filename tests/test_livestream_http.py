"""The livestream through the real server, without WebRTC media: the judge's orders and who may
give them, what every page is told, the public routes (the playlist only after the delay,
segments only once published, cache headers for a CDN), the docket and the viewer page."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hearing import Hearing, HearingType
from signaling.client import HearingClient
from tests.conftest import RunningServer, running_server
from tests.livestream_support import decode_segment
from tests.test_signaling import enter
from web.keys import AUDIT, LIVESTREAMS
from web.pages import render_docket

DELAY = 2.0
SMALL = {
    "livestream_delay": DELAY,
    "livestream_size": (160, 90),
    "livestream_fps": 10,
    "livestream_preset": "ultrafast",
}
COURT_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the default ECOURT_TIME_ZONE
TODAY = datetime.now(COURT_ZONE).replace(hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture
async def live_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path / "data", **SMALL) as running:
        yield running


async def public_hearing(server: RunningServer, **overrides: Any) -> str:
    fields = {"public": True, "scheduled_at": TODAY.isoformat()} | overrides
    created = await server.create_hearing(**fields)
    return str(created["id"])


async def get(server: RunningServer, path: str) -> tuple[int, dict[str, str], bytes]:
    async with server.session.get(f"{server.base_url}{path}") as response:
        return response.status, dict(response.headers), await response.read()


async def until(probe: Callable[[], bool], what: str, within: float = 10.0) -> None:
    for _ in range(int(within / 0.05)):
        if probe():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not within {within} s")


def audit_actions(server: RunningServer, hearing_id: str) -> list[tuple[str, str]]:
    lines = server.app[AUDIT].path(hearing_id).read_text().splitlines()
    entries = map(json.loads, lines)
    return [(e["action"], e["result"]) for e in entries if "action" in e]  # not checkpoints


async def test_only_the_presiding_judge_opens_closes_or_cuts_and_bad_orders_are_refused(
    live_server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing_id = await public_hearing(live_server)
    judge = await enter(live_server, clients, hearing_id, "presiding_judge")
    clerk = await enter(live_server, clients, hearing_id, "clerk")
    await judge.request("phase", {"phase": "in_session"})
    for action in ("open", "close", "cut"):
        ack = await clerk.emit_raw("livestream", {"action": action})
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden", ack
    for payload in ({"action": "start"}, {}, {"action": "open", "extra": 1}, "open"):
        ack = await judge.emit_raw("livestream", payload)
        assert ack["error"]["code"] == "bad_request", (payload, ack)
    ack = await judge.emit_raw("livestream", {"action": "cut"})
    assert ack["error"]["code"] == "livestream_forbidden"  # nothing was ever opened
    assert ("refused", "forbidden") in audit_actions(live_server, hearing_id)
    assert live_server.app[LIVESTREAMS].get(hearing_id) is not None
    assert (await get(live_server, f"/live/{hearing_id}/index.m3u8"))[0] == 404


@pytest.mark.parametrize(
    "overrides", [{"public": False}, {"type": "conciliation", "public": False}]
)
async def test_a_hearing_that_is_not_public_is_never_streamed(
    live_server: RunningServer, clients: list[HearingClient], overrides: dict[str, Any]
) -> None:
    hearing_id = await public_hearing(live_server, **overrides)
    judge = await enter(live_server, clients, hearing_id, "presiding_judge")
    await judge.request("phase", {"phase": "in_session"})
    ack = await judge.emit_raw("livestream", {"action": "open"})
    assert ack["ok"] is False and ack["error"]["code"] == "livestream_forbidden"
    assert judge.state == {} or judge.state["livestream"]["state"] == "closed"


async def test_the_stream_opens_only_in_public_session(
    live_server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing_id = await public_hearing(live_server)
    judge = await enter(live_server, clients, hearing_id, "presiding_judge")
    ack = await judge.emit_raw("livestream", {"action": "open"})
    assert ack["error"]["code"] == "livestream_forbidden"  # scheduled: not sitting
    await judge.request("phase", {"phase": "in_camera"})
    ack = await judge.emit_raw("livestream", {"action": "open"})
    assert ack["error"]["code"] == "livestream_forbidden"
    assert "in_camera" in ack["error"]["message"]


async def test_the_judge_opens_the_stream_and_the_public_gets_it_only_after_the_delay(
    live_server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing_id = await public_hearing(live_server)
    judge = await enter(live_server, clients, hearing_id, "presiding_judge")
    party = await enter(live_server, clients, hearing_id, "plaintiff")
    await judge.wait_for_waiting(party.participant["id"])
    await judge.admit(party.participant["id"])
    await party.wait_admitted()
    assert party.state == {}
    await judge.request("phase", {"phase": "in_session"})
    opened_at = asyncio.get_running_loop().time()  # before the order: the stream starts after
    ack = await judge.request("livestream", {"action": "open"})
    assert ack["livestream"] == {"state": "live", "delay": DELAY}
    await party.wait_until(
        lambda: party.state.get("livestream", {}).get("state") == "live", 5, "the live state"
    )
    playlist = f"/live/{hearing_id}/index.m3u8"
    status, headers, _ = await get(live_server, playlist)
    assert status == 404 and headers["Cache-Control"] == "public, max-age=1"

    # the first 2 s segment is complete at about 2 s, then waits DELAY seconds
    text = ""
    while asyncio.get_running_loop().time() - opened_at < 15:
        status, headers, body = await get(live_server, playlist)
        if status == 200:
            text = body.decode()
            break
        await asyncio.sleep(0.1)
    waited = asyncio.get_running_loop().time() - opened_at
    assert text.startswith("#EXTM3U"), "no playlist within 15 s"
    assert waited >= 2.0 + DELAY - 0.3, waited
    assert headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
    assert headers["Cache-Control"] == "public, max-age=1"
    assert headers["Access-Control-Allow-Origin"] == "*"
    [name] = re.findall(r"^([A-Za-z0-9_-]{24})\.ts$", text, re.M)
    status, headers, data = await get(live_server, f"/live/{hearing_id}/{name}.ts")
    assert status == 200 and headers["Content-Type"] == "video/mp2t"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    decoded = decode_segment(data)
    assert decoded.video_span == pytest.approx(1.9, abs=0.05)  # 20 pictures at 10 fps
    assert decoded.audio_seconds == pytest.approx(2.0, abs=0.06)

    # nothing else can be fetched: not a waiting segment, not a guess, not a path
    stream = live_server.app[LIVESTREAMS].get(hearing_id)
    assert stream is not None
    before = set(stream.delay_line.pending_names)
    await until(lambda: bool(set(stream.delay_line.pending_names) - before), "a new segment")
    [fresh] = set(stream.delay_line.pending_names) - before  # it waits 2 s from now
    waiting = stream.delay_line.pending_names
    for guess in [fresh, "A" * 24, "..%2F..%2Fpages", name[:-1] + "x"]:
        status, _, _ = await get(live_server, f"/live/{hearing_id}/{guess}.ts")
        assert status == 404, guess
    assert (await get(live_server, f"/live/h_unknown123/{name}.ts"))[0] == 404

    # the docket says it is live and links to the viewer page
    status, headers, body = await get(live_server, "/docket")
    assert headers["Cache-Control"] == "public, max-age=2"
    assert f'href="/watch/{hearing_id}">Live: watch</a>' in body.decode()
    status, headers, body = await get(live_server, f"/watch/{hearing_id}")
    assert status == 200 and headers["Cache-Control"] == "public, max-age=300"
    assert "worker-src 'self' blob:" in headers["Content-Security-Policy"]
    assert b"/static/vendor/hls.min.js" in body and b"<script>" not in body

    # closing: what waits still goes out, then a slate and the end of the playlist
    ack = await judge.request("livestream", {"action": "close"})
    assert ack["livestream"]["state"] == "closed"

    async def ended() -> bool:
        _, _, body = await get(live_server, playlist)
        return body.decode().endswith("#EXT-X-ENDLIST\n")

    for _ in range(100):
        if await ended():
            break
        await asyncio.sleep(0.1)
    assert await ended()
    assert all(stream.segment(n) is not None for n in waiting), "a closed stream drains"
    actions = [a for a, _ in audit_actions(live_server, hearing_id)]
    assert actions.index("livestream_opened") < actions.index("livestream_closed")


async def test_a_cut_drops_the_delay_line_and_the_playlist_ends_on_the_slate(
    live_server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing_id = await public_hearing(live_server)
    judge = await enter(live_server, clients, hearing_id, "presiding_judge")
    await judge.request("phase", {"phase": "in_session"})
    await judge.request("livestream", {"action": "open"})
    stream = live_server.app[LIVESTREAMS].get(hearing_id)
    assert stream is not None
    await until(lambda: bool(stream.delay_line.pending_names), "a segment in the delay line")
    waiting = stream.delay_line.pending_names
    ack = await judge.request("livestream", {"action": "cut"})
    assert ack["livestream"]["state"] == "cut"
    assert (await judge.request("livestream", {"action": "cut"}))["livestream"]["state"] == "cut"
    await until(lambda: stream.delay_line.ended, "the end of the playlist")
    status, _, body = await get(live_server, f"/live/{hearing_id}/index.m3u8")
    text = body.decode()
    assert status == 200 and text.endswith("#EXT-X-ENDLIST\n")
    assert "#EXT-X-DISCONTINUITY" in text
    for name in waiting:
        assert (await get(live_server, f"/live/{hearing_id}/{name}.ts"))[0] == 404
    [(_, slate, media)] = stream.delay_line.listed()[:1]
    assert not media and slate.video_frames > 0
    assert ("livestream_cut", "ok") in audit_actions(live_server, hearing_id)
    # open again: a new stream in the same playlist
    ack = await judge.request("livestream", {"action": "open"})
    assert ack["livestream"]["state"] == "live"


async def test_the_docket_lists_todays_public_hearings_with_their_status(
    live_server: RunningServer, clients: list[HearingClient]
) -> None:
    today = await public_hearing(live_server, case_number="TODAY/1")
    await public_hearing(
        live_server, case_number="TOMORROW/1", scheduled_at=(TODAY + timedelta(days=2)).isoformat()
    )
    await public_hearing(live_server, case_number="SEALED/1", public=False)
    ended = await public_hearing(live_server, case_number="ENDED/1")
    judge = await enter(live_server, clients, ended, "presiding_judge")
    await judge.request("end_hearing")
    sitting = await public_hearing(live_server, case_number="SITTING/1")
    bench = await enter(live_server, clients, sitting, "presiding_judge")
    await bench.request("phase", {"phase": "in_session"})
    status, _, body = await get(live_server, "/docket")
    text = body.decode()
    assert status == 200
    assert "TODAY/1" in text and "ENDED/1" in text
    assert "TOMORROW/1" not in text and "SEALED/1" not in text
    assert re.search(rf'data-hearing-id="{today}".*data-status="scheduled">Scheduled<', text)
    assert re.search(rf'data-hearing-id="{ended}".*data-status="ended">Ended<', text)
    # the court sits: the docket says so, not "Scheduled"
    assert re.search(rf'data-hearing-id="{sitting}".*data-status="sitting">In session<', text)


async def test_the_front_door_is_the_docket(live_server: RunningServer) -> None:
    async with live_server.session.get(
        f"{live_server.base_url}/", allow_redirects=False
    ) as response:
        assert response.status == 302
        assert response.headers["Location"] == "/docket"


def test_the_docket_shows_times_in_the_courts_time_zone() -> None:
    hearing = Hearing(
        id="h_zone_test",
        type=HearingType.TRIAL,
        case_number="HS/1",
        title="T",
        scheduled_at=datetime(2026, 11, 29, 2, 0, tzinfo=UTC),
        public=True,
        profile="default",
    )
    now = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
    shown = render_docket([hearing], now=now, lang="vi", zone=COURT_ZONE)
    assert "29/11/2026, 09:00" in shown and "UTC+7" in shown
    assert "02:00" not in shown


def test_the_docket_page_says_so_when_nothing_is_on_today() -> None:
    assert "No public hearings are scheduled today." in render_docket([])


async def test_a_cut_after_a_close_still_drops_what_waits_in_the_delay_line(
    live_server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing_id = await public_hearing(live_server)
    judge = await enter(live_server, clients, hearing_id, "presiding_judge")
    await judge.request("phase", {"phase": "in_session"})
    await judge.request("livestream", {"action": "open"})
    stream = live_server.app[LIVESTREAMS].get(hearing_id)
    assert stream is not None
    await until(lambda: bool(stream.delay_line.pending_names), "a segment in the delay line")
    await judge.request("phase", {"phase": "recess"})  # stops the stream; the line drains...
    assert judge.state["livestream"]["state"] == "closed"
    waiting = set(stream.delay_line.pending_names)
    ack = await judge.request("livestream", {"action": "cut"})  # ...unless the judge cuts
    assert ack["livestream"]["state"] == "cut"
    dropped = waiting - {name for name, _, _ in stream.delay_line.listed()}
    assert dropped
    await until(lambda: stream.delay_line.ended, "the end of the playlist")
    assert all(stream.segment(name) is None for name in dropped)
    assert all(not media for _, _, media in stream.delay_line.listed())  # only the slate
    actions = audit_actions(live_server, hearing_id)
    assert ("livestream_closed", "ok") in actions and ("livestream_cut", "ok") in actions
