"""Where and when a hearing may be recorded or streamed, for every hearing, room and phase."""

from __future__ import annotations

import itertools

import pytest

from hearing import (
    COURTROOM,
    DELIBERATION,
    LOBBY,
    WITNESS_WAITING,
    CaseCategory,
    HearingRules,
    HearingType,
    Phase,
    Room,
    RoomKind,
    can_livestream,
    can_record,
)

ROOMS = {
    RoomKind.LOBBY: LOBBY,
    RoomKind.COURTROOM: COURTROOM,
    RoomKind.CONSULTATION: Room.consultation("c1"),
    RoomKind.WITNESS_WAITING: WITNESS_WAITING,
    RoomKind.WITNESS_ROOM: Room.witness_room("w1"),
    RoomKind.CAUCUS: Room.caucus("plaintiff"),
    RoomKind.DELIBERATION: DELIBERATION,
}

HEARINGS = {
    "public trial": HearingRules(public=True),
    "trial off the docket": HearingRules(public=False),
    "sexual offence against a minor": HearingRules(
        category=CaseCategory.SEXUAL_OFFENCE_AGAINST_MINOR
    ),
    "conciliation": HearingRules(type=HearingType.CONCILIATION),
}

# (hearing, room, phase) patterns; "*" for any. The first that fits decides.
RECORD: list[tuple[str, str, str, bool, str]] = [
    ("conciliation", "*", "*", False, "Law 58/2020: mediation is never recorded"),
    ("*", "caucus", "*", False, "Law 58/2020: a caucus is never recorded"),
    ("*", "consultation", "*", False, "a lawyer and client are never recorded"),
    ("*", "deliberation", "*", False, "the judges' deliberation is secret"),
    ("*", "lobby", "*", False, "nothing happens in the lobby"),
    ("*", "witness_waiting", "*", False, "nothing happens among waiting witnesses"),
    ("*", "*", "in_session", True, "the court sits: on the record"),
    ("*", "*", "in_camera", True, "in camera is still on the record (sealed)"),
    ("*", "*", "*", False, "nothing is recorded before, between or after sittings"),
]
STREAM: list[tuple[str, str, str, bool, str]] = [
    ("conciliation", "*", "*", False, "a conciliation is never public"),
    ("sexual offence against a minor", "*", "*", False, "Circular 02/2018: never streamed"),
    ("trial off the docket", "*", "*", False, "only a public hearing is streamed"),
    ("*", "courtroom", "in_session", True, "an open session may be streamed once opened"),
    ("*", "*", "*", False, "never a private room, the child's room, in camera or out of session"),
]


def expected(table: list[tuple[str, str, str, bool, str]], h: str, r: str, p: str) -> bool:
    for hearing, room, phase, answer, _why in table:
        if hearing in ("*", h) and room in ("*", r) and phase in ("*", p):
            return answer
    raise AssertionError("the table decides nothing for this case")


CASES = list(itertools.product(HEARINGS, RoomKind, Phase))


@pytest.mark.parametrize(("hearing", "room", "phase"), CASES, ids=str)
def test_recording_is_allowed_exactly_where_the_table_says(
    hearing: str, room: RoomKind, phase: Phase
) -> None:
    answer = can_record(HEARINGS[hearing], ROOMS[room], phase)
    assert answer is expected(RECORD, hearing, room.value, phase.value)


@pytest.mark.parametrize(("hearing", "room", "phase"), CASES, ids=str)
def test_livestreaming_is_allowed_exactly_where_the_table_says(
    hearing: str, room: RoomKind, phase: Phase
) -> None:
    answer = can_livestream(HEARINGS[hearing], ROOMS[room], phase)
    assert answer is expected(STREAM, hearing, room.value, phase.value)


def test_consultation_and_deliberation_are_never_recorded_or_streamed() -> None:
    for rules, phase in itertools.product(HEARINGS.values(), Phase):
        for room in (ROOMS[RoomKind.CONSULTATION], DELIBERATION):
            assert not can_record(rules, room, phase)
            assert not can_livestream(rules, room, phase)
