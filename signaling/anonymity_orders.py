"""Anonymity orders (`hearing/anonymity.py`): made, varied and discharged by the presiding
judge. The order is checked before the target is looked up (a refusal reveals nothing), put
in force, and forwarding follows: every masked viewer's natural track is stopped at the
packet and the masked variant started before it is offered to them. The audit names the
pseudonym and the hash of the voice key, never the real name nor the key. Mixed into
`HearingSession`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from hearing.anonymity import make_order
from hearing.errors import HearingError, InvalidHearing
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
        fields = {"pseudonym": pseudonym, "screening": screening, "voice": voice}
        return await _put_in_force(self, actor.participant.id, participant_id, fields, masked_from)

    async def discharge_anonymity(self: _Session, actor: Member, participant_id: str) -> None:
        check(actor.participant.role, Action.ORDER_ANONYMITY)
        await _discharge(self, actor.participant.id, participant_id)

    async def anonymity_from_api(
        self: _Session, actor: str, participant_id: str, order: Mapping[str, Any] | None
    ) -> None:
        """The judge's order as the court's system relays it (the REST API, over the cluster
        bus to the node hosting the hearing): `None` discharges. A refusal is audited."""
        try:
            if order is None:
                await _discharge(self, actor, participant_id)
            else:
                fields = {k: str(order[k]) for k in ("pseudonym", "screening", "voice")}
                audience = [str(a) for a in order["masked_from"]]
                await _put_in_force(self, actor, participant_id, fields, audience)
        except HearingError as refused:
            details = {"request": "anonymity_order" if order else "discharge_anonymity"}
            self.record(
                actor, "refused", target=participant_id, result=refused.code, details=details
            )


async def _put_in_force(
    session: _Session,
    actor: str,
    participant_id: str,
    fields: Mapping[str, str],
    masked_from: Sequence[str],
) -> dict[str, str]:
    seat = session._target(participant_id)
    previous = session.court.anonymity.get(participant_id)
    order = make_order(  # a refusal raises here, and is audited once by the caller's path
        participant_id,
        seat.role,
        pseudonym=fields["pseudonym"],
        screening=fields["screening"],
        voice=fields["voice"],
        masked_from=masked_from,
        previous=previous,
    )
    session.court.anonymity[participant_id] = order
    applied = await session._announce_state()
    action = "vary_anonymity" if previous is not None else "anonymity_order"
    details = order.audit_details() | applied.details()
    session.record(actor, action, target=participant_id, details=details)
    return order.audit_details()


async def _discharge(session: _Session, actor: str, participant_id: str) -> None:
    session._target(participant_id)
    order = session.court.anonymity.pop(participant_id, None)
    if order is None:
        raise InvalidHearing("no anonymity order is in force over them", field="participant_id")
    applied = await session._announce_state()
    details = {"pseudonym": order.pseudonym, **applied.details()}
    session.record(actor, "discharge_anonymity", target=participant_id, details=details)
