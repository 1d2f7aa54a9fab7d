"""The reference monitor: a small check, independent of the re-evaluation, of what each sink
really forwards against what the visibility matrix allows at that moment.

It reads the sinks themselves (`SubscribePeer.forwarding`: attached, permitted, open) and their
packet counters, never the session's own idea of the subscriptions, and asks the rules afresh.
A sink forwarding a pair the rules deny, or a denied sink whose packet count still grows, is
cut at once (not permitted, and out of its leg's allow-set), and reported as an `Incident`.
It runs at least once a second and after every order (`HearingSession`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from media import PublishedTrack, TrackSink
from signaling.enforcement import Receives, SeatOf, seats_of
from signaling.member import Member

log = logging.getLogger(__name__)

MONITOR_INTERVAL = 0.5
"""Seconds between two checks: a wrong pair is cut within about this, and well within 1 s."""


@dataclass(frozen=True, slots=True)
class Incident:
    """A pair that was forwarded although the rules deny it (now cut)."""

    viewer: str
    publisher: str
    kind: str
    reason: str
    """`denied` (a permitted sink the rules deny) or `leaked` (a sink that sent packets while
    not permitted: the per-packet check itself failed)."""


class ReferenceMonitor:
    def __init__(
        self,
        members: Callable[[], Mapping[str, Member]],
        seat_of: SeatOf,
        receives: Receives,
        on_incident: Callable[[Incident], None],
        interval: float = MONITOR_INTERVAL,
        masked: Receives | None = None,
        variants: Callable[[], Mapping[str, PublishedTrack]] | None = None,
    ) -> None:
        """`masked` answers whether a viewer receives a publisher's kind in the masked form,
        and `variants` gives the masked variants by id: a masked variant is allowed exactly
        where the rules answer masked, and the natural track exactly where they allow it."""
        self._members = members
        self._masked = masked
        self._variants = variants
        self._seat_of = seat_of
        self._receives = receives
        self._on_incident = on_incident
        self._interval = interval
        self._withheld: WeakKeyDictionary[TrackSink, int | None] = WeakKeyDictionary()
        """Each sink's packet count when it was last seen withheld (None: it was forwarding)."""
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.incidents = 0
        self.checks = 0

    def start(self) -> None:
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop checking (idempotent)."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                self.check()
            except Exception:  # a check that fails is logged and tried again next time
                log.exception("the reference monitor's check failed once")

    def check(self) -> list[Incident]:
        """Compare every sink with the rules now; cut and report every difference."""
        if self._closed:
            return []
        self.checks += 1
        members = self._members()
        seats = seats_of(members.values(), self._seat_of)
        tracks = {t.id: (m, t) for m in members.values() for t in m.tracks}
        if self._variants is not None:
            by_source = {m.participant.id: m for m in members.values()}
            for variant_id, variant in self._variants().items():
                source = by_source.get(variant.source)
                if source is not None:
                    tracks[variant_id] = (source, variant)
        found: list[Incident] = []
        for viewer in members.values():
            leg = viewer.subscribe
            if leg is None:
                continue
            forwarding = leg.forwarding()
            for track_id, sink in [*forwarding.items(), *leg.withheld().items()]:
                owner = tracks.get(track_id)
                viewer_seat = seats.get(viewer.participant.id)
                publisher_seat = None if owner is None else seats.get(owner[0].participant.id)
                decide = self._receives
                if owner is not None and owner[1].form == "masked":
                    decide = self._masked or _never
                allowed = (
                    owner is not None
                    and viewer_seat is not None
                    and publisher_seat is not None
                    and decide(viewer_seat, publisher_seat, owner[1].label)
                )
                sent, withheld_before = sink.packets_sent, self._withheld.get(sink)
                self._withheld[sink] = None if track_id in forwarding else sent
                if allowed:
                    continue
                if track_id in forwarding:
                    reason = "denied"
                elif withheld_before is not None and sent > withheld_before:
                    reason = "leaked"  # sent although not permitted since the last check
                else:
                    continue
                leg.cut(track_id)
                publisher = owner[0].participant.id if owner else "unknown"
                kind = owner[1].label if owner else sink.kind
                found.append(Incident(viewer.participant.id, publisher, kind, reason))
        for incident in found:
            self.incidents += 1
            self._on_incident(incident)
        return found


def _never(_viewer: object, _publisher: object, _kind: str) -> bool:
    return False
