"""Where people sit on admission, and what calling and releasing a witness does."""

from __future__ import annotations

import pytest

from hearing import HearingType, InvalidHearing, Role
from hearing.rooms import COURTROOM, WITNESS_WAITING
from hearing.seating import CHILD_ROOM, room_on_admission, room_when_called, room_when_released


@pytest.mark.parametrize(
    ("role", "room"),
    [
        (Role.WITNESS, WITNESS_WAITING),
        (Role.CHILD_WITNESS, CHILD_ROOM),
        (Role.SUPPORT_PERSON, CHILD_ROOM),
        (Role.ACCUSED, COURTROOM),
        (Role.OBSERVER, COURTROOM),
        (Role.PRESIDING_JUDGE, COURTROOM),
    ],
)
def test_a_trial_seats_witnesses_apart_and_everyone_else_in_the_courtroom(
    role: Role, room: object
) -> None:
    assert room_on_admission(role, HearingType.TRIAL) == room


def test_a_conciliation_seats_everyone_in_the_joint_session() -> None:
    assert {room_on_admission(r, HearingType.CONCILIATION) for r in Role} == {COURTROOM}


def test_a_called_witness_enters_and_a_released_one_goes_back_to_wait() -> None:
    assert room_when_called(Role.WITNESS, WITNESS_WAITING) == COURTROOM
    assert room_when_released(Role.WITNESS, COURTROOM) == WITNESS_WAITING


def test_a_child_witness_is_linked_not_moved() -> None:
    assert room_when_called(Role.CHILD_WITNESS, CHILD_ROOM) is None
    assert room_when_released(Role.CHILD_WITNESS, CHILD_ROOM) is None


@pytest.mark.parametrize("role", [Role.ACCUSED, Role.PROSECUTOR, Role.SUPPORT_PERSON])
def test_only_witnesses_can_be_called(role: Role) -> None:
    with pytest.raises(InvalidHearing):
        room_when_called(role, COURTROOM)
