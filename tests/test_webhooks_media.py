"""`recording.sealed` end to end: a hearing recorded with real aiortc peers (in the loopback
namespace), ended, and the case-management system's receiver told, signed, with the hash of
the manifest the recording's directory holds."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from recording.manifest import read_signed
from signaling.client import HearingClient
from tests.conftest import RunningServer
from tests.test_hearing_media import join
from tests.test_webhooks import receiver, register  # noqa: F401 - the receiver fixture
from tests.webhook_support import Receiver
from web.keys import RECORDINGS

pytestmark = pytest.mark.media


async def test_a_sealed_recording_is_told_with_its_manifest_hash(
    server: RunningServer,
    clients: list[HearingClient],
    receiver: Receiver,  # noqa: F811
) -> None:
    registered = await register(server, receiver.url, ["recording.sealed", "hearing.ended"])
    hearing = await server.create_hearing()
    judge = await join(server, clients, hearing["id"], "presiding_judge", "Judge Le")
    await judge.request("phase", {"phase": "in_session"})  # the recording starts
    await judge.publish(VideoStreamTrack(), AudioStreamTrack())
    await asyncio.sleep(3)
    await judge.request("end_hearing")
    await receiver.wait_for("recording.sealed", 1, timeout=30)
    await receiver.wait_for("hearing.ended", 1)
    (sealed,) = [
        r for r in receiver.verified(registered["secret"]) if r.event_type == "recording.sealed"
    ]
    data = json.loads(sealed.body)["data"]
    recordings = server.app[RECORDINGS]
    (listed,) = recordings.of_hearing(hearing["id"])
    manifest = read_signed(recordings.directory / listed["id"] / "manifest.json").manifest
    assert data["recording_id"] == listed["id"] and data["manifest_hash"] == manifest.digest
    assert data["segments"] == len(manifest.segments) >= 1
