"""The hearing's recorder as the session sees it: which tracks are candidates, the judge's
start and pause orders, and the phase changes. The recorder decides what the policy permits;
a failure of the recorder (a full disk) is logged and audited, and never stops the hearing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from hearing import Participant
from hearing.permissions import Action, check
from hearing.phases import Phase
from hearing.seats import Seat
from recording.errors import RecordingForbidden
from recording.recorder import Candidate, HearingRecorder
from signaling.member import Member

log = logging.getLogger(__name__)

AuditWriter = Callable[..., None]


class RecordingControl:
    def __init__(self, recorder: HearingRecorder | None, audit: AuditWriter) -> None:
        self._recorder = recorder
        self._audit = audit

    @property
    def state(self) -> str:
        """`off` (no recorder on this node), `idle`, `recording`, `paused` or `stopped`."""
        return "off" if self._recorder is None else self._recorder.state

    @property
    def recorder(self) -> HearingRecorder | None:
        return self._recorder

    def order(self, actor: Participant, start: bool, phase: Phase) -> None:
        """The judge (or clerk) starts or pauses recording; raises where refused."""
        check(actor.role, Action.START_RECORDING if start else Action.PAUSE_RECORDING)
        if self._recorder is None:
            raise RecordingForbidden("recording is not available on this server")
        if start:
            self._recorder.start(actor.id, phase)
        else:
            self._recorder.pause(actor.id)

    def sync(
        self, members: Iterable[Member], seat_of: Callable[[Participant], Seat | None], phase: Phase
    ) -> None:
        if self._recorder is None or self._recorder.state != "recording":
            return
        candidates = []
        for member in members:
            seat = seat_of(member.participant)
            if seat is None:
                continue
            role = member.participant.role.value
            candidates += [
                Candidate(t, member.participant.id, role, seat.room) for t in member.tracks
            ]
        self._guard(lambda r: r.sync(candidates, phase))

    def phase_changed(self, actor: str, phase: Phase) -> None:
        self._guard(lambda r: r.note_phase(actor, phase))

    def _guard(self, step: Callable[[HearingRecorder], None]) -> None:
        if self._recorder is None:
            return
        try:
            step(self._recorder)
        except RecordingForbidden:
            raise
        except Exception as exc:
            log.exception("the recorder of %s failed", self._recorder.hearing_id)
            self._audit("recorder", "recording_failed", result=type(exc).__name__)

    def hand_over(self) -> None:
        """Seal what is recorded so that the next node continues the same recording."""
        self._guard(lambda r: r.hand_over())

    async def close(self) -> None:
        if self._recorder is not None:
            try:
                await self._recorder.close()
            except Exception:
                log.exception("closing the recorder of %s failed", self._recorder.hearing_id)
