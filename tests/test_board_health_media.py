"""The board's media health with real media: two aiortc peers publish test video and audio
over loopback (the loopback-only namespace), and the board counts them `live`; the plaintiff,
whom the court cannot sit without, leaves, and the board raises the alert."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from security import AuditEntry, Secret
from security.audit_record import parse_line
from signaling.client import BoardClient, HearingClient
from tests.conftest import RunningServer, running_server
from tests.session_support import in_session_publishing
from tests.test_board import ADMIN_KEY
from web.keys import AUDIT, SIGNALING
from web.report import summarize


async def eventually(condition: Callable[[], bool], within: float = 20) -> None:
    for _ in range(int(within / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("never happened")


pytestmark = pytest.mark.media


@pytest.fixture
async def court(tmp_path: Path) -> AsyncIterator[RunningServer]:
    key = Secret(ADMIN_KEY.encode())
    async with running_server(tmp_path / "data", court_admin_key=key) as running:
        yield running


async def test_people_whose_media_arrives_are_live_and_a_lost_party_is_an_alert(
    court: RunningServer, clients: list[HearingClient]
) -> None:
    board = BoardClient(court.base_url, key=ADMIN_KEY)
    try:
        await board.connect()
        hid = (await court.create_hearing())["id"]
        tokens = [
            (await court.issue_token(hid, role, name))["token"]
            for role, name in (("presiding_judge", "Judge Le"), ("plaintiff", "Ms Nguyen"))
        ]
        _judge, party = await in_session_publishing(court.base_url, tokens, clients)

        def health(board: BoardClient) -> dict[str, int] | None:
            row = board.row(hid)
            return None if row is None else dict(row["health"])

        await board.wait_for(lambda b: (health(b) or {}).get("live") == 2, "both live", 20)
        row = board.row(hid)
        assert row is not None and row["alerts"] == [] and row["phase"] == "in_session"

        await party.close()
        alerted = await board.wait_for(
            lambda b: (r := b.row(hid)) is not None and "required_without_media" in r["alerts"],
            "the plaintiff gone",
        )
        assert alerted and health(board) == {
            "live": 1,
            "weak": 0,
            "frozen": 0,
            "no_media": 0,
            "reconnecting": 0,
        }
    finally:
        await board.close()


async def test_a_hearing_that_ends_notes_how_long_its_media_was_live_for_the_day_report(
    court: RunningServer, clients: list[HearingClient]
) -> None:
    hid = (await court.create_hearing())["id"]
    tokens = [
        (await court.issue_token(hid, role, name))["token"]
        for role, name in (("presiding_judge", "Judge Le"), ("plaintiff", "Ms Nguyen"))
    ]
    judge, party = await in_session_publishing(court.base_url, tokens, clients)
    # someone in the hearing who sends nothing: no camera or microphone of theirs counts
    silent = HearingClient(
        court.base_url, (await court.issue_token(hid, "respondent", "Mr Tran"))["token"]
    )
    clients.append(silent)
    await silent.connect()
    await judge.wait_for_waiting(silent.participant["id"])
    await judge.admit(silent.participant["id"])
    await silent.wait_admitted()
    session = court.app[SIGNALING].session(hid)
    assert session is not None
    publishers = {judge.participant["id"], party.participant["id"]}
    await eventually(
        lambda: all(session.members[p].health.get("video") == "live" for p in publishers)
    )
    await asyncio.sleep(3)  # three seconds of two live cameras and microphones
    await judge.request("end_hearing")

    entries = [parse_line(line) for line in court.app[AUDIT].path(hid).read_bytes().splitlines()]
    notes = [e for e in entries if isinstance(e, AuditEntry) and e.action == "media_quality"]
    assert notes, "no media_quality entry"
    assert all("no_media" not in dict(e.details) for e in notes)  # the respondent sent nothing
    live = sum(int(dict(e.details).get("live", 0)) for e in notes) / 1000
    assert live >= 4 * 2.5  # four streams, most of three seconds and more
    day = summarize(hid, [e for e in entries if isinstance(e, AuditEntry)], 0, 2**62)
    assert day is not None and day.live_share is not None and day.live_share > 0.5
