"""Media with a fingerprint, for the livestream tests, and the checks that look for it.

Each participant gets a solid colour and a pure tone of its own; a decoded stream is then
searched for the colour (pixels within a tolerance) and the tone (the share of the sound's
energy within a few hertz of it). Encoded on the test side only; the server never encodes
these.
"""

from __future__ import annotations

import asyncio
import functools
import io
import math
import time
from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack
from numpy.typing import NDArray

RGB = tuple[int, int, int]
BLUE: RGB = (40, 70, 200)
ORANGE: RGB = (230, 130, 30)
MAGENTA: RGB = (220, 30, 220)
"""The protected witness's colour: nothing else on a stream is near it."""
GREEN: RGB = (40, 200, 60)
"""What a participant shows just before a cut: it must never reach the public."""
TONE_JUDGE, TONE_PARTY, TONE_WITNESS = 440.0, 660.0, 2350.0
RATE = 48_000


def solid_frame(rgb: RGB, width: int, height: int) -> av.VideoFrame:
    array = np.empty((height, width, 3), np.uint8)
    array[:, :] = rgb
    return av.VideoFrame.from_ndarray(array, format="rgb24").reformat(format="yuv420p")


def tone(frequency: float, start: int, count: int, amplitude: float = 0.3) -> NDArray[np.int16]:
    t = (np.arange(count) + start) / RATE
    return (amplitude * 32767 * np.sin(2 * math.pi * frequency * t)).astype(np.int16)


@functools.cache
def vp8_solid(rgb: RGB, count: int = 60, width: int = 160, height: int = 120) -> tuple[bytes, ...]:
    """VP8 frames of one colour (a keyframe every 30)."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = Fraction(1, 30)
    codec.gop_size = 30
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out: list[bytes] = []
    for n in range(count):
        frame = solid_frame(rgb, width, height)
        frame.pts = n
        out += [bytes(p) for p in codec.encode(frame)]
    out += [bytes(p) for p in codec.encode(None)]
    return tuple(out)


@functools.cache
def opus_tone(frequency: float, count: int = 100) -> tuple[bytes, ...]:
    """20 ms Opus frames of a pure tone."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = RATE, "mono", "s16"
    codec.bit_rate = 64000
    out: list[bytes] = []
    for n in range(count):
        frame = av.AudioFrame.from_ndarray(
            tone(frequency, n * 960, 960).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts, frame.time_base = RATE, n * 960, Fraction(1, RATE)
        out += [bytes(p) for p in codec.encode(frame)]
    return tuple(out)


# -- looking for them ---------------------------------------------------------------------------


@dataclass
class Decoded:
    """What a player would get from some segments: pictures, sound and their times."""

    pictures: list[NDArray[np.uint8]] = field(default_factory=list)
    video_times: list[float] = field(default_factory=list)
    samples: NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    audio_times: list[float] = field(default_factory=list)
    sample_rate: int = RATE

    @property
    def video_span(self) -> float:
        return self.video_times[-1] - self.video_times[0] if self.video_times else 0.0

    @property
    def audio_seconds(self) -> float:
        return self.samples.size / self.sample_rate


def decode_segment(data: bytes, every: int = 1) -> Decoded:
    """Decode one MPEG-TS segment with PyAV (every `every`-th picture kept, as RGB)."""
    out = Decoded()
    with av.open(io.BytesIO(data), "r") as container:
        for index, frame in enumerate(container.decode(container.streams.video[0])):
            out.video_times.append(float(frame.time or 0.0))
            if index % every == 0:
                out.pictures.append(np.asarray(frame.to_ndarray(format="rgb24"), np.uint8))
    chunks = []
    with av.open(io.BytesIO(data), "r") as container:
        for sound in container.decode(container.streams.audio[0]):
            out.audio_times.append(float(sound.time or 0.0))
            out.sample_rate = sound.sample_rate
            chunks.append(sound.to_ndarray().astype(np.float32).reshape(-1))
    if chunks:
        out.samples = np.concatenate(chunks)
    return out


def colour_pixels(picture: NDArray[np.uint8], rgb: RGB, tolerance: float = 60.0) -> int:
    """How many pixels lie within `tolerance` (Euclidean, in RGB) of the colour."""
    distance = np.linalg.norm(picture.astype(np.int32) - np.array(rgb, np.int32), axis=2)
    return int(np.count_nonzero(distance < tolerance))


def tone_share(samples: NDArray[np.float32], frequency: float, rate: int = RATE) -> float:
    """The share of the sound's energy within 15 Hz of `frequency` (0 for silence)."""
    if samples.size < rate // 10:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    total = float(spectrum[freqs > 50].sum())
    if total <= 0:
        return 0.0
    band = (freqs > frequency - 15) & (freqs < frequency + 15)
    return float(spectrum[band].sum()) / total


# -- aiortc tracks with a fingerprint -----------------------------------------------------------


class ColourVideo(MediaStreamTrack):
    """A solid colour at 15 fps and 160x120 (cheap on a 2-core machine); `rgb` may change."""

    kind = "video"

    def __init__(self, rgb: RGB, width: int = 160, height: int = 120, fps: int = 15) -> None:
        super().__init__()
        self.rgb = rgb
        self._size = (width, height)
        self._fps = fps
        self._start: float | None = None
        self._count = 0
        self.changed_at: float | None = None

    def set_colour(self, rgb: RGB) -> None:
        self.rgb = rgb
        self.changed_at = time.monotonic()

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._count / self._fps - time.monotonic()
            await asyncio.sleep(max(0.0, wait))
        frame = solid_frame(self.rgb, *self._size)
        frame.pts = self._count * (90_000 // self._fps)
        frame.time_base = Fraction(1, 90_000)
        self._count += 1
        return frame


class ToneAudio(MediaStreamTrack):
    """A pure tone in 20 ms frames of 48 kHz mono."""

    kind = "audio"

    def __init__(self, frequency: float) -> None:
        super().__init__()
        self.frequency = frequency
        self._start: float | None = None
        self._sent = 0

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._sent / RATE - time.monotonic()
            await asyncio.sleep(max(0.0, wait))
        frame = av.AudioFrame.from_ndarray(
            tone(self.frequency, self._sent, 960).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts, frame.time_base = RATE, self._sent, Fraction(1, RATE)
        self._sent += 960
        return frame
