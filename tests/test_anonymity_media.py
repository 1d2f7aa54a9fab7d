"""Witness anonymity orders with real aiortc peers: the witness sends a fine red-and-white
checkerboard and a 220 Hz tone; the accused and defence counsel (named in the order) decode
a picture without its detail and a voice whose strongest frequency is not 220 Hz; the judge
and the clerk decode the natural pattern and tone; and no masked viewer's transport carries
one packet on a stream of the natural form, through making, varying and discharging the
order mid-testimony. Switched off (no masking, `MASKING_OFF=1`), every check here fails."""

from __future__ import annotations

import asyncio
import os
import time
from fractions import Fraction

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamTrack

from media.masking_transforms import dominant_frequency, high_frequency_energy
from signaling.client import HearingClient, RemoteTrack
from signaling.session import HearingSession
from tests.conftest import RunningServer
from tests.test_court_rules_media import seat
from web.keys import SIGNALING

pytestmark = pytest.mark.media

WIDTH, HEIGHT, FPS = 320, 240, 10
TONE = 220.0
DETAIL_BOUND = 8.0
"""High-frequency energy (`high_frequency_energy`) a masked picture stays under; the natural
checkerboard, after VP8, scores above 25."""


class Checkerboard(MediaStreamTrack):
    """4-pixel red and white squares: all detail, in a known colour."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
        cells = ((x // 4 + y // 4) % 2).astype(bool)
        self._image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
        self._image[cells] = (0, 0, 230)  # bgr: red
        self._image[~cells] = (255, 255, 255)
        self._count = 0

    async def recv(self) -> av.VideoFrame:
        await asyncio.sleep(1 / FPS)
        self._count += 1
        frame = av.VideoFrame.from_ndarray(self._image, "bgr24")
        frame.pts, frame.time_base = self._count * 90000 // FPS, Fraction(1, 90000)
        return frame


class Tone(MediaStreamTrack):
    """A 220 Hz sine at 48 kHz in 20 ms frames."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._sent = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._sent / 48000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (self._sent + np.arange(960)) / 48000
        pcm = (0.4 * 32767 * np.sin(2 * np.pi * TONE * t)).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48000, self._sent, Fraction(1, 48000)
        self._sent += 960
        return frame


def drain(remote: RemoteTrack) -> None:
    """Forget the frames queued so far (a reused section's track holds older ones)."""
    queued: asyncio.Queue[object] = remote.track._queue  # type: ignore[attr-defined]
    while not queued.empty():
        queued.get_nowait()


async def latest_picture(remote: RemoteTrack, frames: int = 6) -> av.VideoFrame:
    """The last of a few frames decoded from `remote` from now on."""
    drain(remote)
    picture = None
    for _ in range(frames):
        picture = await asyncio.wait_for(remote.track.recv(), 20)
    assert isinstance(picture, av.VideoFrame)
    return picture


def detail(picture: av.VideoFrame) -> float:
    return high_frequency_energy(np.asarray(picture.to_ndarray(format="gray"), np.uint8))


def redness(picture: av.VideoFrame) -> float:
    rgb = picture.to_ndarray(format="rgb24").astype(np.float64)
    return float(rgb[..., 0].mean() - rgb[..., 1].mean())


async def loudest(remote: RemoteTrack, seconds: float = 1.0) -> float:
    """The dominant frequency of about `seconds` of the decoded audio (after 0.3 s)."""
    drain(remote)
    chunks = []
    total = 0
    while total < int((seconds + 0.3) * 48000):
        frame = await asyncio.wait_for(remote.track.recv(), 20)
        assert isinstance(frame, av.AudioFrame)
        samples = frame.to_ndarray().astype(np.float32)
        mono = samples.reshape(-1, len(frame.layout.channels)).mean(axis=1)  # interleaved
        chunks.append(mono)
        total += mono.size
    return dominant_frequency(np.concatenate(chunks)[int(0.3 * 48000) :])


async def track_of(
    viewer: HearingClient, pid: str, kind: str, form: str, timeout: float = 30
) -> RemoteTrack:
    def find() -> RemoteTrack | None:
        return next(
            (
                t
                for t in viewer.remote_tracks
                if t.participant_id == pid and t.kind == kind and t.form == form
            ),
            None,
        )

    await viewer.wait_until(lambda: find() is not None, timeout, f"{form} {kind} of {pid}")
    found = find()
    assert found is not None
    return found


class NaturalWatch:
    """Counts, for each masked viewer, the RTP packets on every SSRC an offer ever described
    as the witness's natural form, from the moment each order is acknowledged."""

    def __init__(self, viewers: list[HearingClient], witness: str) -> None:
        self.viewers = viewers
        self.witness = witness
        self.natural: dict[int, set[int]] = {id(v): set() for v in viewers}
        self.baseline: dict[int, dict[int, int]] = {}
        self._task: asyncio.Task[None] | None = None

    def _learn(self) -> None:
        for viewer in self.viewers:
            for ssrc in viewer.rtp_by_ssrc():
                owner = viewer.ssrc_owner(ssrc)
                if owner and owner[0] == self.witness and viewer.ssrc_form(ssrc) == "natural":
                    self.natural[id(viewer)].add(ssrc)

    def masked_from_now(self) -> None:
        self._learn()
        self.baseline = {id(v): dict(v.rtp_by_ssrc()) for v in self.viewers}

    def leaks(self) -> dict[str, int]:
        self._learn()
        found: dict[str, int] = {}
        for viewer in self.viewers:
            now, before = viewer.rtp_by_ssrc(), self.baseline[id(viewer)]
            for ssrc in self.natural[id(viewer)]:
                grown = now.get(ssrc, 0) - before.get(ssrc, 0)
                if grown:
                    found[f"{viewer.participant['role']} ssrc {ssrc}"] = grown
        return found


def never_forwarded(session: HearingSession, viewers: list[str], originals: set[str]) -> bool:
    """No masked viewer's leg forwards (or has permitted) an original track of the witness."""
    for pid in viewers:
        leg = session.members[pid].subscribe
        if leg is not None and (leg.allowed | set(leg.forwarding())) & originals:
            return False
    return True


async def test_masked_viewers_never_receive_the_witness_natural_image_or_voice(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    created = await server.create_hearing(case_number="22/2026/HS-ST", title="State v. Roe")
    hid = created["id"]
    judge = await seat(server, clients, hid, None, "presiding_judge", "Judge Le")
    clerk = await seat(server, clients, hid, judge, "clerk", "Clerk Tran")
    accused = await seat(server, clients, hid, judge, "accused", "Mr Roe")
    counsel = await seat(server, clients, hid, judge, "defence_counsel", "Counsel Ha")
    witness = await seat(server, clients, hid, judge, "witness", "Jane Doe")
    wid = witness.participant["id"]
    await judge.request("phase", {"phase": "in_session"})
    await judge.request("call_witness", {"participant_id": wid, "audio_only": True})
    await witness.publish(Checkerboard(), Tone())
    session = server.app[SIGNALING].session(hid)
    assert session is not None
    if os.environ.get("MASKING_OFF") == "1":
        session.masking.enabled = False  # the proof that these checks depend on the masking

    masked_viewers = [accused, counsel]
    for viewer in masked_viewers:  # testimony has begun: they see and hear her naturally
        await viewer.wait_for_track(wid, "video")
    watch = NaturalWatch(masked_viewers, wid)
    await asyncio.sleep(1.0)
    originals = {t.id for t in session.members[wid].tracks}

    guard_failures: list[float] = []
    ordered = asyncio.Event()

    async def guard() -> None:  # the server side, every 10 ms while an order is in force
        while True:
            await asyncio.sleep(0.01)
            pids = [v.participant["id"] for v in masked_viewers]
            if ordered.is_set() and not never_forwarded(session, pids, originals):
                guard_failures.append(time.monotonic())

    guarding = asyncio.get_running_loop().create_task(guard())
    try:
        ack = await judge.order_anonymity(
            wid, "Witness A", screening="pixelate", masked_from=("accused", "lawyers")
        )
        ordered.set()
        watch.masked_from_now()
        assert ack["pseudonym"] == "Witness A" and "Jane" not in str(ack)

        for viewer in masked_viewers:
            video = await track_of(viewer, wid, "video", "masked")
            assert video.display_name == "Witness A"
            picture = await latest_picture(video)
            assert detail(picture) < DETAIL_BOUND, detail(picture)
            assert redness(picture) > 40  # the masked picture of the red-and-white pattern
            voice = await track_of(viewer, wid, "audio", "masked")
            heard = await loudest(voice)
            assert abs(heard - TONE) > 20, heard

        # told who speaks like anyone else (the witness's tone is the only sound)
        await accused.wait_until(lambda: accused.active_speaker == wid, 10, "the speaker")

        # made once per track, not per viewer: one video and one voice for both masked viewers
        assert sorted(v.original.kind for v in session.masking.variants()) == ["audio", "video"]

        for court in (judge, clerk):
            natural = await track_of(court, wid, "video", "natural")
            assert natural.display_name == "Jane Doe"
            assert detail(await latest_picture(natural)) > 25
            tone = await track_of(court, wid, "audio", "natural")
            assert abs(await loudest(tone) - TONE) < 10

        # varied mid-testimony: another screening, the same masked viewers
        await judge.order_anonymity(
            wid, "Witness A", screening="silhouette", masked_from=("accused", "lawyers")
        )
        await asyncio.sleep(2.0)
        silhouette = await track_of(accused, wid, "video", "masked")
        assert detail(await latest_picture(silhouette, frames=12)) < 1.0
        assert watch.leaks() == {}
        assert guard_failures == []

        # discharged: the natural form again, for everyone
        ordered.clear()
        await judge.discharge_anonymity(wid)
        natural = await track_of(accused, wid, "video", "natural")
        assert detail(await latest_picture(natural, frames=12)) > 25
    finally:
        guarding.cancel()
    assert session.masking.variants() == ()
