"""One hearing's public stream: opened by the presiding judge, only while the court sits in
public; stopped at once when it stops (in camera, recess, deliberation, adjournment) or when
the judge closes it; cut by the judge.

- **open**: a compositor (`media/compositor.py`) shows the tiles `cast.public_tiles` allows
  and hands its frames to an `HlsEncoder` in its own thread; each finished segment comes back
  to the event loop and enters the delay line.
- **close**, or the court leaving public session: nothing more is taken in; the stream's last
  frame is the moment of the order. What waits in the delay line still goes out (it was said
  in public), followed by a "not sitting in public" slate, and the playlist ends.
- **cut**: the compositor is abandoned, everything still in the delay line is dropped, a
  "stream paused by the court" slate goes out at once, and the playlist ends.

A failure of the composite or the encoder ends the stream (audited); it never touches the
hearing. Opening again starts a new stream in the same playlist, after a discontinuity.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hearing.model import HearingType
from hearing.phases import Phase
from hearing.profiles import HearingRules
from media.composite import CompositeSettings
from media.compositor import Compositor, TileSource
from recording.errors import LivestreamForbidden
from recording.livestream import slate
from recording.livestream.cast import ENGLISH, MAX_TILES, Candidate, StreamWords, public_tiles
from recording.livestream.delay import DelayLine
from recording.livestream.encoder import EncodedSegment, EncoderSettings, HlsEncoder
from security import AuditLog

log = logging.getLogger(__name__)
ACTOR = "livestream"


class LivestreamState(StrEnum):
    CLOSED = "closed"
    LIVE = "live"
    CUT = "cut"


@dataclass(frozen=True)
class LivestreamSettings:
    delay: float = 30.0
    composite: CompositeSettings = field(default_factory=CompositeSettings)
    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    window: int = 6
    keep: int = 30
    max_tiles: int = MAX_TILES
    words: StreamWords = ENGLISH
    """Role titles and slates, in the court's language."""


class _Feed:
    """One opening's segments, from the encoder's thread back to the event loop."""

    def __init__(self, owner: HearingLivestream, loop: asyncio.AbstractEventLoop) -> None:
        self.owner = owner
        self.loop = loop
        self.active = True
        self.first = True
        self.segments = 0

    def segment(self, segment: EncodedSegment) -> None:
        self._post(self.owner._segment_ready, self, segment)

    def ended(self) -> None:
        self._post(self.owner._stream_ended, self)

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        if self.active and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed as the thread finished
                self.loop.call_soon_threadsafe(callback, *args)


class HearingLivestream:
    def __init__(
        self,
        *,
        hearing_id: str,
        rules: HearingRules,
        audit: AuditLog,
        settings: LivestreamSettings = LivestreamSettings(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hearing_id = hearing_id
        self._rules = rules
        self._audit = audit
        self.settings = settings
        self._clock = clock
        self.delay_line = DelayLine(
            settings.delay, clock=clock, window=settings.window, keep=settings.keep
        )
        self.state = LivestreamState.CLOSED
        self._compositor: Compositor | None = None
        self._feed: _Feed | None = None
        self._feeds: set[_Feed] = set()
        """Every opening whose thread may still hand over segments (a closed one finishes)."""
        self._tiles: list[TileSource] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed_at: float | None = None
        """Stream time of the last close or stop: the stream holds nothing after it."""

    @property
    def delay(self) -> float:
        return self.settings.delay

    def allowed(self) -> bool:
        """Whether this hearing may ever be streamed: a public trial of an open category."""
        rules = self._rules
        return rules.type is HearingType.TRIAL and rules.public and not rules.in_camera_only

    def stream_time(self) -> float | None:
        return None if self._compositor is None else self._compositor.stream_time()

    @property
    def tiles(self) -> list[TileSource]:
        return list(self._tiles)

    # -- orders ---------------------------------------------------------------------------

    def open(self, actor: str, phase: Phase) -> None:
        """Start streaming, or raise LivestreamForbidden saying why not."""
        if not self.allowed():
            raise LivestreamForbidden("this hearing is not public: it is never streamed")
        if phase is not Phase.IN_SESSION:
            raise LivestreamForbidden(f"the court is not sitting in public ({phase.value})")
        if self.state is LivestreamState.LIVE:
            return
        loop = asyncio.get_running_loop()
        self.delay_line.resume()
        feed = self._feed = _Feed(self, loop)
        self._feeds.add(feed)
        encoder = HlsEncoder(self.settings.composite, self.settings.encoder, feed)
        compositor = Compositor(
            self.settings.composite,
            encoder,
            clock=self._clock,
            name=f"livestream-{self.hearing_id}",
            on_failure=self._failed,
        )
        self._compositor = compositor
        compositor.start()
        compositor.show(self._tiles)
        self.state = LivestreamState.LIVE
        self.closed_at = None
        for text in (
            self.settings.words.cut,
            self.settings.words.not_sitting,
        ):  # ready before they are needed
            self._spawn(self._warm(text))
        self._record(actor, "livestream_opened", details={"delay_ms": round(self.delay * 1000)})

    def close(self, actor: str, reason: str = "judge") -> None:
        """Stop taking anything in; what waits in the delay line still goes out, then ends."""
        if self.state is not LivestreamState.LIVE or self._compositor is None:
            return
        self.closed_at = self._compositor.stop()
        self.state = LivestreamState.CLOSED
        details = {"reason": reason, "stream_ms": round(self.closed_at * 1000)}
        self._record(actor, "livestream_closed", details=details)

    def cut(self, actor: str) -> int:
        """Drop everything not yet published and end with the court's slate; return how many
        segments were dropped. Cutting a cut stream does nothing more."""
        if self._compositor is None:
            raise LivestreamForbidden("the livestream has not been opened")
        if self.state is LivestreamState.CUT:
            return 0
        if self._compositor.running:
            if self.closed_at is None:
                self.closed_at = self._compositor.stream_time()
            self._compositor.abort()
        for feed in self._feeds:  # a closed stream still finishing hands over nothing more
            feed.active = False
        self._feeds.clear()
        self._feed = None
        dropped = len(self.delay_line.cut())
        self.state = LivestreamState.CUT
        if not self.delay_line.ended:
            self._spawn(self._append_slate(self.settings.words.cut, delayed=False, feed=None))
        self._record(actor, "livestream_cut", details={"dropped_segments": dropped})
        return dropped

    def note_phase(self, actor: str, phase: Phase) -> None:
        """The court left public session: stop at once."""
        if phase is not Phase.IN_SESSION and self.state is LivestreamState.LIVE:
            self.close(actor, reason=phase.value)

    def sync(self, candidates: Iterable[Candidate], phase: Phase) -> None:
        """Show exactly what the policy permits of these candidates."""
        self._tiles = public_tiles(
            candidates, self._rules, phase, self.settings.max_tiles, self.settings.words
        )
        if self.state is LivestreamState.LIVE and self._compositor is not None:
            self._compositor.show(self._tiles)

    # -- from the encoder's thread ----------------------------------------------------------

    def _segment_ready(self, feed: _Feed, segment: EncodedSegment) -> None:
        if not feed.active:
            return
        if feed.first:
            self.delay_line.mark_discontinuity()
            feed.first = False
        self.delay_line.add(segment)
        feed.segments += 1

    def _stream_ended(self, feed: _Feed) -> None:
        self._feeds.discard(feed)
        if feed.active and feed is self._feed and self.state is not LivestreamState.LIVE:
            self._spawn(
                self._append_slate(self.settings.words.not_sitting, delayed=True, feed=feed)
            )

    def _failed(self, exc: BaseException) -> None:
        if self._feed is None or self.state is not LivestreamState.LIVE:
            return
        self.state = LivestreamState.CLOSED
        self._record(ACTOR, "livestream_failed", result=type(exc).__name__)
        self._spawn(
            self._append_slate(self.settings.words.not_sitting, delayed=True, feed=self._feed)
        )

    async def _append_slate(self, text: str, *, delayed: bool, feed: _Feed | None) -> None:
        segments = await slate.slate_segments(text, self.settings.composite, self.settings.encoder)
        if feed is not self._feed or self.state is LivestreamState.LIVE:
            return  # opened again meanwhile: no slate, no end
        self.delay_line.mark_discontinuity()
        for segment in segments:
            self.delay_line.add(segment, delayed=delayed, media=False)
        self.delay_line.end()

    async def _warm(self, text: str) -> None:
        await slate.slate_segments(text, self.settings.composite, self.settings.encoder)

    def _record(self, actor: str, action: str, **kw: Any) -> None:
        try:
            self._audit.record(actor, action, **kw)
        except Exception:
            log.exception("the audit log of %s refused %s", self.hearing_id, action)

    # -- public reads ---------------------------------------------------------------------

    def playlist(self) -> str | None:
        return self.delay_line.playlist()

    def segment(self, name: str) -> bytes | None:
        return self.delay_line.segment(name)

    # -- lifecycle ------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(self._guard(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, coro: Coroutine[Any, Any, None]) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a step of the livestream of %s failed", self.hearing_id)

    async def aclose(self) -> None:
        """Abandon the stream (the node is stopping). Idempotent."""
        if self._compositor is not None:
            self._compositor.abort()
            await self._compositor.wait_closed()
        for feed in self._feeds:
            feed.active = False
        if self.state is LivestreamState.LIVE:
            self.state = LivestreamState.CLOSED
        self.delay_line.end()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
