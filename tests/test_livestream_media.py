"""The public livestream of a hearing with real aiortc participants, through the real server.

Every participant publishes a solid colour and a pure tone of its own, so the stream can be
searched for them after it has been encoded, segmented, delayed and served over HTTP:

1. a public hearing with a protected child witness: the playlist appears only after the
   delay; its segments decode to 2 s of pictures and sound; the witness's colour and tone are
   never in it (while the other participants' are, and the court receives the witness);
2. a cut: nothing from the last delay window is ever served, and the playlist ends;
3. in camera: the stream stops within 1 s of stream time, and nothing said in camera goes out.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamTrack

from recording.livestream.stream import HearingLivestream
from signaling.client import HearingClient
from tests.conftest import RunningServer, running_server
from tests.livestream_support import (
    BLUE,
    GREEN,
    MAGENTA,
    ORANGE,
    RGB,
    TONE_JUDGE,
    TONE_PARTY,
    TONE_WITNESS,
    ColourVideo,
    Decoded,
    ToneAudio,
    colour_pixels,
    decode_segment,
    tone_share,
)
from tests.test_hearing_media import join
from web.keys import LIVESTREAMS, SIGNALING

pytestmark = pytest.mark.media

DELAY = 3.0
SETTINGS = {
    "livestream_delay": DELAY,
    "livestream_size": (320, 180),
    "livestream_fps": 15,
    "livestream_preset": "ultrafast",
}


@pytest.fixture
async def live_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path / "data", **SETTINGS) as running:
        yield running


@dataclass
class Person:
    client: HearingClient
    video: ColourVideo
    audio: ToneAudio

    @property
    def id(self) -> str:
        return str(self.client.participant["id"])


async def court(
    server: RunningServer,
    clients: list[HearingClient],
    cast: list[tuple[str, str, RGB, float]],
    profile: str = "default",
) -> tuple[str, list[Person]]:
    """A public trial in session: the presiding judge first, then the cast admitted; every
    one publishing a colour and a tone, all of it reaching the server."""
    created = await server.create_hearing(
        public=True,
        profile=profile,
        scheduled_at=datetime.now(UTC).isoformat(),
        case_number="01/2026/HS-ST",
        title="State v. Tran",
    )
    hearing_id = created["id"]
    people: list[Person] = []
    for role, name, rgb, frequency in cast:
        client = await join(server, clients, hearing_id, role, name)
        people.append(Person(client, ColourVideo(rgb), ToneAudio(frequency)))
    judge = people[0].client
    for person in people[1:]:
        await judge.wait_for_waiting(person.id)
        await judge.admit(person.id)
        await person.client.wait_admitted()
    await judge.request("phase", {"phase": "in_session"})
    for person in people:
        await person.client.publish(person.video, person.audio)
    session = server.app[SIGNALING].session(hearing_id)
    assert session is not None
    for _ in range(300):
        tracks = [t for m in session.members.values() for t in m.tracks]
        if len(tracks) == 2 * len(people) and all(t.packets_received for t in tracks):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the server did not receive every published track")
    return hearing_id, people


async def shows(track: MediaStreamTrack, rgb: RGB) -> bool:
    """Whether the next picture of a received track is mostly this colour."""
    frame = await asyncio.wait_for(track.recv(), 15)
    assert isinstance(frame, av.VideoFrame)
    picture = np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)
    half: int = picture.shape[0] * picture.shape[1] // 2
    return colour_pixels(picture, rgb) > half


def livestream(server: RunningServer, hearing_id: str) -> HearingLivestream:
    stream = server.app[LIVESTREAMS].get(hearing_id)
    assert stream is not None
    return stream


@dataclass
class Viewer:
    """A member of the public: polls the playlist and fetches every segment it lists."""

    server: RunningServer
    hearing_id: str
    segments: dict[str, bytes] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    first_playlist_at: float | None = None
    ended: bool = False

    async def poll(self) -> None:
        url = f"{self.server.base_url}/live/{self.hearing_id}/index.m3u8"
        async with self.server.session.get(url) as response:
            if response.status != 200:
                return
            text = await response.text()
        if self.first_playlist_at is None:
            self.first_playlist_at = time.monotonic()
        self.ended = text.endswith("#EXT-X-ENDLIST\n")
        for name in re.findall(r"^([A-Za-z0-9_-]{24})\.ts$", text, re.M):
            if name in self.segments:
                continue
            async with self.server.session.get(
                f"{self.server.base_url}/live/{self.hearing_id}/{name}.ts"
            ) as response:
                assert response.status == 200, name
                self.segments[name] = await response.read()
            self.order.append(name)

    async def watch_until(self, done: object, within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            await self.poll()
            if callable(done) and done():
                return
            await asyncio.sleep(0.25)
        raise AssertionError(f"the viewer waited {within} s; saw {len(self.order)} segments")


def media_segments(stream: HearingLivestream, viewer: Viewer) -> list[tuple[str, Decoded]]:
    """The hearing's own segments among what the viewer fetched (slates left out), decoded."""
    slates = {name for name, _segment, media in stream.delay_line.listed() if not media}
    return [(n, decode_segment(viewer.segments[n])) for n in viewer.order if n not in slates]


def end_of(decoded: Decoded) -> float:
    return max(decoded.video_times[-1], decoded.audio_times[-1] if decoded.audio_times else 0)


async def test_a_public_hearing_streams_after_the_delay_and_never_shows_the_protected_witness(
    live_server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing_id, (judge, prosecutor, child) = await court(
        live_server,
        clients,
        [
            ("presiding_judge", "Judge Le", BLUE, TONE_JUDGE),
            ("prosecutor", "Mr Pham", ORANGE, TONE_PARTY),
            ("child_witness", "Lily Tran", MAGENTA, TONE_WITNESS),
        ],
        profile="us-3509",  # the matrix lets the public in the courtroom see the child
    )
    await judge.client.request("move", {"participant_id": child.id, "room": {"kind": "courtroom"}})
    # the court does receive the child: the colour survives the trip
    seen = await prosecutor.client.wait_for_track(child.id, "video")
    assert await shows(seen.track, MAGENTA)

    opened = time.monotonic()  # before the order: the stream starts after it
    ack = await judge.client.request("livestream", {"action": "open"})
    assert ack["livestream"] == {"state": "live", "delay": DELAY}
    stream = livestream(live_server, hearing_id)
    viewer = Viewer(live_server, hearing_id)
    await viewer.watch_until(lambda: len(viewer.order) >= 4, within=30)
    assert viewer.first_playlist_at is not None
    appeared = viewer.first_playlist_at - opened
    print(f"playlist appeared {appeared:.2f} s after the stream opened (2 s segment + {DELAY} s)")
    assert appeared >= 2.0 + DELAY - 0.3

    assert all(child.id not in t.key and "Lily" not in t.name for t in stream.tiles)
    assert {t.name for t in stream.tiles} == {"Judge Le", "Mr Pham"}
    decoded = media_segments(stream, viewer)
    assert len(decoded) >= 4
    for name, segment in decoded:
        video = segment.video_span + 1 / 15
        print(f"{name}: video {video:.3f} s, audio {segment.audio_seconds:.3f} s")
        assert video == pytest.approx(2.0, abs=0.1)
        assert segment.audio_seconds == pytest.approx(2.0, abs=0.1)
        for picture in segment.pictures:
            assert colour_pixels(picture, MAGENTA) == 0, name
        assert tone_share(segment.samples, TONE_WITNESS) < 0.002, name
    # the fingerprints can be found: the judge and the prosecutor are seen and heard
    last = decoded[-1][1]
    assert colour_pixels(last.pictures[-1], BLUE) > 1000
    assert colour_pixels(last.pictures[-1], ORANGE) > 200
    everything = np.concatenate([s.samples for _, s in decoded[1:]])
    assert tone_share(everything, TONE_JUDGE) > 0.1
    assert tone_share(everything, TONE_PARTY) > 0.1
    shares = {f: tone_share(everything, f) for f in (TONE_JUDGE, TONE_PARTY, TONE_WITNESS)}
    print(f"tone shares in the stream: {shares}")


async def test_a_cut_never_serves_anything_from_the_last_delay_window_and_ends_the_playlist(
    live_server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing_id, (judge, party) = await court(
        live_server,
        clients,
        [
            ("presiding_judge", "Judge Le", BLUE, TONE_JUDGE),
            ("plaintiff", "Ms Nguyen", ORANGE, TONE_PARTY),
        ],
    )
    await judge.client.request("livestream", {"action": "open"})
    stream = livestream(live_server, hearing_id)
    viewer = Viewer(live_server, hearing_id)
    await viewer.watch_until(lambda: len(viewer.order) >= 2, within=30)

    # the party shows something protected; the judge sees it and cuts 1.5 s later
    party.video.set_colour(GREEN)
    shown = await judge.client.wait_for_track(party.id, "video")
    deadline = time.monotonic() + 10  # the receiver's queue holds what nobody read yet
    while not await shows(shown.track, GREEN):
        assert time.monotonic() < deadline, "the green never reached the court"
    await asyncio.sleep(1.5)
    cut_stream_time = stream.stream_time()
    assert cut_stream_time is not None
    waiting = set(stream.delay_line.pending_names)
    ack = await judge.client.request("livestream", {"action": "cut"})
    assert ack["livestream"]["state"] == "cut"
    dropped = waiting - {name for name, _, _ in stream.delay_line.listed()}
    assert dropped, "the last delay window was waiting when the judge cut"

    await viewer.watch_until(lambda: viewer.ended, within=15)
    for name in dropped:
        url = f"{live_server.base_url}/live/{hearing_id}/{name}.ts"
        async with live_server.session.get(url) as response:
            assert response.status == 404
        assert name not in viewer.segments
    served = media_segments(stream, viewer)
    assert served, "some of the stream went out before the cut"
    latest = max(end_of(segment) for _, segment in served)
    print(f"cut at stream time {cut_stream_time:.2f} s; last media served ends at {latest:.2f} s")
    assert latest <= cut_stream_time - DELAY + 0.1
    for name, segment in served:
        assert all(colour_pixels(p, GREEN) == 0 for p in segment.pictures), name
    slate = [n for n in viewer.order if n not in dict(served)]
    assert slate, "the slate follows the cut"


async def test_going_in_camera_stops_the_stream_within_a_second_of_stream_time(
    live_server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing_id, (judge, party) = await court(
        live_server,
        clients,
        [
            ("presiding_judge", "Judge Le", BLUE, TONE_JUDGE),
            ("plaintiff", "Ms Nguyen", ORANGE, TONE_PARTY),
        ],
    )
    await judge.client.request("livestream", {"action": "open"})
    stream = livestream(live_server, hearing_id)
    viewer = Viewer(live_server, hearing_id)
    await viewer.watch_until(lambda: len(viewer.order) >= 1, within=30)
    await asyncio.sleep(1.0)

    switched = stream.stream_time()
    assert switched is not None
    await judge.client.request("phase", {"phase": "in_camera"})
    party.video.set_colour(GREEN)  # said in camera
    await judge.client.wait_until(
        lambda: judge.client.state.get("livestream", {}).get("state") == "closed", 5, "closed"
    )
    await viewer.watch_until(lambda: viewer.ended, within=20)
    served = media_segments(stream, viewer)
    latest = max(end_of(segment) for _, segment in served)
    print(f"in camera at stream time {switched:.2f} s; the stream's media ends at {latest:.2f} s")
    assert stream.closed_at is not None and stream.closed_at - switched < 0.2
    assert switched - 1.0 <= latest <= switched + 1.0
    for name, segment in served:
        assert all(colour_pixels(p, GREEN) == 0 for p in segment.pictures), name
