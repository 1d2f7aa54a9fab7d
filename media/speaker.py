"""Who is speaking: the loudest voice, held for a moment so the layout does not flicker.

Levels are in dBov (0 is full scale, -127 silence): from the RTP audio-level header extension
(RFC 6464) when the publisher sends it, or measured on the decoded samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

SILENCE = -127.0
SPEAKING = -45.0
"""A voice louder than this (dBov, smoothed) may take the floor."""


def dbov_of_extension(value: bytes) -> float | None:
    """The level of an RFC 6464 element (one byte: V flag and 7-bit -dBov), or None."""
    if len(value) != 1:
        return None
    return -float(value[0] & 0x7F)


def dbov_of_samples(samples: NDArray[np.float32]) -> float:
    """The RMS level of float samples in [-1, 1], in dBov."""
    if samples.size == 0:
        return SILENCE
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(SILENCE, 20 * math.log10(rms)) if rms > 0 else SILENCE


class ActiveSpeaker:
    """Feed it levels; `current` names the active speaker, or None before anyone spoke.

    A voice takes over only after it has been the loudest, above `SPEAKING`, for `hold`
    seconds; the last speaker keeps the place while everyone is quiet."""

    def __init__(self, hold: float = 0.8, smoothing: float = 0.3) -> None:
        self._hold = hold
        self._smoothing = smoothing
        self._levels: dict[str, tuple[float, float]] = {}
        self._current: str | None = None
        self._candidate: tuple[str, float] | None = None

    def level(self, key: str, dbov: float, now: float) -> None:
        previous = self._smoothed(key, now)
        weight = 0.5 if previous > SILENCE else 1.0
        self._levels[key] = (previous + weight * (dbov - previous), now)

    def _smoothed(self, key: str, now: float) -> float:
        level, at = self._levels.get(key, (SILENCE, now))
        if now - at > self._smoothing:  # nothing heard lately: silence
            return SILENCE
        return level

    def forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._levels.pop(key, None)
            if self._current == key:
                self._current = None

    def current(self, now: float) -> str | None:
        loudest, level = None, SPEAKING
        for key in self._levels:
            smoothed = self._smoothed(key, now)
            if smoothed > level:
                loudest, level = key, smoothed
        if loudest is None or loudest == self._current:
            self._candidate = None
        elif self._candidate is None or self._candidate[0] != loudest:
            self._candidate = (loudest, now)
        if self._candidate is not None and (
            self._current is None or now - self._candidate[1] >= self._hold
        ):
            self._current, self._candidate = self._candidate[0], None
        return self._current
