"""A synthetic VP8 clip, encoded once, and a track that replays its packets without encoding.

The publisher of a benchmark must not spend the machine's CPU on a live encoder. The clip is
encoded once with libvpx (constant bitrate, periodic keyframes); `ClipTrack.recv()` then returns
the encoded `av.Packet`s at the clip's frame rate, and aiortc's `RTCRtpSender` only packetizes
them (`Vp8Encoder.pack`). Keyframe requests (PLI) are not honoured on that path, so a new
subscriber starts at the clip's next periodic keyframe.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

WIDTH = 640
HEIGHT = 480
FPS = 30
BITRATE = 1_500_000
KEYFRAME_INTERVAL = 2 * FPS
CLIP_FRAMES = 4 * FPS
TEXTURE_BLOCK = 8  # random 8x8 blocks: a textured but compressible keyframe
NOISE_SIDE = 96  # a square of fresh noise every frame keeps the encoder at its target rate


@dataclass(frozen=True, slots=True)
class Clip:
    """Encoded VP8 frames (one bytes object per frame) and whether each is a keyframe."""

    frames: tuple[bytes, ...]
    keyframes: tuple[bool, ...]
    fps: int

    @property
    def bitrate(self) -> float:
        """The clip's mean bitrate in bit/s."""
        return sum(len(f) for f in self.frames) * 8 * self.fps / len(self.frames)

    @property
    def keyframe_interval(self) -> float:
        """Seconds between keyframes."""
        return len(self.frames) / max(1, sum(self.keyframes)) / self.fps


def _texture(width: int, height: int) -> bytes:
    """Blocky random luma twice as wide as the picture, so a sliding window of it scrolls."""
    block = TEXTURE_BLOCK
    rows = []
    for _ in range(height // block):
        coarse = os.urandom(2 * width // block)
        row = b"".join(bytes([value]) * block for value in coarse)
        rows += [row] * block
    return b"".join(rows)


def _luma(texture: bytes, index: int) -> bytes:
    """One picture's luma: the texture scrolled by `index`, with a moving square of noise."""
    width, height = WIDTH, HEIGHT
    shift = (4 * index) % width
    rows = [texture[r * 2 * width + shift : r * 2 * width + shift + width] for r in range(height)]
    x = (7 * index) % (width - NOISE_SIDE)
    y = (5 * index) % (height - NOISE_SIDE)
    for r in range(y, y + NOISE_SIDE):
        row = rows[r]
        rows[r] = row[:x] + os.urandom(NOISE_SIDE) + row[x + NOISE_SIDE :]
    return b"".join(rows)


def _picture(texture: bytes, index: int) -> av.VideoFrame:
    frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
    y, u, v = frame.planes
    if y.line_size != WIDTH or u.line_size != WIDTH // 2:
        raise RuntimeError("unexpected padded planes; the clip assumes unpadded rows")
    y.update(_luma(texture, index))
    u.update(bytes([98 + index % 60]) * u.buffer_size)
    v.update(bytes([128]) * v.buffer_size)
    frame.pts = index
    frame.time_base = Fraction(1, FPS)
    return frame


def _encoder() -> av.VideoCodecContext:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width = WIDTH
    codec.height = HEIGHT
    codec.pix_fmt = "yuv420p"
    codec.framerate = Fraction(FPS, 1)
    codec.time_base = Fraction(1, FPS)
    codec.bit_rate = BITRATE
    codec.gop_size = KEYFRAME_INTERVAL
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "minrate": str(BITRATE),
        "maxrate": str(BITRATE),
        "bufsize": str(BITRATE),
        "keyint_min": str(KEYFRAME_INTERVAL),
    }
    return codec


def encode_clip(frames: int = CLIP_FRAMES) -> Clip:
    """Encode `frames` synthetic 640x480 pictures to VP8 at about 1.5 Mbit/s, once."""
    texture = _texture(WIDTH, HEIGHT)
    codec = _encoder()
    packets: list[av.Packet[Any]] = []
    for index in range(frames):
        packets += codec.encode(_picture(texture, index))
    packets += codec.encode(None)
    return Clip(
        frames=tuple(bytes(p) for p in packets),
        keyframes=tuple(bool(p.is_keyframe) for p in packets),
        fps=FPS,
    )


class ClipTrack(MediaStreamTrack):
    """Replays a clip's encoded frames in a loop, paced at the clip's frame rate."""

    kind = "video"

    def __init__(self, clip: Clip) -> None:
        super().__init__()
        self._clip = clip
        self._index = 0
        self._start: float | None = None
        self.frames_sent = 0

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._index / self._clip.fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        packet = av.Packet(self._clip.frames[self._index % len(self._clip.frames)])
        packet.pts = self._index
        packet.time_base = Fraction(1, self._clip.fps)
        self._index += 1
        self.frames_sent += 1
        return packet
