"""Slates: a few seconds of a still card and silence, encoded like the stream, shown after a
cut or when the court stops sitting in public (the words are `cast.StreamWords`, in the
court's language). Encoded once per text and size, in a worker thread, and kept."""

from __future__ import annotations

import asyncio
import functools
import math
from fractions import Fraction

import av
import numpy as np

from media.composite import VIDEO_TIME_BASE, CompositeSettings
from media.picture import slate, to_frame
from recording.livestream.encoder import EncodedSegment, EncoderSettings, HlsEncoder

SEGMENTS = 2


class _Collect:
    def __init__(self) -> None:
        self.segments: list[EncodedSegment] = []

    def segment(self, segment: EncodedSegment) -> None:
        self.segments.append(segment)

    def ended(self) -> None:
        return None


@functools.lru_cache(maxsize=8)
def encode_slate(
    text: str, composite: CompositeSettings, settings: EncoderSettings
) -> tuple[EncodedSegment, ...]:
    """`SEGMENTS` segments of `text` on a plain background, with silent audio."""
    collect = _Collect()
    encoder = HlsEncoder(composite, settings, collect)
    picture = slate(text, composite.width, composite.height)
    seconds = SEGMENTS * settings.segment_seconds
    for n in range(round(seconds * composite.fps)):
        encoder.video(to_frame(picture, round(n * 90_000 / composite.fps), VIDEO_TIME_BASE))
    rate, size = composite.sample_rate, composite.audio_frame
    for n in range(math.ceil(seconds * rate / size)):
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, size), np.float32), format="flt", layout="mono"
        )
        frame.sample_rate, frame.pts, frame.time_base = rate, n * size, Fraction(1, rate)
        encoder.audio(frame)
    encoder.end()
    return tuple(collect.segments)


async def slate_segments(
    text: str, composite: CompositeSettings, settings: EncoderSettings
) -> tuple[EncodedSegment, ...]:
    """The slate, encoded off the event loop the first time it is asked for."""
    return await asyncio.to_thread(encode_slate, text, composite, settings)
