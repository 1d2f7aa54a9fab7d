"""The composite's inputs: one decoder per track, in the compositor's thread.

A video input decodes every VP8 frame (inter frames need the ones before) and keeps the
latest picture, scaled once per new picture to the box it is shown in (one scaler per
input, so swscale's context is made once, not per picture). An audio input decodes
Opus to mono float samples and keeps them in a short queue the mixer drains at the stream's
own pace: started `latency` behind, trimmed when a publisher's clock runs fast, padded with
silence when one stalls.
"""

from __future__ import annotations

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from numpy.typing import NDArray

from media.frames import vp8_dimensions
from media.layout import Rect, fit
from media.picture import Planes, planes_of

Samples = NDArray[np.float32]
MAX_EXTRA = 0.25
"""Seconds of audio a track may hold beyond the latency before the oldest is dropped."""
MAX_PIXELS = 1920 * 1088
"""The largest picture the composite decodes; a publisher sending more is not shown (a
16383x16383 VP8 keyframe would cost the node 400 MB and the stream its frame rate)."""


class VideoInput:
    def __init__(self) -> None:
        self._decoder = av.CodecContext.create("vp8", "r")
        self._scaler = VideoReformatter()  # keeps its scaling context: 5-10 times cheaper
        self._latest: av.VideoFrame | None = None
        self._version = 0
        self._scaled: tuple[int, Rect, Planes] | None = None
        self.frames = 0
        self.errors = 0
        self.refused = False
        """The last keyframe was larger than MAX_PIXELS: nothing decodes until a smaller one."""

    def decode(self, data: bytes) -> bool:
        """Decode one frame; False if it did not decode (the publisher should send a keyframe)."""
        size = vp8_dimensions(data)
        if size is not None:
            self.refused = size[0] * size[1] > MAX_PIXELS
        if self.refused:
            return True  # not shown; asking for a keyframe would not change its size
        try:
            frames = self._decoder.decode(av.Packet(data))
        except (av.FFmpegError, ValueError):
            self.errors += 1
            return False
        for frame in frames:
            self._latest = frame
            self._version += 1
            self.frames += 1
        return True

    @property
    def has_picture(self) -> bool:
        return self._latest is not None

    def picture(self, box: Rect) -> tuple[Rect, Planes] | None:
        """The latest picture scaled into `box` (letterboxed): where it goes, and its planes."""
        latest = self._latest
        if latest is None:
            return None
        where = fit(latest.width, latest.height, box)
        cached = self._scaled
        if cached is not None and cached[0] == self._version and cached[1] == where:
            return where, cached[2]
        scaled = self._scaler.reformat(
            latest,
            width=where.width,
            height=where.height,
            format="yuv420p",
            interpolation="BILINEAR",
        )
        planes = planes_of(scaled)
        self._scaled = (self._version, where, planes)
        return where, planes


class AudioInput:
    def __init__(self, rate: int, latency: float) -> None:
        self._decoder = av.CodecContext.create("libopus", "r")
        self._decoder.sample_rate = 48000
        self._decoder.layout = "stereo"
        self._decoder.format = "s16"
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        self._rate = rate
        self._latency = int(latency * rate)
        self._queue: list[Samples] = []
        self._queued = 0
        self._primed = False
        self.errors = 0
        self.samples_in = 0

    @property
    def queued(self) -> int:
        return self._queued

    def decode(self, data: bytes) -> Samples | None:
        """Decode one Opus frame into the queue; return its samples (None if it failed)."""
        try:
            frames = self._decoder.decode(av.Packet(data))
            out = [r for f in frames for r in self._resampler.resample(f)]
        except (av.FFmpegError, ValueError):
            self.errors += 1
            return None
        if not out:
            return np.zeros(0, np.float32)
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in out]).astype(np.float32)
        if not self._primed:  # start (or restart after a stall) `latency` behind
            self._queue, self._queued, self._primed = [], 0, True
            self._push(np.zeros(self._latency, np.float32))
        self._push(samples)
        self.samples_in += samples.size
        excess = self._queued - self._latency - int(MAX_EXTRA * self._rate)
        if excess > 0:
            self._drop(self._queued - self._latency)
        return samples

    def _push(self, samples: Samples) -> None:
        if samples.size:
            self._queue.append(samples)
            self._queued += samples.size

    def _drop(self, count: int) -> None:
        self.take(count)

    def take(self, count: int) -> Samples:
        """The next `count` samples, padded with silence if the queue runs dry."""
        out = np.zeros(count, np.float32)
        filled = 0
        while filled < count and self._queue:
            head = self._queue[0]
            n = min(count - filled, head.size)
            out[filled : filled + n] = head[:n]
            filled += n
            if n == head.size:
                self._queue.pop(0)
            else:
                self._queue[0] = head[n:]
        self._queued -= filled
        if filled < count and self._primed:
            self._primed = False  # a stall: the next frame starts `latency` behind again
        return out
