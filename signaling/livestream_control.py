"""The hearing's public stream as the session sees it: the presiding judge's open, close and
cut orders, the tracks a member of the public in the courtroom would receive, and the phase
changes. The stream itself asks the court's policy what it may show; a failure of the stream
is logged and audited, and never stops the hearing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Final

from hearing import Participant, Role
from hearing.matrix import Visibility
from hearing.permissions import Action, check
from hearing.phases import Phase
from hearing.privacy import shown_name
from hearing.rooms import COURTROOM
from hearing.seats import MediaKind, Seat
from media import PublishedTrack
from recording.errors import LivestreamForbidden
from recording.livestream.cast import Candidate
from recording.livestream.stream import HearingLivestream
from signaling.courtroom import Courtroom
from signaling.member import Member

log = logging.getLogger(__name__)

AuditWriter = Callable[..., None]
PUBLIC_ID: Final = "p_public"
PUBLIC_SEAT: Final = Seat(PUBLIC_ID, Role.OBSERVER, COURTROOM)
"""The public watching the stream: an observer in the courtroom, for the visibility matrix."""
ORDERS: Final = {
    "open": Action.OPEN_LIVESTREAM,
    "close": Action.CLOSE_LIVESTREAM,
    "cut": Action.CUT_LIVESTREAM,
}


class LivestreamControl:
    def __init__(
        self, stream: HearingLivestream | None, audit: AuditWriter, hearing_id: str
    ) -> None:
        self._stream = stream
        self.masked_in_use: frozenset[str] = frozenset()
        """The masked variants the stream shows now (they are kept running for it)."""
        self._audit = audit
        self._public = Participant(PUBLIC_ID, hearing_id, Role.OBSERVER, "The public")

    @property
    def stream(self) -> HearingLivestream | None:
        return self._stream

    @property
    def state(self) -> str:
        """`off` (no stream on this node), `closed`, `live` or `cut`."""
        return "off" if self._stream is None else self._stream.state.value

    def json(self) -> dict[str, Any]:
        delay = None if self._stream is None else self._stream.delay
        return {"state": self.state, "delay": delay}

    def order(self, actor: Participant, action: str, phase: Phase) -> None:
        """The presiding judge opens, closes or cuts the stream; raises where refused."""
        check(actor.role, ORDERS[action])
        if self._stream is None:
            raise LivestreamForbidden("the livestream is not available on this server")
        if action == "open":
            self._stream.open(actor.id, phase)
        elif action == "close":
            self._stream.close(actor.id)
        else:
            self._stream.cut(actor.id)

    def resume(self, state: object, phase: Phase) -> None:
        """A session rebuilt on this node: a stream that was live goes on (a new delay line
        starts); one the judge closed or cut stays so."""
        if state != "live" or self._stream is None:
            return
        try:
            self._stream.open("system", phase)
        except LivestreamForbidden as refused:
            log.info("the livestream of %s does not resume: %s", self._public.hearing_id, refused)
            return
        self._audit("system", "livestream_resumed")

    def sync(
        self,
        members: Iterable[Member],
        seat_of: Callable[[Participant], Seat | None],
        court: Courtroom,
        variant: Callable[[PublishedTrack], PublishedTrack | None] | None = None,
    ) -> None:
        """Hand the stream what the public in the courtroom would receive, and how named:
        an anonymous witness by pseudonym, and only in the masked form (`variant`)."""
        self.masked_in_use = frozenset()
        if self._stream is None:
            return
        candidates: list[Candidate] = []
        masked: set[str] = set()
        for member in members:
            seat = seat_of(member.participant)
            if seat is None:
                continue
            order = court.anonymity.get(member.participant.id)
            name = shown_name(member.participant, self._public)
            name = name if order is None else order.pseudonym
            for track in member.tracks:
                verdict = court.verdict(PUBLIC_SEAT, seat, track.label)
                if verdict is Visibility.DENY:
                    continue
                if order is not None and order.masks_kind(MediaKind(track.label)):
                    # the public stream always carries the masked form; none, nothing
                    shown = None if variant is None else variant(track)
                    if shown is None:
                        continue
                    masked.add(shown.id)
                    track = shown
                candidates.append(Candidate(track, member.participant.id, seat, name))
        self.masked_in_use = frozenset(masked)
        self._guard(lambda s: s.sync(candidates, court.phase))

    def phase_changed(self, actor: str, phase: Phase) -> None:
        self._guard(lambda s: s.note_phase(actor, phase))

    def _guard(self, step: Callable[[HearingLivestream], None]) -> None:
        if self._stream is None:
            return
        try:
            step(self._stream)
        except Exception as exc:
            log.exception("the livestream of %s failed", self._stream.hearing_id)
            self._audit("livestream", "livestream_failed", result=type(exc).__name__)

    async def close(self) -> None:
        if self._stream is not None:
            try:
                await self._stream.aclose()
            except Exception:
                log.exception("closing the livestream of %s failed", self._stream.hearing_id)
