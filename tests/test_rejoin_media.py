"""A participant whose connection drops comes back with the same link: no second pass
through the lobby, the same room, and media flowing again both ways."""

from __future__ import annotations

import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from signaling.client import HearingClient
from tests.conftest import RunningServer
from tests.test_court_rules_media import forwarded_to, sitting_court
from tests.test_hearing_media import decodes
from web.keys import SIGNALING

pytestmark = pytest.mark.media


async def test_a_dropped_participant_rejoins_in_the_same_room_without_the_lobby(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hid, judge, [counsel, accused] = await sitting_court(
        server, clients, ("defence_counsel", "Counsel Ha"), ("accused", "Mr Doe")
    )
    consultation = {"kind": "consultation", "id": "c1"}
    for client in (counsel, accused):
        await judge.request(
            "move", {"participant_id": client.participant["id"], "room": consultation}
        )
    await counsel.publish(VideoStreamTrack(), AudioStreamTrack())
    await accused.publish(VideoStreamTrack(), AudioStreamTrack())
    await decodes(await accused.wait_for_track(counsel.participant["id"], "video"))

    token = accused._token
    await accused.close()  # the connection goes without a `leave`: the server sees a drop
    session = server.app[SIGNALING].session(hid)
    assert session is not None
    await judge.wait_until(
        lambda: accused.participant["id"] not in {p["id"] for p in judge.roster}, 10, "the drop"
    )

    back = HearingClient(server.base_url, token)
    clients.append(back)
    await back.connect()
    assert back.admission == "admitted"  # not back in the lobby
    assert accused.participant["id"] not in {p["id"] for p in judge.lobby}
    seat_again = session.seat_of(session.members[back.participant["id"]].participant)
    assert seat_again is not None and (seat_again.room.kind.value, seat_again.room.id) == (
        "consultation",
        "c1",
    )
    await back.publish(VideoStreamTrack(), AudioStreamTrack())
    await decodes(await back.wait_for_track(counsel.participant["id"], "video"))
    await decodes(await counsel.wait_for_track(back.participant["id"], "video"))
    assert forwarded_to(session, judge) == set()  # the consultation stays private
