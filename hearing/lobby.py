"""The lobby: who waits, who is admitted, who was denied. Decides; never does."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from hearing.errors import UnknownParticipant
from hearing.model import Participant, bypasses_lobby
from hearing.permissions import Action, check


class Admission(StrEnum):
    WAITING = "waiting"
    ADMITTED = "admitted"
    DENIED = "denied"


@dataclass(slots=True)
class Lobby:
    """Admission state of one hearing's participants.

    A denied participant stays denied for the life of the hearing; a participant who
    leaves and comes back keeps their admission (no second pass through the lobby).
    """

    _state: dict[str, Admission] = field(default_factory=dict)
    _order: list[str] = field(default_factory=list)

    def arrive(self, participant: Participant) -> Admission:
        """Record an arrival and return where the participant goes."""
        current = self._state.get(participant.id)
        if current is not None:
            return current
        state = Admission.ADMITTED if bypasses_lobby(participant.role) else Admission.WAITING
        self._state[participant.id] = state
        if state is Admission.WAITING:
            self._order.append(participant.id)
        return state

    def status(self, participant_id: str) -> Admission | None:
        return self._state.get(participant_id)

    def waiting(self) -> list[str]:
        """Participant ids still waiting, in order of arrival."""
        return [p for p in self._order if self._state.get(p) is Admission.WAITING]

    def admit(self, actor: Participant, participant_id: str) -> None:
        check(actor.role, Action.ADMIT)
        self._decide(participant_id, Admission.ADMITTED)

    def deny(self, actor: Participant, participant_id: str) -> None:
        check(actor.role, Action.DENY)
        self._decide(participant_id, Admission.DENIED)

    def eject(self, actor: Participant, participant_id: str) -> None:
        """An admitted participant is put out, and stays out, like one denied."""
        check(actor.role, Action.EJECT)
        if self._state.get(participant_id) is not Admission.ADMITTED:
            raise UnknownParticipant("no such participant is in the hearing")
        self._state[participant_id] = Admission.DENIED

    def forget_waiting(self, participant_id: str) -> None:
        """A waiting participant left before a decision: drop them from the queue."""
        if self._state.get(participant_id) is Admission.WAITING:
            del self._state[participant_id]
            self._order.remove(participant_id)

    def snapshot(self) -> dict[str, object]:
        """Every decision, as plain JSON values (for a store that outlives this node)."""
        return {
            "admissions": {pid: state.value for pid, state in self._state.items()},
            "order": list(self._order),
        }

    @classmethod
    def restore(cls, snapshot: dict[str, object]) -> Lobby:
        """The lobby a snapshot describes; raises ValueError if it is malformed."""
        admissions = snapshot.get("admissions")
        order = snapshot.get("order")
        if not isinstance(admissions, dict) or not isinstance(order, list):
            raise ValueError("a lobby snapshot has admissions and an order")
        state = {str(pid): Admission(value) for pid, value in admissions.items()}
        waiting = [str(p) for p in order if state.get(str(p)) is Admission.WAITING]
        return cls(state, waiting)

    def _decide(self, participant_id: str, outcome: Admission) -> None:
        if self._state.get(participant_id) is not Admission.WAITING:
            raise UnknownParticipant("no such participant is waiting in the lobby")
        self._state[participant_id] = outcome
        self._order.remove(participant_id)
