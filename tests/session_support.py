"""A hearing in session with everyone publishing, from join tokens: what the media tests of
the metrics and of the installed wheel start from."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from signaling.client import HearingClient


async def in_session_publishing(
    base_url: str, tokens: Sequence[str], clients: list[HearingClient]
) -> list[HearingClient]:
    """Connect the presiding judge (the first token) and the others, admit them from the
    lobby, open the session and have everyone publish test video and audio; each client is
    added to `clients` (the caller closes them) as soon as it exists."""
    joined = []
    for token in tokens:
        client = HearingClient(base_url, token)
        clients.append(client)
        await client.connect()
        joined.append(client)
    judge = joined[0]
    for party in joined[1:]:
        await judge.wait_for_waiting(party.participant["id"])
        await judge.admit(party.participant["id"])
        await party.wait_admitted()
    await judge.request("phase", {"phase": "in_session"})
    for client in joined:
        await client.publish(VideoStreamTrack(), AudioStreamTrack())
    return joined


async def decodes_video_from(viewer: HearingClient, publisher: HearingClient, frames: int) -> None:
    """The viewer receives the publisher's video and decodes `frames` frames of it."""
    video = await viewer.wait_for_track(publisher.participant["id"], "video")
    for _ in range(frames):
        assert await asyncio.wait_for(video.track.recv(), timeout=15) is not None
