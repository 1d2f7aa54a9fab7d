"""A protected witness's name reaches only those cleared to know it."""

from __future__ import annotations

import pytest

from hearing import Participant, Role
from hearing.privacy import CLEARED, WITHHELD_NAME, shown_name

CHILD = Participant("p_child001", "h_hearing1", Role.CHILD_WITNESS, "An Nguyen")


@pytest.mark.parametrize("role", sorted(CLEARED))
def test_the_bench_counsel_and_the_support_person_know_the_name(role: Role) -> None:
    viewer = Participant("p_viewer01", "h_hearing1", role, "Viewer")
    assert shown_name(CHILD, viewer) == "An Nguyen"


@pytest.mark.parametrize("role", sorted(set(Role) - CLEARED - {Role.CHILD_WITNESS}))
def test_everyone_else_sees_only_protected_witness(role: Role) -> None:
    viewer = Participant("p_viewer01", "h_hearing1", role, "Viewer")
    assert shown_name(CHILD, viewer) == WITHHELD_NAME


def test_other_participants_names_are_shown_to_all() -> None:
    accused = Participant("p_accused1", "h_hearing1", Role.ACCUSED, "Mr Doe")
    observer = Participant("p_observ01", "h_hearing1", Role.OBSERVER, "Observer")
    assert shown_name(accused, observer) == "Mr Doe"


def test_the_child_sees_their_own_name() -> None:
    assert shown_name(CHILD, CHILD) == "An Nguyen"
