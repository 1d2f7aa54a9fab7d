"""A recorded hearing with real aiortc participants: three publishers, recorded for 20 s,
then verified offline and exported through the API into files that play, with nothing
decoded or encoded on the server's side."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from av import VideoFrame

from recording.manifest import read_signed
from recording.verify import verify_recording
from signaling.client import HearingClient
from tests.conftest import RunningServer
from tests.recording_support import probe
from tests.test_hearing_media import join, thread_cpu_ticks
from web.keys import AUDIT, ENGINE, RECORDINGS, SIGNALING

pytestmark = pytest.mark.media

SECONDS = 20


class SmallVideo(VideoStreamTrack):
    """aiortc's test pattern at 160x120: the clients' own encoders and decoders stay cheap,
    so the 2-core machine measures the server, and it honours keyframe requests."""

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=160, height=120)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.pts = pts
        frame.time_base = time_base
        return frame


async def first_packet_times(
    server: RunningServer, hearing_id: str, count: int
) -> dict[str, float]:
    """When the server first received each published track (polled every 10 ms)."""
    session = server.app[SIGNALING].session(hearing_id)
    assert session is not None
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 30
    while len(seen) < count and time.monotonic() < deadline:
        for member in session.members.values():
            for track in member.tracks:
                key = f"{member.participant.id}/{track.kind}"
                if key not in seen and track.packets_received:
                    seen[key] = time.monotonic()  # each track's own first packet
        await asyncio.sleep(0.01)
    assert len(seen) == count, seen
    return seen


async def test_three_participants_recorded_for_20_seconds_verify_and_export_as_sent(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    judge = await join(server, clients, hid, "presiding_judge", "Judge Le")
    parties = [
        await join(server, clients, hid, "plaintiff", "Ms Nguyen"),
        await join(server, clients, hid, "respondent", "Mr Tran"),
    ]
    for party in parties:
        await judge.wait_for_waiting(party.participant["id"])
        await judge.admit(party.participant["id"])
        await party.wait_admitted()
    await judge.request("phase", {"phase": "in_session"})  # the recording starts
    everyone = [judge, *parties]
    for client in everyone:
        await client.publish(SmallVideo(), AudioStreamTrack())
    started = await first_packet_times(server, hid, 6)
    await asyncio.sleep(SECONDS)
    stopped = time.monotonic()
    decoders = server.app[ENGINE].decoder_thread_ids()
    assert len(decoders) == 6 and [thread_cpu_ticks(t) for t in decoders] == [0] * 6
    await judge.request("end_hearing")

    recordings = server.app[RECORDINGS]
    [listed] = recordings.of_hearing(hid)
    root = recordings.directory / listed["id"]
    audit = server.app[AUDIT]
    report = verify_recording(
        root,
        keyring=recordings.keyring,
        trusted_keys=frozenset({recordings.signing_key.public_key}),
        audit_log=audit.path(hid),
        audit_key=audit.key.public_key,
        custody_log=audit.custody_path(hid),
    )
    assert report.status == "valid", report.summary()
    assert len(listed["tracks"]) == 6
    clock_map = read_signed(root / "manifest.json").manifest.clock_map
    assert any(point.ntp_timestamp for point in clock_map)  # the publishers' sender reports

    for track in listed["tracks"]:
        url = f"{server.base_url}/api/hearings/{hid}/recordings/{listed['id']}/tracks/{track['id']}"
        async with server.session.get(url, headers=server.headers) as response:
            assert response.status == 200
            data = await response.read()
        codec, span, decoded = probe(data)
        assert codec == ("vp8" if track["kind"] == "video" else "opus")
        truth = stopped - started[f"{track['participant_id']}/{track['kind']}"]
        print(f"{track['kind']}: recorded {span:.2f} s of {truth:.2f} s, {decoded} frames decode")
        assert abs(span - truth) <= 0.5, (track["kind"], span, truth)
        assert decoded > span * (25 if track["kind"] == "video" else 45)
    custody = audit.custody_path(hid).read_text().splitlines()
    exports = [line for line in custody if "recording_exported" in line]
    assert len(exports) == 6
