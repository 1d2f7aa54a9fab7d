"""Who the court can see or hear now, and whether someone it cannot sit without has been
absent (gone, or without media that reaches it) for longer than the grace period (the rule
itself is `hearing.due_process`; what counts as media, `hearing.media_health`)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from hearing.due_process import must_be_present
from hearing.phases import Phase
from hearing.seats import Seat


class PresenceWatch:
    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._absent_since: dict[str, float] = {}
        self._sitting_since = time.monotonic()

    def court_sits(self) -> None:
        """Gaps count from when the court (re)starts sitting, not from before."""
        self._sitting_since = time.monotonic()

    def overdue(
        self, people: Iterable[tuple[str, Seat | None, bool]], phase: Phase
    ) -> tuple[str, float] | None:
        """The first required participant (id, seconds absent) past the grace period. Each
        person comes with their seat and whether the court sees or hears them now (connected,
        with a camera or microphone live or weak); absence counts from when it began, or from
        when the court started sitting."""
        now = time.monotonic()
        found = None
        for participant_id, seat, present in people:
            if present or seat is None or not must_be_present(seat, phase):
                self._absent_since.pop(participant_id, None)
                continue
            since = self._absent_since.setdefault(participant_id, now)
            gap = now - max(since, self._sitting_since)
            if gap > self.grace and found is None:
                found = participant_id, gap
        return found
