"""The bench's orders about interpreters (mode, on air, whom a whisper reaches, handover)
and a participant's choice of language. Each checks the actor's role before it looks the
target up, changes `Interpreters`, is audited with what forwarding did, and is announced
after forwarding has changed. Mixed into `HearingSession`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from hearing.interpretation import Mode
from hearing.permissions import Action, check
from hearing.seats import Seat
from signaling.enforcement import Applied
from signaling.interpreters import Interpreters
from signaling.member import Member, Records


class _Session(Records, Protocol):
    @property
    def interpreters(self) -> Interpreters: ...

    def _target(self, participant_id: str) -> Seat: ...

    def _require_admitted(self, member: Member) -> None: ...

    async def _announce_state(self, reason: Mapping[str, str] | None = None) -> Applied: ...


class InterpretationOrders:
    """The bench's orders about interpreters, and a participant's choice of language."""

    async def order_interpretation(
        self: _Session,
        actor: Member,
        participant_id: str,
        mode: Mode | None,
        on_air: bool | None,
        whisper_to: frozenset[str] | None,
    ) -> None:
        check(actor.participant.role, Action.ORDER_INTERPRETATION)
        self._target(participant_id)
        for pid in whisper_to or ():
            self._target(pid)
        taken_off = self.interpreters.order(participant_id, mode, on_air, whisper_to)
        applied = await self._announce_state()
        order = self.interpreters.orders[participant_id]
        details: dict[str, Any] = {
            "mode": order.mode.value,
            "on_air": order.on_air,
            "whisper_to": ", ".join(sorted(order.whisper_to)),
            **applied.details(),
        }
        if taken_off:
            details["taken_off_air"] = ", ".join(taken_off)
        self.record(actor.participant.id, "interpretation", target=participant_id, details=details)

    async def hand_over_interpretation(
        self: _Session, actor: Member, from_id: str, to_id: str
    ) -> None:
        check(actor.participant.role, Action.ORDER_INTERPRETATION)
        self._target(from_id)
        self._target(to_id)
        self.interpreters.hand_over(from_id, to_id)
        applied = await self._announce_state()
        details = {"to": to_id, **applied.details()}
        self.record(
            actor.participant.id, "interpretation_handover", target=from_id, details=details
        )

    async def choose_language(self: _Session, member: Member, language: str) -> None:
        self._require_admitted(member)
        tag = self.interpreters.choose(member.participant.id, language)
        applied = await self._announce_state()
        self.record(
            member.participant.id, "language", details={"language": tag, **applied.details()}
        )
