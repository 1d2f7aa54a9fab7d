"""Hearings and participants validate themselves at the door."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from hearing import (
    MODERATORS,
    Hearing,
    HearingType,
    InvalidHearing,
    Participant,
    Role,
    bypasses_lobby,
    new_hearing_id,
    new_participant_id,
)
from hearing.model import MAX_DISPLAY_NAME, MAX_TITLE, check_display_name, check_id

WHEN = datetime(2031, 3, 4, 9, 30, tzinfo=UTC)


def a_hearing(**changes: Any) -> Hearing:
    hearing = Hearing(
        id="h_abcdef",
        type=HearingType.TRIAL,
        case_number="CIV-2031/0042",
        title="Rivera v. Okafor",
        scheduled_at=WHEN,
        public=True,
        profile="default",
    )
    return replace(hearing, **changes)


def test_a_well_formed_hearing_is_accepted_as_given() -> None:
    hearing = a_hearing()
    assert hearing.case_number == "CIV-2031/0042"
    assert hearing.scheduled_at == WHEN


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "short"}, "id"),
        ({"id": "h_with spaces"}, "id"),
        ({"type": "trial"}, "type"),
        ({"case_number": ""}, "case_number"),
        ({"case_number": "CIV<script>"}, "case_number"),
        ({"case_number": "C" * 65}, "case_number"),
        ({"title": "   "}, "title"),
        ({"title": "t" * (MAX_TITLE + 1)}, "title"),
        ({"scheduled_at": datetime(2031, 3, 4, 9, 30)}, "scheduled_at"),
        ({"profile": "US Federal"}, "profile"),
        ({"profile": ""}, "profile"),
        ({"type": HearingType.CONCILIATION, "public": True}, "public"),
    ],
)
def test_an_invalid_hearing_is_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidHearing) as refused:
        a_hearing(**changes)
    assert refused.value.field == field
    assert refused.value.code == "invalid"


def test_a_private_conciliation_is_accepted() -> None:
    assert a_hearing(type=HearingType.CONCILIATION, public=False).public is False


def test_new_ids_are_valid_and_distinct() -> None:
    hearing_ids = {new_hearing_id() for _ in range(100)}
    participant_ids = {new_participant_id() for _ in range(100)}
    assert len(hearing_ids) == 100
    assert len(participant_ids) == 100
    for value in hearing_ids | participant_ids:
        assert check_id(value, "id") == value


def test_display_names_are_normalised_to_single_spaces() -> None:
    assert check_display_name("  Maria \t  Rivera \n") == "Maria Rivera"


@pytest.mark.parametrize(
    "name",
    ["", "   ", "x" * (MAX_DISPLAY_NAME + 1), "Maria\x00Rivera", "Maria\x1bRivera"],
)
def test_an_unusable_display_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidHearing) as refused:
        check_display_name(name)
    assert refused.value.field == "display_name"


def test_a_participant_keeps_role_and_name() -> None:
    participant = Participant("p_abcdef", "h_abcdef", Role.WITNESS, "Ana Lopez")
    assert participant.role is Role.WITNESS
    assert not participant.is_moderator


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"display_name": " Ana  Lopez"}, "display_name"),
        ({"role": "witness"}, "role"),
        ({"id": "p!"}, "participant_id"),
        ({"hearing_id": ""}, "hearing_id"),
    ],
)
def test_an_invalid_participant_is_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    fields: dict[str, Any] = {
        "id": "p_abcdef",
        "hearing_id": "h_abcdef",
        "role": Role.WITNESS,
        "display_name": "Ana Lopez",
    } | changes
    with pytest.raises(InvalidHearing) as refused:
        Participant(**fields)
    assert refused.value.field == field


@pytest.mark.parametrize("role", list(Role))
def test_only_the_presiding_judge_and_the_clerk_bypass_the_lobby(role: Role) -> None:
    runs_the_lobby = role in (Role.PRESIDING_JUDGE, Role.CLERK)
    assert bypasses_lobby(role) is runs_the_lobby
    assert (role in MODERATORS) is runs_the_lobby
    assert Participant("p_abcdef", "h_abcdef", role, "Someone").is_moderator is runs_the_lobby
