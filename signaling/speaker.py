"""The active speaker, from the RFC 6464 audio levels publishers put in their RTP (nothing is
decoded): every 0.3 s each seated participant's level goes to `media.speaker.ActiveSpeaker`
(the same choice the livestream's layout makes: the loudest voice above a threshold, held for
a moment so the highlight does not flicker, kept while everyone is quiet), and each viewer
who hears the speaker is told (`active_speaker`). A viewer who cannot hear someone is never
told they speak."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from hearing import Participant
from hearing.seats import Seat
from media import PublishedTrack
from media.speaker import ActiveSpeaker
from signaling.member import Member

INTERVAL = 0.3
HEARD_WITHIN = 1.0
"""A level older than this counts as silence (the watch reads levels every INTERVAL)."""


@dataclass(frozen=True)
class Voice:
    participant_id: str
    track: PublishedTrack


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
        self._speaker = ActiveSpeaker(smoothing=HEARD_WITHIN)
        self._told: dict[str, str | None] = {}
        self._heard: set[str] = set()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            await self.tick(time.monotonic())

    async def tick(self, now: float) -> None:
        voices = [v for v in self._voices() if not v.track.ended]
        audio = {v.participant_id: v.track.id for v in voices}
        self._speaker.forget(set(self._heard) - set(audio))
        self._heard = set(audio)
        for voice in voices:  # loudness is 0 (silence) to 127 (full scale): dBov minus -127
            self._speaker.level(voice.participant_id, voice.track.loudness - 127.0, now)
        speaker = self._speaker.current(now)
        listeners = list(self._listeners())
        for sid, received in listeners:
            shown = speaker if speaker is not None and audio.get(speaker) in received else None
            if self._told.get(sid) == shown:
                continue  # a new viewer is not told that nobody speaks
            self._told[sid] = shown
            await self._send(sid, "active_speaker", {"participant_id": shown})
        present = {sid for sid, _ in listeners}
        self._told = {sid: told for sid, told in self._told.items() if sid in present}
