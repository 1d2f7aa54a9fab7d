"""The board's media health with real media: two aiortc peers publish test video and audio
over loopback (the loopback-only namespace), and the board counts them `live`; the plaintiff,
whom the court cannot sit without, leaves, and the board raises the alert."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from security import Secret
from signaling.client import BoardClient, HearingClient
from tests.conftest import RunningServer, running_server
from tests.session_support import in_session_publishing
from tests.test_board import ADMIN_KEY

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
