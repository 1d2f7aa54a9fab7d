"""Running totals of the forwarding path, for whoever reads them by pull (web/metrics.py).

Every count only grows: what a leg counted is kept by the engine when the leg goes, so a
reader sees totals that never step back (what a monitoring counter must be). Nothing here
is on the per-packet path: the sinks and tracks keep their own counts, read at a scrape.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from media.forwarder import PublishedTrack, TrackSink

JOIN_WAIT_BUCKETS: tuple[float, ...] = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 30.0)
"""Seconds from a participant's subscribe leg to the first video forwarded on it."""


@dataclass(slots=True)
class Histogram:
    """Observations counted in fixed buckets (upper bounds, +Inf last), with their sum."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0

    def __post_init__(self) -> None:
        if list(self.bounds) != sorted(set(self.bounds)) or not self.bounds:
            raise ValueError("bucket bounds must be increasing")
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at or below it), ending with (inf, all)."""
        running, out = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append((bound, running))
        return out


@dataclass(slots=True)
class LegCounts:
    """What one subscribe leg counted, and what its detached sinks had forwarded."""

    nacks: int = 0
    """NACK messages from the subscriber."""
    packets_nacked: int = 0
    """Packets those NACKs asked for again (at most 64 a message are answered)."""
    keyframe_requests: int = 0
    """PLI and FIR from the subscriber (each reaches the publisher throttled)."""
    keyframe_waits: int = 0
    """Video sinks that began by waiting for a keyframe."""
    packets_forwarded: int = 0
    bytes_forwarded: int = 0
    first_video_at: float | None = None
    """When the first video packet was forwarded on this leg (`time.monotonic()`)."""
    first_video_seen: bool = False
    """Whether the engine has counted this leg's wait for its first video already."""

    def retire(self, sink: TrackSink) -> None:
        self.packets_forwarded += sink.packets_sent
        self.bytes_forwarded += sink.octets_sent
        self.see_first_video([sink])

    def see_first_video(self, sinks: Iterable[TrackSink]) -> None:
        for sink in sinks:
            began = sink.began_at
            if sink.kind != "video" or began is None:
                continue
            if self.first_video_at is None or began < self.first_video_at:
                self.first_video_at = began


@dataclass(frozen=True, slots=True)
class MediaTotals:
    """The engine's counts since it started."""

    packets_received: int = 0
    """RTP packets from publishers (after SRTP, before duplicates and probes are dropped)."""
    packets_lost: int = 0
    """Publishers' packets that never arrived (by sequence number)."""
    packets_forwarded: int = 0
    bytes_forwarded: int = 0
    """Payload bytes forwarded to subscribers."""
    nacks: int = 0
    packets_nacked: int = 0
    keyframe_requests: int = 0
    keyframe_waits: int = 0
    sinks_waiting_keyframe: int = 0
    """Video sinks waiting for their first keyframe now (a level, not a count)."""
    datagrams_dropped: int = 0
    """Datagrams the guards dropped before aiortc (hostile, malformed, unknown senders)."""

    def __add__(self, other: MediaTotals) -> MediaTotals:
        return MediaTotals(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


def track_lost(track: PublishedTrack) -> int:
    stats = track.stats
    if stats.base is None:
        return 0
    return max(0, stats.extended_highest - stats.base + 1 - stats.received)


def publish_totals(tracks: Sequence[PublishedTrack], dropped: int) -> MediaTotals:
    return MediaTotals(
        packets_received=sum(t.packets_received for t in tracks),
        packets_lost=sum(track_lost(t) for t in tracks),
        datagrams_dropped=dropped,
    )


def subscribe_totals(sinks: Sequence[TrackSink], counts: LegCounts, dropped: int) -> MediaTotals:
    return MediaTotals(
        packets_forwarded=counts.packets_forwarded + sum(s.packets_sent for s in sinks),
        bytes_forwarded=counts.bytes_forwarded + sum(s.octets_sent for s in sinks),
        nacks=counts.nacks,
        packets_nacked=counts.packets_nacked,
        keyframe_requests=counts.keyframe_requests,
        keyframe_waits=counts.keyframe_waits,
        sinks_waiting_keyframe=sum(1 for s in sinks if s.kind == "video" and s.waiting_keyframe),
        datagrams_dropped=dropped,
    )
