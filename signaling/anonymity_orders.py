"""Anonymity orders (`hearing/anonymity.py`): made, varied and discharged by the presiding
judge. The order is checked before the target is looked up (a refusal reveals nothing), put
in force, and forwarding follows: every masked viewer's natural track is stopped at the
packet and the masked variant started before it is offered to them. The audit names the
pseudonym and the hash of the voice key, never the real name nor the key. Mixed into
`HearingSession`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from hearing.anonymity import make_order
from hearing.errors import InvalidHearing
from hearing.matrix import Visibility
from hearing.permissions import Action, check
from hearing.seats import Seat
from media import PublishedTrack
from media.masking import MaskingHub
from media.masking_transforms import MaskSpec
from signaling.courtroom import Courtroom
from signaling.enforcement import Applied, Wanted
from signaling.livestream_control import LivestreamControl
from signaling.member import Member, Records


class _Session(Records, Protocol):
    court: Courtroom
    members: dict[str, Member]
    masking: MaskingHub
    livestream: LivestreamControl

    def _receives_masked(self, viewer: Seat, publisher: Seat, kind: str) -> bool: ...

    def _variant_of(self, track: PublishedTrack) -> PublishedTrack | None: ...

    def _target(self, participant_id: str) -> Seat: ...

    async def _announce_state(self, reason: Mapping[str, str] | None = None) -> Applied: ...


class AnonymityOrders:
    # -- what forwarding asks (HearingSession._reconcile_now, the monitor, the stream) -----

    def _receives_masked(self: _Session, viewer: Seat, publisher: Seat, kind: str) -> bool:
        return self.court.verdict(viewer, publisher, kind) is Visibility.MASKED

    def _masked_variant(
        self: _Session, viewer: Seat, publisher: Seat, track: PublishedTrack
    ) -> PublishedTrack | None:
        """The masked variant `viewer` receives of `track`, started now if it was not
        running; None if the viewer is not masked from it or none can be made."""
        if not self._receives_masked(viewer, publisher, track.label):
            return None
        return self._variant_of(track)

    def _variant_of(self: _Session, track: PublishedTrack) -> PublishedTrack | None:
        order = self.court.anonymity.get(track.source)
        if order is None:
            return None
        if track.kind == "audio":
            spec = MaskSpec("hidden", order.key.pitch, order.key.formant)
        else:
            spec = MaskSpec(order.screening.value)
        return self.masking.variant(track, spec)

    def _retain_variants(self: _Session, answers: Mapping[str, Wanted | None]) -> None:
        used = {tid for wanted in answers.values() if wanted for tid in wanted}
        self.masking.retain(frozenset(used) | self.livestream.masked_in_use)

    # -- the orders ----------------------------------------------------------------------

    async def order_anonymity(
        self: _Session,
        actor: Member,
        participant_id: str,
        *,
        pseudonym: str,
        screening: str,
        voice: str,
        masked_from: Sequence[str],
    ) -> dict[str, str]:
        """Make or vary the order over a participant; returns what the audit records."""
        check(actor.participant.role, Action.ORDER_ANONYMITY)
        seat = self._target(participant_id)
        previous = self.court.anonymity.get(participant_id)
        order = make_order(  # a refusal raises here, and the server audits it once
            participant_id,
            seat.role,
            pseudonym=pseudonym,
            screening=screening,
            voice=voice,
            masked_from=masked_from,
            previous=previous,
        )
        self.court.anonymity[participant_id] = order
        applied = await self._announce_state()
        action = "vary_anonymity" if previous is not None else "anonymity_order"
        details = order.audit_details() | applied.details()
        self.record(actor.participant.id, action, target=participant_id, details=details)
        return order.audit_details()

    async def discharge_anonymity(self: _Session, actor: Member, participant_id: str) -> None:
        check(actor.participant.role, Action.ORDER_ANONYMITY)
        self._target(participant_id)
        order = self.court.anonymity.pop(participant_id, None)
        if order is None:
            raise InvalidHearing("no anonymity order is in force over them", field="participant_id")
        applied = await self._announce_state()
        details = {"pseudonym": order.pseudonym, **applied.details()}
        self.record(
            actor.participant.id, "discharge_anonymity", target=participant_id, details=details
        )
