"""Who receives which track, decided for every viewer on its own, and what a re-evaluation did.

`receivable` asks the court's rules for one viewer; a viewer whose answer cannot be computed
(a seat that cannot be found, a rule that raises) gets `None` and then receives nothing.
`HearingSession._reconcile_now` applies the answers in two passes: first every removal, at the
packet, for everyone (`SubscribePeer.permit`); then the sections of each leg (SDP), each viewer
on its own, so one broken leg never stops the others (`docs/court-rules.md`, "Fail closed").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from hearing import Participant
from hearing.seats import Seat
from media import MediaEngine, PublishedTrack
from signaling.courtroom import Courtroom
from signaling.livestream_control import LivestreamControl
from signaling.member import Member
from signaling.recording_control import RecordingControl

log = logging.getLogger(__name__)

SeatOf = Callable[[Participant], Seat | None]
Receives = Callable[[Seat, Seat, str], bool]
Masked = Callable[[Seat, Seat, PublishedTrack], PublishedTrack | None]
"""The masked variant of a track a viewer receives in the masked form (an anonymity order),
or None: the viewer is not masked from it, or no variant can be made (then nothing)."""
Wanted = dict[str, PublishedTrack]
"""A viewer's permitted tracks, by track id."""


def seats_of(members: Iterable[Member], seat_of: SeatOf) -> dict[str, Seat | None]:
    """Every member's seat; one whose seat cannot be found has none (and receives and sends
    nothing)."""
    seats: dict[str, Seat | None] = {}
    for member in members:
        pid = member.participant.id
        try:
            seats[pid] = seat_of(member.participant)
        except Exception:
            log.exception("the seat of %s could not be found; it is treated as out", pid)
            seats[pid] = None
    return seats


def receivable(
    viewer: Member,
    members: Iterable[Member],
    seats: Mapping[str, Seat | None],
    receives: Receives,
    masked: Masked | None = None,
) -> Wanted:
    """The tracks `viewer` may receive now, by the court's rules: the natural track, or
    (`masked`) its masked variant, never both."""
    wanted: Wanted = {}
    viewer_seat = seats.get(viewer.participant.id)
    if viewer_seat is None:
        return wanted
    for publisher in members:
        publisher_seat = seats.get(publisher.participant.id)
        if publisher_seat is None:
            continue
        for track in publisher.tracks:
            if receives(viewer_seat, publisher_seat, track.label):
                wanted[track.id] = track
            elif masked is not None:
                variant = masked(viewer_seat, publisher_seat, track)
                if variant is not None:
                    wanted[variant.id] = variant
    return wanted


def plan(
    members: Mapping[str, Member],
    seat_of: SeatOf,
    receives: Receives,
    masked: Masked | None = None,
) -> dict[str, Wanted | None]:
    """`receivable` for every viewer; `None` for a viewer whose answer could not be computed."""
    seats = seats_of(members.values(), seat_of)
    answers: dict[str, Wanted | None] = {}
    for pid, viewer in members.items():
        try:
            answers[pid] = receivable(viewer, members.values(), seats, receives, masked)
        except Exception:
            log.exception("what %s may receive could not be computed; it receives nothing", pid)
            answers[pid] = None
    return answers


@dataclass(frozen=True, slots=True)
class Applied:
    """What one re-evaluation did: pairs stopped at the packet, pairs permitted, and the
    viewers cut off from everything (with why) because their leg could not be brought in line."""

    removed: int = 0
    added: int = 0
    cut_off: tuple[tuple[str, str], ...] = ()

    def details(self) -> dict[str, str | int]:
        """For the order's audit entry (flat values, as the audit log takes them)."""
        applied: dict[str, str | int] = {"removed": self.removed, "added": self.added}
        if self.cut_off:
            applied["cut_off"] = ", ".join(f"{p} ({r})" for p, r in self.cut_off)
        return applied


class _Session(Protocol):
    members: dict[str, Member]
    court: Courtroom
    recording: RecordingControl
    livestream: LivestreamControl

    @property
    def _engine(self) -> MediaEngine: ...

    @property
    def hearing_id(self) -> str: ...

    def seat_of(self, participant: Participant) -> Seat | None: ...

    def _cut_off(self, member: Member, reason: str) -> None: ...

    def _resection(self, viewer: Member, wanted: Wanted) -> bool: ...

    def _sync_outputs(self) -> None: ...

    def _masked_variant(
        self, viewer: Seat, publisher: Seat, track: PublishedTrack
    ) -> PublishedTrack | None: ...

    def _retain_variants(self, answers: Mapping[str, Wanted | None]) -> None: ...

    def _variant_of(self, track: PublishedTrack) -> PublishedTrack | None: ...


class Enforcement:
    """The re-evaluation itself. Mixed into `HearingSession`."""

    def _reconcile_now(self: _Session) -> tuple[list[Member], Applied]:
        """Bring every leg in line with the rules; return the members to re-offer, and what
        was done. Every viewer is handled on its own: first every removal takes effect at the
        packet (the allow-sets), for everyone, before any SDP work; then each leg's sections.
        A viewer whose answer cannot be computed, or whose leg fails, is cut off from
        everything (and told, and audited); the others go on."""
        # masked variants are started here, before any viewer is switched to one
        answers = plan(self.members, self.seat_of, self.court.receives, self._masked_variant)
        removed = 0
        for pid, viewer in self.members.items():
            leg = viewer.subscribe
            if leg is not None:
                wanted = answers[pid]
                keep = frozenset() if wanted is None else leg.allowed & wanted.keys()
                removed += len(leg.allowed - keep)
                leg.permit(keep)
        changed: list[Member] = []
        cut_off: list[tuple[str, str]] = []
        added = 0
        for pid, viewer in list(self.members.items()):
            wanted = answers[pid]
            if wanted is None:
                cut_off.append((pid, "rules_unavailable"))
                continue
            before = viewer.subscribe.allowed if viewer.subscribe else frozenset()
            try:
                if self._resection(viewer, wanted):
                    changed.append(viewer)
            except Exception:
                log.exception("the subscribe leg of %s could not be brought in line", pid)
                cut_off.append((pid, "leg_failed"))
                continue
            added += len(wanted.keys() - before)
        for pid, reason in cut_off:
            self._cut_off(self.members[pid], reason)
        self._sync_outputs()
        self._retain_variants(answers)
        return changed, Applied(removed, added, tuple(cut_off))

    def _resection(self: _Session, viewer: Member, wanted: Wanted) -> bool:
        """Permit exactly `wanted` on the viewer's leg and attach or detach its sections;
        True if the leg needs a new offer."""
        leg = viewer.subscribe
        current = leg.track_ids if leg is not None else frozenset()
        if leg is None:
            if not wanted or viewer.subscribe_lost is not None:
                return False  # a leg the server closed is rebuilt when the client asks
            leg = viewer.subscribe = self._engine.subscribe_peer()
        for track_id in current - wanted.keys():
            leg.detach(track_id)
        leg.permit(frozenset(wanted))
        for track_id in wanted.keys() - current:
            leg.attach(wanted[track_id])
        return set(wanted) != current

    def _sync_outputs(self: _Session) -> None:
        """The recorder and the livestream follow the change; one that fails is logged and
        changes nothing of the forwarding."""
        try:
            self.recording.sync(self.members.values(), self.seat_of, self.court.phase)
        except Exception:
            log.exception("the recording of %s could not follow a change", self.hearing_id)
        try:
            self.livestream.sync(self.members.values(), self.seat_of, self.court, self._variant_of)
        except Exception:
            log.exception("the livestream of %s could not follow a change", self.hearing_id)
