"""Encoded media for recorder tests, made once per session on the test side (the server under
test never encodes): VP8 pictures with a keyframe every second and Opus frames of 20 ms, and
a packetizer that turns them into the RTP packets a publisher's browser would send."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from fractions import Fraction

import av

from media.forwarder import PublishedTrack
from media.rtp import ParsedRtp, build_rtp, parse_rtp

FPS = 30
WIDTH, HEIGHT = 320, 240
VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000
OPUS_SAMPLES = 960
MAX_PAYLOAD = 1100


SAMPLES_ENV = "ECOURT_TEST_SAMPLES"
"""A file of samples made by a parent test process, so a child need not encode them again."""


def save_samples(path: str) -> None:
    import pickle

    with open(path, "wb") as handle:
        pickle.dump((vp8_frames(), opus_frames()), handle)


@functools.cache
def _saved() -> tuple[tuple[tuple[bytes, bool], ...], tuple[bytes, ...]] | None:
    import pickle

    path = os.environ.get(SAMPLES_ENV)
    if not path:
        return None
    with open(path, "rb") as handle:
        saved: tuple[tuple[tuple[bytes, bool], ...], tuple[bytes, ...]] = pickle.load(handle)
        return saved


@functools.cache
def vp8_frames(count: int = 2 * FPS) -> tuple[tuple[bytes, bool], ...]:
    saved = _saved()
    if saved is not None and count == 2 * FPS:
        return saved[0]
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.time_base = Fraction(1, FPS)
    codec.bit_rate = 600_000
    codec.gop_size = FPS
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out: list[tuple[bytes, bool]] = []
    for index in range(count):
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for plane in frame.planes:
            plane.update(os.urandom(plane.buffer_size // 8) * 8)
        frame.pts = index
        out += [(bytes(p), bool(p.is_keyframe)) for p in codec.encode(frame)]
    out += [(bytes(p), bool(p.is_keyframe)) for p in codec.encode(None)]
    return tuple(out)


@functools.cache
def opus_frames(count: int = 50) -> tuple[bytes, ...]:
    saved = _saved()
    if saved is not None and count == 50:
        return saved[1]
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = AUDIO_CLOCK, "stereo", "s16"
    out: list[bytes] = []
    for index in range(count):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=OPUS_SAMPLES)
        frame.planes[0].update(os.urandom(OPUS_SAMPLES * 4))
        frame.sample_rate = AUDIO_CLOCK
        frame.pts = index * OPUS_SAMPLES
        out += [bytes(p) for p in codec.encode(frame)]
    return tuple(out)


class Publisher:
    """Packetizes frames like a browser would and hands them to a PublishedTrack."""

    def __init__(self, track: PublishedTrack) -> None:
        self.track = track
        self.seq = 1000
        self.timestamp = 0x7FFFF000
        self.sent_frames = 0

    def packets_of(self, frame: bytes) -> Iterator[ParsedRtp]:
        if self.track.kind == "audio":
            yield self._packet(frame, marker=True)
            return
        pieces = [frame[i : i + MAX_PAYLOAD] for i in range(0, len(frame), MAX_PAYLOAD)]
        for index, piece in enumerate(pieces):
            descriptor = b"\x10" if index == 0 else b"\x00"
            yield self._packet(descriptor + piece, marker=index == len(pieces) - 1)

    def _packet(self, payload: bytes, marker: bool) -> ParsedRtp:
        data = build_rtp(
            int(marker),
            self.track.payload_type,
            self.seq & 0xFFFF,
            self.timestamp & 0xFFFFFFFF,
            self.track.ssrc or 1,
            b"",
            payload,
        )
        self.seq += 1
        return parse_rtp(data)

    def send(self, frame: bytes) -> None:
        for packet in self.packets_of(frame):
            self.track.handle(packet)
        self.sent_frames += 1
        step = OPUS_SAMPLES if self.track.kind == "audio" else VIDEO_CLOCK // FPS
        self.timestamp += step

    def send_seconds(self, seconds: float) -> None:
        """Send `seconds` of media at once (the RTP clock, not the wall clock, sets the pts)."""
        if self.track.kind == "audio":
            frames = opus_frames()
            count = int(seconds * AUDIO_CLOCK / OPUS_SAMPLES)
            for _ in range(count):
                self.send(frames[self.sent_frames % len(frames)])
        else:
            video = vp8_frames()
            for _ in range(int(seconds * FPS)):
                self.send(video[self.sent_frames % len(video)][0])


async def _no_keyframe(_ssrc: int) -> None:
    return None


def published_track(kind: str, source: str = "p1") -> PublishedTrack:
    """A track as a publish leg would announce it (VP8 at 90 kHz, or Opus at 48 kHz)."""
    video = kind == "video"
    return PublishedTrack(
        track_id=f"{source}-{kind}",
        source=source,
        kind=kind,
        mime_type="video/vp8" if video else "audio/opus",
        clock_rate=VIDEO_CLOCK if video else AUDIO_CLOCK,
        payload_type=96 if video else 111,
        ssrc=0x1000 + (1 if video else 2),
        extension_ids={},
        request_keyframe=_no_keyframe,
    )
