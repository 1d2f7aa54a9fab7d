"""A hearing moves between phases only along the documented table."""

from __future__ import annotations

import itertools

import pytest

from hearing import InvalidTransition, Phase, transition
from hearing.phases import TRANSITIONS

S, IS, R, IC, D, A = (
    Phase.SCHEDULED,
    Phase.IN_SESSION,
    Phase.RECESS,
    Phase.IN_CAMERA,
    Phase.DELIBERATION,
    Phase.ADJOURNED,
)

# from -> to: the moves a presiding judge may make (the table in hearing/phases.py)
ALLOWED = {
    (S, IS), (S, IC), (S, A),
    (IS, R), (IS, IC), (IS, D), (IS, A),
    (R, IS), (R, IC), (R, A),
    (IC, IS), (IC, R), (IC, D), (IC, A),
    (D, IS), (D, IC), (D, A),
}  # fmt: skip


@pytest.mark.parametrize(("current", "target"), list(itertools.product(Phase, Phase)), ids=str)
def test_every_move_between_phases_follows_the_table(current: Phase, target: Phase) -> None:
    if (current, target) in ALLOWED:
        assert transition(current, target) is target
    else:
        with pytest.raises(InvalidTransition) as refused:
            transition(current, target)
        assert refused.value.code == "invalid_transition"
        assert refused.value.message


def test_the_code_table_is_the_documented_table() -> None:
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED


def test_an_adjourned_hearing_goes_nowhere() -> None:
    for target in Phase:
        with pytest.raises(InvalidTransition, match="adjourned"):
            transition(A, target)


@pytest.mark.parametrize("current", [S, R, IC, D])
def test_a_hearing_closed_by_its_category_never_goes_into_open_session(current: Phase) -> None:
    with pytest.raises(InvalidTransition, match="in camera"):
        transition(current, IS, closed=True)
    if current is not IC:
        assert transition(current, IC, closed=True) is IC
