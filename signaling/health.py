"""Media health, measured: what the server received of each person's camera and microphone
over the last two seconds, and the round trip it measured on their legs (`hearing.media_health`
judges it). Looked at with the legs (every
0.5 s); a change goes out in the roster, to the bench and to the person it is about.
Mixed into `HearingSession`."""

from __future__ import annotations

import time
from collections import deque
from typing import Protocol

from hearing.media_health import (
    WINDOW_SECONDS,
    MediaHealth,
    TrackWindow,
    has_media,
    media_health,
)
from media import PublishedTrack
from signaling.member import Member, Records

MEDIA_QUALITY = "media_quality"
"""The audit action of a note of media health (`HealthKeeper.note_media_quality`)."""
KINDS = ("audio", "video")
QUALITY_EVERY = 300.0
"""Seconds between two `media_quality` entries of a sitting hearing (and one as it closes): a
crash loses at most this much of the day report's media quality."""
LONGEST_LOOK = 2.0
"""A gap between two looks longer than this (a stalled loop) counts only this long."""
Sample = tuple[float, int, int]
"""(when, packets received, extended highest sequence number) of one track."""


class _Session(Records, Protocol):
    members: dict[str, Member]
    _track_samples: dict[str, deque[Sample]]
    _health_seconds: dict[str, float]
    _health_looked_at: float | None
    _health_noted_at: float

    async def _announce_roster(self) -> None: ...

    def note_media_quality(self) -> None: ...


def _leg(member: Member) -> str:
    if member.publish is None:
        return "none" if member.publish_lost is None else "lost"
    state = member.publish.connection_state
    if state == "connected":
        return "connected"
    return "lost" if state in ("failed", "closed") else "connecting"


def _window(samples: deque[Sample], track: PublishedTrack, now: float) -> tuple[int, int, float]:
    """(packets, expected, span) from the oldest sample within the window to now."""
    received, highest = track.stats.received, track.stats.extended_highest
    samples.append((now, received, highest))
    while len(samples) > 1 and samples[1][0] <= now - WINDOW_SECONDS:
        samples.popleft()
    when, first_received, first_highest = samples[0]
    return received - first_received, max(0, highest - first_highest), now - when


def round_trip(member: Member, now: float) -> float | None:
    """The round trip `member`'s connection has held lately: the slower of their legs' (each
    measured by the server, `media.round_trips`); None while neither is measured."""
    legs = (member.publish, member.subscribe)
    measured = [rtt for leg in legs if leg is not None and (rtt := leg.round_trip(now)) is not None]
    return max(measured, default=None)


def track_windows(
    member: Member, samples: dict[str, deque[Sample]], now: float, rtt: float | None = None
) -> dict[str, TrackWindow]:
    """Each kind's window for `member` (its camera and microphone; a shared screen is not
    judged), with their round trip `rtt`, sampling its tracks' counters into `samples`."""
    leg = _leg(member)
    windows = {}
    for kind in KINDS:
        track = next((t for t in member.tracks if t.kind == kind and t.label == kind), None)
        if track is None:
            windows[kind] = TrackWindow(kind, False, None, 0, 0, 0.0, leg, rtt)
            continue
        packets, expected, span = _window(samples.setdefault(track.id, deque()), track, now)
        last = track.last_packet_at
        silent_for = None if last is None else max(0.0, now - last)
        windows[kind] = TrackWindow(kind, True, silent_for, packets, expected, span, leg, rtt)
    return windows


def seen_or_heard(member: Member) -> bool:
    """Does the court see or hear this member now (a camera or microphone live or weak)?"""
    return has_media({kind: MediaHealth(state) for kind, state in member.health.items()})


class HealthKeeper:
    _health_seconds: dict[str, float]
    """Seconds of each state since the last `media_quality` note, over people and kinds, of
    the cameras and microphones that send (or try to): `no_media` is not counted."""
    _health_looked_at: float | None
    _health_noted_at: float

    async def _check_health(self: _Session) -> None:
        """Judge every person's media; announce the roster if anyone's changed."""
        now = time.monotonic()
        looked, self._health_looked_at = self._health_looked_at, now
        if looked is None:
            self._health_noted_at = now
        spent = 0.0 if looked is None else min(now - looked, LONGEST_LOOK)
        live_tracks: set[str] = set()
        changed = False
        for member in list(self.members.values()):
            live_tracks.update(t.id for t in member.tracks)
            for state in member.health.values():  # what each camera and microphone was
                if state != MediaHealth.NO_MEDIA:  # nothing sent (the lobby, an observer)
                    self._health_seconds[state] = self._health_seconds.get(state, 0.0) + spent
            member.round_trip = round_trip(member, now)
            windows = track_windows(member, self._track_samples, now, member.round_trip)
            health = {kind: media_health(w).value for kind, w in windows.items()}
            if health != member.health:
                member.health = health
                changed = True
        if now - self._health_noted_at >= QUALITY_EVERY:
            self._health_noted_at = now
            self.note_media_quality()
        for gone in set(self._track_samples) - live_tracks:
            del self._track_samples[gone]
        if changed:
            await self._announce_roster()

    def note_media_quality(self: _Session) -> None:
        """Write how long cameras and microphones were in each state since the last note
        (`media_quality`: milliseconds per state, summed over people and kinds); the report
        sums them into each hearing's share of time `live`. Nothing if nothing was measured."""
        spent = {state: int(s * 1000) for state, s in self._health_seconds.items() if s >= 0.001}
        self._health_seconds.clear()
        if spent:
            self.record("system", MEDIA_QUALITY, details=spent)  # refusals are logged there


__all__ = ["HealthKeeper", "MediaHealth", "seen_or_heard"]
