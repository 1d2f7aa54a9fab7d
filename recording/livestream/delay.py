"""The delay line: segments wait `delay` seconds after they are complete before the public
playlist lists them, and a cut drops everything still waiting.

Only a published segment can be fetched: each gets an unguessable name (144 random bits) when
it enters the line, and `segment(name)` looks names up among published segments only, so a
segment that was cut is never served, whatever URL is tried. The playlist lists the last
`window` segments; the last `keep` stay fetchable for players and caches that lag behind.

The clock is injected; nothing here sleeps. Every read publishes what has come due.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from recording.livestream.encoder import EncodedSegment

NAME_BYTES = 18

STOPPED_BY_COURT: Final = "# ecourt: stopped by the court"
"""Closes the playlist of a stream the court cut (a comment: RFC 8216 tags begin with #EXT), so
that the viewer page says the court stopped it rather than that it ended."""


@dataclass(slots=True)
class _Entry:
    name: str
    segment: EncodedSegment = field(repr=False)
    ready_at: float
    discontinuity: bool
    media: bool
    """Hearing media (False: a slate)."""


class DelayLine:
    def __init__(
        self,
        delay: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        window: int = 6,
        keep: int = 30,
    ) -> None:
        if delay < 0 or window < 1 or keep < window:
            raise ValueError("a delay line needs delay >= 0 and keep >= window >= 1")
        self.delay = delay
        self._clock = clock
        self._window = window
        self._keep = keep
        self._pending: deque[_Entry] = deque()
        self._listed: deque[_Entry] = deque()
        self._served: OrderedDict[str, bytes] = OrderedDict()
        self._sequence = 0
        self._discontinuities = 0
        self._next_discontinuity = False
        self._ending = False
        self._ended = False
        self._stopped_by_court = False
        self.published = 0
        self.dropped = 0

    # -- in -------------------------------------------------------------------------------

    def add(self, segment: EncodedSegment, *, delayed: bool = True, media: bool = True) -> str:
        """Queue a segment (after the delay, or as soon as those before it are out); return
        its name."""
        ready = self._clock() + (self.delay if delayed else 0.0)
        if self._pending:
            ready = max(ready, self._pending[-1].ready_at)
        entry = _Entry(
            secrets.token_urlsafe(NAME_BYTES), segment, ready, self._next_discontinuity, media
        )
        self._next_discontinuity = False
        self._pending.append(entry)
        return entry.name

    def mark_discontinuity(self) -> None:
        """The next segment starts a new time line (a new stream, a slate)."""
        self._next_discontinuity = True

    def cut(self) -> list[str]:
        """Drop everything still waiting; return the names that will never be published."""
        self.publish_due()
        dropped = [e.name for e in self._pending]
        self._pending.clear()
        self.dropped += len(dropped)
        self._ending = False  # an end not yet published waits for what follows the cut
        self._stopped_by_court = True
        return dropped

    def end(self) -> None:
        """End the playlist once everything waiting has been published."""
        self._ending = True
        self.publish_due()

    def resume(self) -> None:
        """A new stream after an end: the playlist starts afresh, after a discontinuity."""
        if self.ended:
            while self._listed:
                self._retire(self._listed.popleft())
            self._ended = False
        self._ending = False
        self._stopped_by_court = False
        self._next_discontinuity = True

    # -- out ------------------------------------------------------------------------------

    def publish_due(self) -> None:
        now = self._clock()
        while self._pending and self._pending[0].ready_at <= now:
            entry = self._pending.popleft()
            self._listed.append(entry)
            self._served[entry.name] = entry.segment.data
            self.published += 1
            while len(self._listed) > self._window:
                self._retire(self._listed.popleft())
            while len(self._served) > self._keep:
                self._served.popitem(last=False)
        if self._ending and not self._pending:
            self._ended = True

    def _retire(self, entry: _Entry) -> None:
        self._sequence += 1
        if entry.discontinuity:
            self._discontinuities += 1

    @property
    def ended(self) -> bool:
        """The playlist has ended (EXT-X-ENDLIST): everything before the end is out."""
        self.publish_due()
        return self._ended

    @property
    def waiting(self) -> int:
        """Segments not yet published."""
        return len(self._pending)

    @property
    def pending_names(self) -> list[str]:
        return [e.name for e in self._pending]

    def listed(self) -> list[tuple[str, EncodedSegment, bool]]:
        """(name, segment, hearing media?) of what the playlist lists now."""
        self.publish_due()
        return [(e.name, e.segment, e.media) for e in self._listed]

    def segment(self, name: str) -> bytes | None:
        """The bytes of a published segment; None for any other name."""
        self.publish_due()
        return self._served.get(name)

    def playlist(self) -> str | None:
        """The media playlist, or None while nothing has been published."""
        self.publish_due()
        if not self._listed:
            return None
        target = max(1, *(math.ceil(e.segment.duration - 0.001) for e in self._listed))
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{target}",
            f"#EXT-X-MEDIA-SEQUENCE:{self._sequence}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:{self._discontinuities}",
        ]
        for entry in self._listed:
            if entry.discontinuity:
                lines.append("#EXT-X-DISCONTINUITY")
            lines += [f"#EXTINF:{entry.segment.duration:.3f},", f"{entry.name}.ts"]
        if self._ended:
            if self._stopped_by_court:
                lines.append(STOPPED_BY_COURT)  # a comment to players; the viewer page reads it
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"
