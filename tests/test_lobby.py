"""The lobby: moderators enter directly, everyone else waits for a decision."""

from __future__ import annotations

import pytest

from hearing import Admission, Lobby, NotPermitted, Participant, Role, UnknownParticipant


def person(pid: str, role: Role) -> Participant:
    return Participant(f"p_{pid:0>6}", "h_abcdef", role, f"{role.value} {pid}")


JUDGE = person("judge", Role.PRESIDING_JUDGE)
CLERK = person("clerk", Role.CLERK)
PLAINTIFF = person("plaint", Role.PLAINTIFF)
RESPONDENT = person("respon", Role.RESPONDENT)
WITNESS = person("witnes", Role.WITNESS)


def test_the_presiding_judge_and_the_clerk_are_admitted_on_arrival() -> None:
    lobby = Lobby()
    assert lobby.arrive(JUDGE) is Admission.ADMITTED
    assert lobby.arrive(CLERK) is Admission.ADMITTED
    assert lobby.waiting() == []


def test_everyone_else_waits_in_order_of_arrival() -> None:
    lobby = Lobby()
    assert lobby.arrive(RESPONDENT) is Admission.WAITING
    assert lobby.arrive(PLAINTIFF) is Admission.WAITING
    lobby.arrive(JUDGE)
    assert lobby.waiting() == [RESPONDENT.id, PLAINTIFF.id]
    assert lobby.status(PLAINTIFF.id) is Admission.WAITING


def test_a_moderator_admits_a_waiting_participant() -> None:
    lobby = Lobby()
    lobby.arrive(PLAINTIFF)
    lobby.arrive(RESPONDENT)
    lobby.admit(CLERK, PLAINTIFF.id)
    assert lobby.status(PLAINTIFF.id) is Admission.ADMITTED
    assert lobby.waiting() == [RESPONDENT.id]


def test_an_admitted_participant_who_comes_back_skips_the_lobby() -> None:
    lobby = Lobby()
    lobby.arrive(WITNESS)
    lobby.admit(JUDGE, WITNESS.id)
    assert lobby.arrive(WITNESS) is Admission.ADMITTED
    assert lobby.waiting() == []


def test_a_denied_participant_stays_denied_when_they_come_back() -> None:
    lobby = Lobby()
    lobby.arrive(WITNESS)
    lobby.deny(JUDGE, WITNESS.id)
    assert lobby.arrive(WITNESS) is Admission.DENIED
    assert lobby.waiting() == []


@pytest.mark.parametrize("role", [r for r in Role if r not in (Role.PRESIDING_JUDGE, Role.CLERK)])
def test_only_moderators_may_admit_or_deny(role: Role) -> None:
    lobby = Lobby()
    lobby.arrive(WITNESS)
    actor = person("actor", role)
    with pytest.raises(NotPermitted):
        lobby.admit(actor, WITNESS.id)
    with pytest.raises(NotPermitted):
        lobby.deny(actor, WITNESS.id)
    assert lobby.waiting() == [WITNESS.id]


def test_deciding_on_someone_who_is_not_waiting_is_refused() -> None:
    lobby = Lobby()
    lobby.arrive(WITNESS)
    lobby.admit(CLERK, WITNESS.id)
    with pytest.raises(UnknownParticipant):
        lobby.admit(CLERK, WITNESS.id)
    with pytest.raises(UnknownParticipant):
        lobby.deny(CLERK, WITNESS.id)
    with pytest.raises(UnknownParticipant):
        lobby.admit(CLERK, "p_nobody")
    assert lobby.status(WITNESS.id) is Admission.ADMITTED


def test_a_waiting_participant_who_leaves_is_forgotten_and_queues_again() -> None:
    lobby = Lobby()
    lobby.arrive(PLAINTIFF)
    lobby.arrive(RESPONDENT)
    lobby.forget_waiting(PLAINTIFF.id)
    assert lobby.status(PLAINTIFF.id) is None
    assert lobby.waiting() == [RESPONDENT.id]
    assert lobby.arrive(PLAINTIFF) is Admission.WAITING
    assert lobby.waiting() == [RESPONDENT.id, PLAINTIFF.id]


def test_forgetting_keeps_a_decision_already_made() -> None:
    lobby = Lobby()
    lobby.arrive(PLAINTIFF)
    lobby.arrive(RESPONDENT)
    lobby.admit(JUDGE, PLAINTIFF.id)
    lobby.deny(JUDGE, RESPONDENT.id)
    lobby.forget_waiting(PLAINTIFF.id)
    lobby.forget_waiting(RESPONDENT.id)
    assert lobby.status(PLAINTIFF.id) is Admission.ADMITTED
    assert lobby.status(RESPONDENT.id) is Admission.DENIED
