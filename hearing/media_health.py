"""How well a person's camera or microphone reaches the court, judged from what the server
received over the last two seconds and the round trip it measured to them: one state per
person and kind, shown to the bench and to the person (docs/protocol.md, "Media health")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class MediaHealth(StrEnum):
    LIVE = "live"
    WEAK = "weak"
    """Arriving, but thin or lossy: the picture stutters, the voice breaks up."""
    FROZEN = "frozen"
    """It was arriving and stopped: a frozen last frame, a silent microphone."""
    NO_MEDIA = "no_media"
    """Nothing of this kind is sent: camera or microphone refused, absent, or never working."""
    RECONNECTING = "reconnecting"
    """The connection carrying it is being rebuilt."""


WINDOW_SECONDS: Final = 2.0
LOSS_WEAK: Final = 0.10
"""More than this share of the packets lost in the window: weak."""
FEWEST_PACKETS: Final = {"audio": 40, "video": 10}
"""Fewer packets than this in the window: weak (Opus sends 100 in 2 s; a camera at 5 fps
sends at least 10)."""
ROUND_TRIP_WEAK: Final = 0.4
"""A round trip held above this (seconds): weak. Past it, questions and answers talk over
each other, and the sender's congestion control lowers the picture."""


@dataclass(frozen=True, slots=True)
class TrackWindow:
    """What the server received of one kind of a person's media, lately."""

    kind: str
    sent: bool
    """A track of this kind is published."""
    silent_for: float | None
    """Seconds since its last packet; None if it never carried one."""
    packets: int
    """Packets received over the last `span` seconds."""
    expected: int
    """Packets the sequence numbers say were sent over those seconds."""
    span: float
    """How much of the window the counts cover (less for a track that has just begun)."""
    leg: str
    """The publish leg: `connected`, `connecting` (new, not connected yet), `lost` (the server
    closed it and no new one came yet) or `none` (never published)."""
    round_trip: float | None = None
    """Seconds of round trip the person's connection has held lately (the slower of their
    two legs, each measured by the server); None while unmeasured."""

    def __post_init__(self) -> None:
        counts = (
            self.packets,
            self.expected,
            self.span,
            self.silent_for or 0.0,
            self.round_trip or 0.0,
        )
        if self.kind not in FEWEST_PACKETS or min(counts) < 0:
            raise ValueError("a track window needs a known kind and counts of zero or more")


def media_health(window: TrackWindow) -> MediaHealth:
    if window.leg in ("lost", "connecting"):
        return MediaHealth.RECONNECTING
    if not window.sent or window.silent_for is None:
        return MediaHealth.NO_MEDIA
    if window.silent_for > WINDOW_SECONDS:
        return MediaHealth.FROZEN
    if window.round_trip is not None and window.round_trip > ROUND_TRIP_WEAK:
        return MediaHealth.WEAK
    if window.span < WINDOW_SECONDS / 2:
        return MediaHealth.LIVE  # too soon to call it weak
    lost = max(0, window.expected - window.packets)
    if window.expected and lost / window.expected > LOSS_WEAK:
        return MediaHealth.WEAK
    if window.packets < FEWEST_PACKETS[window.kind] * window.span / WINDOW_SECONDS:
        return MediaHealth.WEAK
    return MediaHealth.LIVE


def has_media(states: dict[str, MediaHealth]) -> bool:
    """Does the court see or hear this person at all (some kind live or weak)?"""
    return any(s in (MediaHealth.LIVE, MediaHealth.WEAK) for s in states.values())


WORST_FIRST: Final = (
    MediaHealth.RECONNECTING,
    MediaHealth.FROZEN,
    MediaHealth.WEAK,
    MediaHealth.LIVE,
)


def person_health(states: Mapping[str, MediaHealth]) -> MediaHealth:
    """One word for a person (the supervision board's count): the worst of what they send,
    a connection being rebuilt first; a kind they do not send at all (the camera of someone
    heard by audio only) does not count against them; `no_media` if they send nothing."""
    sent = {s for s in states.values() if s is not MediaHealth.NO_MEDIA}
    return next((s for s in WORST_FIRST if s in sent), MediaHealth.NO_MEDIA)


def health_counts(people: Iterable[Mapping[str, MediaHealth]]) -> dict[str, int]:
    """How many people are in each state (every state named, zero or more)."""
    counts = {state.value: 0 for state in MediaHealth}
    for states in people:
        counts[person_health(states).value] += 1
    return counts
