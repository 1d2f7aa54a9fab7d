"""The bench's orders about exhibits, mixed into `HearingSession`:

- `exhibit_decision`: the clerk or a judge admits or refuses one. The ledger checks the role
  and writes the decision, with the exhibit's hash, to the hearing's own audit log, where
  `exhibit.admitted` reaches the webhooks.
- `present_exhibit`, `exhibit_page`, `stop_exhibit`: whoever may share a screen (the presiding
  judge, or whom the judge granted it) shows an admitted PDF or image to the room; page, zoom
  and pointer go to everyone who sees it (`hearing.exhibits.sees_exhibit`), and everyone else
  is told there is nothing for them. Each exhibit shown and each page turned is audited.
- `exhibits`: the hearing's exhibits for the bench's console.
- `page_for`: the page endpoint's check of one request (web/exhibit_pages.py).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any, Final, Protocol

from hearing import Participant
from hearing.errors import ActionNotPermitted
from hearing.exhibits import ExhibitState, check_may_decide, sees_exhibit
from hearing.permissions import Action
from hearing.seats import Seat
from recording.exhibits.content import ExhibitKind
from recording.exhibits.errors import ExhibitHidden, ExhibitNotAdmitted, ExhibitNotPresented
from recording.exhibits.ledger import ExhibitLedger, Submitter
from security import AuditLog
from signaling.courtroom import Courtroom
from signaling.member import Member, Outbox, Records

PRESENTABLE: Final = frozenset({ExhibitKind.PDF, ExhibitKind.PNG, ExhibitKind.JPEG})


@dataclass(frozen=True, slots=True)
class Presentation:
    exhibit_id: str
    number: str
    kind: ExhibitKind
    pages: int
    restricted: bool
    presenter_id: str
    page: int = 1
    zoom: float = 1.0
    pointer: tuple[float, float] | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "exhibit_id": self.exhibit_id,
            "number": self.number,
            "kind": self.kind.value,
            "pages": self.pages,
            "restricted": self.restricted,
            "presenter_id": self.presenter_id,
            "page": self.page,
            "zoom": self.zoom,
            "pointer": None if self.pointer is None else list(self.pointer),
        }


class _Session(Records, Protocol):
    hearing_id: str
    court: Courtroom
    members: dict[str, Member]
    presentation: Presentation | None

    @property
    def audit_log(self) -> AuditLog: ...

    @property
    def _outbox(self) -> Outbox: ...

    def _require_admitted(self, member: Member) -> None: ...

    def _admitted(self) -> list[Member]: ...

    def seat_of(self, participant: Participant) -> Seat | None: ...


class ExhibitOrders:
    presentation: Presentation | None = None

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

    def list_exhibits(self: _Session, ledger: ExhibitLedger, actor: Member) -> list[dict[str, Any]]:
        """The hearing's exhibits for the bench's console (the clerk and the judges only):
        number, title, kind, pages, state, restricted; never content."""
        self._require_admitted(actor)
        check_may_decide(actor.participant.role)
        return [
            {
                "id": r.id,
                "number": r.number,
                "title": r.title,
                "kind": r.kind.value,
                "pages": r.pages,
                "state": r.state.value,
                "restricted": r.restricted,
            }
            for r in ledger.of_hearing(self.hearing_id)
        ]

    async def present_exhibit(
        self: _Session, ledger: ExhibitLedger, actor: Member, exhibit_id: str
    ) -> dict[str, Any]:
        self._require_admitted(actor)
        seat = self.seat_of(actor.participant)
        if seat is None or not self.court.may_share_screen(seat):
            raise ActionNotPermitted(
                "presenting an exhibit is sharing a screen: the presiding judge grants it",
                role=actor.participant.role.value,
                action=Action.SHARE_SCREEN.value,
            )
        record = ledger.get(self.hearing_id, exhibit_id)
        if record.state is not ExhibitState.ADMITTED or record.kind not in PRESENTABLE:
            raise ExhibitNotAdmitted(f"{record.number} is not an admitted document or image")
        shown = Presentation(
            record.id,
            record.number,
            record.kind,
            max(1, record.pages),
            record.restricted,
            actor.participant.id,
        )
        self.presentation = shown
        details = {
            "number": record.number,
            "sha256": record.sha256,
            "restricted": record.restricted,
            "room": seat.room.kind.value,
            "page": 1,
        }
        self.record(actor.participant.id, "exhibit_presented", target=record.id, details=details)
        await ExhibitOrders._send_presentation(self)
        return shown.wire()

    async def turn_exhibit_page(
        self: _Session,
        actor: Member,
        page: int,
        zoom: float,
        pointer: tuple[float, float] | None,
    ) -> dict[str, Any]:
        shown = self.presentation
        if shown is None or shown.presenter_id != actor.participant.id:
            raise ExhibitNotPresented("you are not presenting an exhibit")
        if not 1 <= page <= shown.pages:
            raise ExhibitNotPresented(f"{shown.number} has pages 1 to {shown.pages}")
        turned = page != shown.page
        shown = replace(shown, page=page, zoom=zoom, pointer=pointer)
        self.presentation = shown
        if turned:  # zoom and pointer are not the record; the pages shown are
            details = {"number": shown.number, "page": page}
            self.record(
                actor.participant.id, "exhibit_page", target=shown.exhibit_id, details=details
            )
        await ExhibitOrders._send_presentation(self)
        return shown.wire()

    async def stop_exhibit(self: _Session, actor: Member) -> None:
        shown = self.presentation
        if shown is None:
            raise ExhibitNotPresented("no exhibit is presented")
        seat = self.seat_of(actor.participant)
        if actor.participant.id != shown.presenter_id and (
            seat is None or not self.court.may_share_screen(seat)
        ):
            raise ActionNotPermitted(
                "only the presenter or the bench stops a presentation",
                role=actor.participant.role.value,
                action=Action.SHARE_SCREEN.value,
            )
        self.presentation = None
        details = {"number": shown.number, "page": shown.page}
        self.record(
            actor.participant.id, "exhibit_stopped", target=shown.exhibit_id, details=details
        )
        await ExhibitOrders._send_presentation(self)

    def sees_presentation(self: _Session, member: Member) -> bool:
        shown = self.presentation
        if shown is None:
            return False
        presenter = self.members.get(shown.presenter_id)
        viewer_seat = self.seat_of(member.participant)
        presenter_seat = None if presenter is None else self.seat_of(presenter.participant)
        if viewer_seat is None or presenter_seat is None:
            return False
        return sees_exhibit(
            viewer_seat, presenter_seat, shown.restricted, self.court.phase, self.court.rules
        )

    async def _send_presentation(self: _Session) -> None:
        shown = self.presentation
        for member in self._admitted():
            visible = shown is not None and ExhibitOrders.sees_presentation(self, member)
            payload = {"exhibit": shown.wire() if visible and shown else None}
            await self._outbox.send(member.sid, "exhibit_shown", payload)

    def page_for(self: _Session, participant_id: str, exhibit_id: str, page: int) -> Presentation:
        """The presentation a page request of this participant may be answered from; a viewer
        the matrix keeps from it is refused `exhibit_hidden` and audited."""
        shown = self.presentation
        if shown is None or shown.exhibit_id != exhibit_id:
            raise ExhibitNotPresented("that exhibit is not presented now")
        member = self.members.get(participant_id)
        allowed = member is not None and ExhibitOrders.sees_presentation(self, member)
        if not allowed:
            details = {"number": shown.number, "page": page}
            self.record(
                participant_id,
                "exhibit_page_refused",
                target=exhibit_id,
                result=ExhibitHidden.code,
                details=details,
            )
            raise ExhibitHidden("this exhibit is not shown to you")
        if page != shown.page and participant_id != shown.presenter_id:
            raise ExhibitNotPresented(f"page {page} is not on screen; page {shown.page} is")
        return shown
