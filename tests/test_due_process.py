"""Who must be present for the court to sit."""

from __future__ import annotations

import pytest

from hearing import Role
from hearing.due_process import must_be_present
from hearing.phases import Phase
from hearing.rooms import COURTROOM, WITNESS_WAITING
from hearing.seating import CHILD_ROOM
from hearing.seats import Seat


def seat(role: Role, room: object = COURTROOM, linked: bool = False) -> Seat:
    return Seat("p_someone1", role, room, linked=linked)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "role", [Role.ACCUSED, Role.PLAINTIFF, Role.DEFENCE_COUNSEL, Role.INTERPRETER, Role.WITNESS]
)
def test_parties_counsel_interpreters_and_the_testifying_witness_must_be_present(
    role: Role,
) -> None:
    assert must_be_present(seat(role), Phase.IN_SESSION)
    assert must_be_present(seat(role), Phase.IN_CAMERA)


@pytest.mark.parametrize("phase", [Phase.SCHEDULED, Phase.RECESS, Phase.DELIBERATION])
def test_nobody_is_required_while_the_court_does_not_sit(phase: Phase) -> None:
    assert not must_be_present(seat(Role.ACCUSED), phase)


def test_observers_clerks_and_waiting_witnesses_are_not_required() -> None:
    assert not must_be_present(seat(Role.OBSERVER), Phase.IN_SESSION)
    assert not must_be_present(seat(Role.CLERK), Phase.IN_SESSION)
    assert not must_be_present(seat(Role.WITNESS, WITNESS_WAITING), Phase.IN_SESSION)


def test_a_child_witness_is_required_only_while_linked() -> None:
    assert must_be_present(seat(Role.CHILD_WITNESS, CHILD_ROOM, linked=True), Phase.IN_SESSION)
    assert not must_be_present(seat(Role.CHILD_WITNESS, CHILD_ROOM), Phase.IN_SESSION)
