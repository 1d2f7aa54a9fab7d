"""Who has had media lately, and whether someone the court cannot sit without has been
silent for longer than the grace period (the rule itself is `hearing.due_process`)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from hearing.due_process import must_be_present
from hearing.phases import Phase
from hearing.seats import Seat
from media import PublishedTrack


class PresenceWatch:
    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._last_media: dict[str, float] = {}
        self._sitting_since = time.monotonic()

    def court_sits(self) -> None:
        """Gaps count from when the court (re)starts sitting, not from before."""
        self._sitting_since = time.monotonic()

    def overdue(
        self, people: Iterable[tuple[str, Seat | None, list[PublishedTrack]]], phase: Phase
    ) -> tuple[str, float] | None:
        """The first required participant (id, seconds without media) past the grace period.
        Only people who have sent media are watched."""
        now = time.monotonic()
        for participant_id, seat, tracks in people:
            seen = [t.last_packet_at for t in tracks if t.last_packet_at is not None]
            if seen:
                self._last_media[participant_id] = max(seen)
            last = self._last_media.get(participant_id)
            if last is None or seat is None or not must_be_present(seat, phase):
                continue
            gap = now - max(last, self._sitting_since)
            if gap > self.grace:
                return participant_id, gap
        return None
