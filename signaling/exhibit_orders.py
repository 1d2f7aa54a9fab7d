"""The bench's order about an exhibit: the clerk or a judge admits or refuses it from the
hearing (`exhibit_decision`). The ledger checks the role and writes the decision, with the
exhibit's hash, to the hearing's own audit log, where `exhibit.admitted` reaches the webhooks.
Mixed into `HearingSession`."""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

from hearing.exhibits import check_may_decide
from recording.exhibits.ledger import ExhibitLedger, Submitter
from security import AuditLog
from signaling.member import Member


class _Session(Protocol):
    hearing_id: str

    @property
    def audit_log(self) -> AuditLog: ...

    def _require_admitted(self, member: Member) -> None: ...


class ExhibitOrders:
    def decide_exhibit(
        self: _Session, ledger: ExhibitLedger, actor: Member, exhibit_id: str, admitted: bool
    ) -> dict[str, Any]:
        self._require_admitted(actor)
        role = actor.participant.role
        check_may_decide(role)  # before the lookup: a refusal reveals nothing
        record = ledger.decide(
            self.hearing_id,
            exhibit_id,
            Submitter(actor.participant.id, role),
            admitted,
            lambda: contextlib.nullcontext(self.audit_log),
        )
        return record.public_json()
