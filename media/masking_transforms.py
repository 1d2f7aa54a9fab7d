"""What a masked viewer sees and hears, frame by frame: pure transforms, no I/O.

Screening works on a whole decoded picture (yuv420p). There is no face detection: every
method masks the whole frame (fail closed), so nothing of the scene, the face or the room
behind the witness survives beyond what the method itself keeps:

- `pixelate`: the picture shrunk to `PIXELATE_CELLS` cells across and blown up again with
  nearest-neighbour (blocks of flat colour);
- `blur`: shrunk to `BLUR_CELLS` across and blown up again bilinearly (a smooth wash);
- `silhouette`: one flat mid-grey field (no outline: without segmentation the whole frame);
- `hidden`: black.

The voice: a delay-line pitch shifter (two read taps sliding through a 50 ms window at
`ratio` speed, crossfaded with triangular gains) followed by a comb filter whose delay comes
from the order's formant ratio, which moves the spectral ripples a voice's timbre rides on.
Both parameters are drawn per order and never leave the server. What it cannot do is
written in `docs/anonymity.md`: a shifted voice keeps its rhythm, accent, words and
vocabulary, and a determined analyst with the key (or enough guesses) can shift it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from numpy.typing import NDArray

SCREENINGS: Final = frozenset({"blur", "pixelate", "silhouette", "hidden"})
PIXELATE_CELLS: Final = 12
BLUR_CELLS: Final = 8
SILHOUETTE_LUMA: Final = 110
SAMPLE_RATE: Final = 48_000
WINDOW: Final = 0.05
"""Seconds of the pitch shifter's delay window."""
COMB_GAIN: Final = 0.45

Samples = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class MaskSpec:
    """How one variant is masked: the screening (video) and the voice key (audio)."""

    screening: str = "pixelate"
    pitch: float = 1.0
    formant: float = 1.0

    def __post_init__(self) -> None:
        if self.screening not in SCREENINGS:
            raise ValueError(f"unknown screening {self.screening!r}")
        if not 0.5 <= self.pitch <= 2.0 or not 0.5 <= self.formant <= 2.0:
            raise ValueError("voice ratios out of range")


class Screen:
    """Masks whole pictures; keeps its scalers (swscale contexts) between frames."""

    def __init__(self, screening: str) -> None:
        if screening not in SCREENINGS:
            raise ValueError(f"unknown screening {screening!r}")
        self.screening = screening
        self._down = VideoReformatter()
        self._up = VideoReformatter()

    def apply(self, frame: av.VideoFrame) -> av.VideoFrame:
        """The masked picture, the same size as `frame`, in yuv420p, pts kept."""
        width, height = frame.width & ~1, frame.height & ~1
        if self.screening in ("silhouette", "hidden"):
            out = _flat(width, height, SILHOUETTE_LUMA if self.screening == "silhouette" else 16)
        else:
            cells = PIXELATE_CELLS if self.screening == "pixelate" else BLUR_CELLS
            small_w = max(2, cells) & ~1
            small_h = max(2, round(cells * height / max(width, 1))) & ~1 or 2
            how = "POINT" if self.screening == "pixelate" else "BILINEAR"
            small = self._down.reformat(
                frame, width=small_w, height=small_h, format="yuv420p", interpolation="AREA"
            )
            out = self._up.reformat(
                small, width=width, height=height, format="yuv420p", interpolation=how
            )
        out.pts = frame.pts
        if frame.time_base is not None:
            out.time_base = frame.time_base
        return out


def _flat(width: int, height: int, luma: int) -> av.VideoFrame:
    plane = np.full((height * 3 // 2, width), 128, np.uint8)
    plane[:height] = luma
    return av.VideoFrame.from_ndarray(plane, format="yuv420p")


class VoiceShifter:
    """Streams mono float samples at 48 kHz through the pitch shifter and the comb filter;
    the output has exactly as many samples as the input."""

    def __init__(self, pitch: float, formant: float, rate: int = SAMPLE_RATE) -> None:
        self.pitch = pitch
        self._window = int(WINDOW * rate)
        self._history = np.zeros(self._window + 4, np.float32)
        self._phase = 0.0
        self._comb = max(8, round(rate / (1000.0 * formant)))
        self._comb_history = np.zeros(self._comb, np.float32)

    def process(self, samples: Samples) -> Samples:
        n = samples.size
        if n == 0:
            return samples
        w = float(self._window)
        buf = np.concatenate([self._history, samples.astype(np.float32)])
        base = self._history.size
        steps = np.arange(n, dtype=np.float64)
        d1 = (self._phase + (1.0 - self.pitch) * steps) % w
        d2 = (d1 + w / 2) % w
        now = base + steps
        y = _tap(buf, now - d1 - 2) * _gain(d1, w) + _tap(buf, now - d2 - 2) * _gain(d2, w)
        self._phase = (self._phase + (1.0 - self.pitch) * n) % w
        self._history = buf[-(self._window + 4) :]
        shifted = y.astype(np.float32)
        combed = np.concatenate([self._comb_history, shifted])
        out = shifted + COMB_GAIN * combed[: shifted.size]
        self._comb_history = combed[-self._comb :]
        return (out / (1.0 + COMB_GAIN)).astype(np.float32)


def _tap(buf: Samples, position: NDArray[np.float64]) -> NDArray[np.float64]:
    low = np.floor(position).astype(np.int64)
    frac = position - low
    return np.asarray(buf[low] * (1.0 - frac) + buf[low + 1] * frac, np.float64)


def _gain(delay: NDArray[np.float64], window: float) -> NDArray[np.float64]:
    return np.asarray(1.0 - np.abs(2.0 * delay / window - 1.0), np.float64)


def high_frequency_energy(luma: NDArray[np.uint8]) -> float:
    """The mean absolute difference between neighbouring pixels (both directions): a
    picture's fine detail. A checkerboard of 4 px squares scores about 50; a pixelated one
    under 5."""
    y = luma.astype(np.int16)
    across = np.abs(np.diff(y, axis=1)).mean()
    down = np.abs(np.diff(y, axis=0)).mean()
    return float((across + down) / 2)


def dominant_frequency(samples: Samples, rate: int = SAMPLE_RATE) -> float:
    """The frequency of the strongest bin of the samples' spectrum (Hann window)."""
    if samples.size < 64:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    spectrum[0] = 0.0
    return float(np.argmax(spectrum) * rate / samples.size)
