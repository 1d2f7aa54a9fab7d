"""A client's watch over its own two legs (docs/protocol.md, "Healing media").

The server closes a leg it finds dead and says `media_lost`, but only after its consent period
(`ECOURT_LEG_SILENCE_SECONDS`, 30 s by default), and it cannot see a leg that died at the
client's end while its own half still looks open. So the client watches both of its legs too:
a leg whose connection failed or closed, or that stopped hearing from the server, is rebuilt
(a new publish leg, or `restart_media` for a new subscribe leg), with a growing pause between
attempts on the same leg, and without leaving the courtroom.

What a healthy leg hears: on the publish leg, the server's receiver reports and REMB about
once a second; on a subscribe leg that carries a track, the server's sender reports about once
a second besides the media; on any leg, ICE consent checks both ways about every 5 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiortc import RTCPeerConnection

from media._aiortc_hooks import Heard, note_datagrams

log = logging.getLogger(__name__)

LEGS = ("publish", "subscribe")


@dataclass(frozen=True, slots=True)
class WatchRules:
    """When a client calls one of its legs dead, and how often it tries again."""

    media_silence: float = 4.0
    """A leg that carries media (the publish leg; a subscribe leg with a track) and has heard
    media on this connection, then hears none for this long, is dead."""
    quiet_silence: float = 12.0
    """A leg with no media yet (still connecting, or nothing to carry) that hears nothing at
    all for this long (not even a consent check) is dead."""
    first_retry: float = 2.0
    """The least pause before the same leg is rebuilt again; it doubles after each attempt
    that has not brought media back, up to `longest_retry`, and starts over once it has."""
    longest_retry: float = 16.0
    every: float = 0.5
    """How often both legs are looked at."""

    def __post_init__(self) -> None:
        times = (self.media_silence, self.quiet_silence, self.first_retry, self.every)
        if min(times) <= 0 or self.longest_retry < self.first_retry:
            raise ValueError("watch times must be positive, the longest retry the longest")


WATCH = WatchRules()
"""The watch a client keeps unless told otherwise."""


def verdict(
    state: str,
    since: float,
    heard: Heard,
    carries_from: float | None,
    now: float,
    rules: WatchRules,
) -> str | None:
    """Why a leg watched since `since` is dead (`failed`, `closed`, `silent`), or None.
    `carries_from`: since when it should carry media, None while it has nothing to carry."""
    if state in ("failed", "closed"):
        return state
    media_at = heard.media_at
    if carries_from is not None and media_at is not None and media_at >= since:
        return "silent" if now - max(media_at, carries_from) > rules.media_silence else None
    last = since if heard.at is None else max(heard.at, since)
    return "silent" if now - last > rules.quiet_silence else None


@dataclass(slots=True)
class _Watched:
    pc: RTCPeerConnection
    heard: Heard
    since: float
    carries: Callable[[], bool]
    carries_from: float | None = None


Rebuild = Callable[[str, str], Awaitable[None]]


class LegWatch:
    """Looks at both legs every `rules.every` seconds and rebuilds a dead one through
    `rebuild(leg, reason)`. `run()` is the owner's task; `watch()` is called for each new
    connection once it has gathered (before its offer or answer goes out)."""

    def __init__(
        self, rules: WatchRules, rebuild: Rebuild, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rules = rules
        self._rebuild = rebuild
        self._clock = clock
        self._legs: dict[str, _Watched] = {}
        self._awaiting: dict[str, float] = {}
        """Legs being replaced by the client itself, since when: no connection is judged
        until the new one comes; none within `quiet_silence`, and it is rebuilt."""
        self._delay = dict.fromkeys(LEGS, rules.first_retry)
        self._not_before = dict.fromkeys(LEGS, 0.0)
        self.rebuilds: list[tuple[str, str]] = []
        """Every rebuild this watch asked for: (leg, reason)."""

    def watch(
        self, leg: str, pc: RTCPeerConnection, carries: Callable[[], bool] = lambda: True
    ) -> None:
        self._awaiting.pop(leg, None)
        self._legs[leg] = _Watched(pc, note_datagrams(pc), self._clock(), carries)

    def forget(self, leg: str) -> None:
        """The client closed this leg on purpose (it stopped publishing): not rebuilt."""
        self._legs.pop(leg, None)
        self._awaiting.pop(leg, None)

    def replacing(self, leg: str) -> None:
        """The client is replacing this leg itself (a restart, a new publication): its old
        connection, about to close, is no longer judged; the new one is, once `watch`ed."""
        self._legs.pop(leg, None)
        if leg in LEGS:
            self._awaiting.setdefault(leg, self._clock())

    def watching(self, leg: str) -> RTCPeerConnection | None:
        watched = self._legs.get(leg)
        return None if watched is None else watched.pc

    def due(self, now: float) -> list[tuple[str, str]]:
        """The legs to rebuild now, with why; each one's next attempt is put off."""
        due = []
        for leg, watched in self._legs.items():
            carries = watched.carries()
            if not carries:
                watched.carries_from = None
            elif watched.carries_from is None:
                watched.carries_from = now
            media_at = watched.heard.media_at
            if media_at is not None and media_at >= watched.since:
                self._delay[leg] = self.rules.first_retry  # it carried media: start over
            reason = verdict(
                watched.pc.connectionState,
                watched.since,
                watched.heard,
                watched.carries_from,
                now,
                self.rules,
            )
            if reason is not None and now >= self._not_before[leg]:
                due.append((leg, reason))
        for leg, asked_at in list(self._awaiting.items()):
            if now - asked_at > self.rules.quiet_silence and now >= self._not_before[leg]:
                self._awaiting[leg] = now
                due.append((leg, "not_replaced"))
        for leg, _reason in due:
            self._put_off(leg, now)
        return due

    def lost(self, leg: str) -> bool:
        """The server closed this leg (`media_lost`): rebuild it now unless an attempt was
        made within the pause; True if it should be."""
        now = self._clock()
        if leg not in LEGS or now < self._not_before[leg]:
            return False
        self._put_off(leg, now)
        return True

    def _put_off(self, leg: str, now: float) -> None:
        self._not_before[leg] = now + self._delay[leg]
        self._delay[leg] = min(2 * self._delay[leg], self.rules.longest_retry)
        watched = self._legs.get(leg)
        if watched is not None:
            watched.since = now  # the same connection, if it stays, is judged afresh

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.rules.every)
            for leg, reason in self.due(self._clock()):
                self.rebuilds.append((leg, reason))
                log.info("rebuilding the %s leg: %s", leg, reason)
                with contextlib.suppress(Exception):
                    await self._rebuild(leg, reason)
