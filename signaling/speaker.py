"""The active speaker, from the RFC 6464 audio levels publishers put in their RTP (nothing is
decoded): every 0.3 s the loudest audible participant above a threshold becomes the speaker,
held for a moment so the highlight does not flicker, and each viewer who hears them is told
(`active_speaker`). A viewer who cannot hear someone is never told they speak."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from hearing import Participant
from hearing.seats import Seat
from media import PublishedTrack
from signaling.member import Member

INTERVAL = 0.3
SPEAKING = 40.0
"""Smoothed level (0-127, 127 = 0 dBov) above which someone is speaking: about -87 dBov."""
HOLD = 1.0
"""Seconds a speaker keeps the highlight while another is only a little louder."""
MARGIN = 6.0


@dataclass(frozen=True)
class Voice:
    participant_id: str
    track: PublishedTrack


class SpeakerPicker:
    """Chooses the speaker from loudness, with hysteresis. Pure; the clock is passed in."""

    def __init__(self) -> None:
        self.current: str | None = None
        self._since = 0.0

    def pick(self, voices: Iterable[Voice], now: float) -> str | None:
        levels = {v.participant_id: v.track.loudness for v in voices if not v.track.ended}
        loudest = max(levels, key=lambda p: levels[p], default=None)
        if loudest is None or levels[loudest] < SPEAKING:
            if self.current is not None and levels.get(self.current, 0.0) < SPEAKING:
                self.current = None
            return self.current
        if self.current is None or self.current not in levels:
            self.current, self._since = loudest, now
        elif loudest != self.current:
            held = now - self._since < HOLD
            if levels[loudest] > levels[self.current] + MARGIN or (
                not held and levels[self.current] < SPEAKING
            ):
                self.current, self._since = loudest, now
        return self.current


def voices(members: Iterable[Member], seat_of: Callable[[Participant], Seat | None]) -> list[Voice]:
    """Every seated participant's audio track."""
    return [
        Voice(m.participant.id, t)
        for m in members
        for t in m.tracks
        if t.kind == "audio" and seat_of(m.participant) is not None
    ]


def listeners(admitted: Iterable[Member]) -> list[tuple[str, frozenset[str]]]:
    """(sid, the track ids forwarded to them) for every admitted viewer."""
    return [(m.sid, m.subscribe.track_ids if m.subscribe else frozenset()) for m in admitted]


Listeners = Callable[[], Iterable[tuple[str, frozenset[str]]]]
"""(sid, track ids forwarded to that viewer) for every admitted viewer."""
Send = Callable[[str, str, dict[str, object]], Awaitable[None]]


class SpeakerWatch:
    def __init__(self, voices: Callable[[], list[Voice]], listeners: Listeners, send: Send) -> None:
        self._voices = voices
        self._listeners = listeners
        self._send = send
        self._picker = SpeakerPicker()
        self._told: dict[str, str | None] = {}

    async def run(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            await self.tick(time.monotonic())

    async def tick(self, now: float) -> None:
        voices = self._voices()
        speaker = self._picker.pick(voices, now)
        audio = {v.participant_id: v.track.id for v in voices}
        listeners = list(self._listeners())
        for sid, received in listeners:
            shown = speaker if speaker is not None and audio.get(speaker) in received else None
            if self._told.get(sid) == shown:
                continue  # a new viewer is not told that nobody speaks
            self._told[sid] = shown
            await self._send(sid, "active_speaker", {"participant_id": shown})
        present = {sid for sid, _ in listeners}
        self._told = {sid: told for sid, told in self._told.items() if sid in present}
