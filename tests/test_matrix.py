"""The visibility matrix answers every situation exactly as the lawyer-readable table
`tests/matrix/visibility.md` does: every role and room of the viewer, every role and room of
the publisher, every kind of media, every phase and every profile."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cache

import pytest

from hearing import (
    COURTROOM,
    DELIBERATION,
    LOBBY,
    PROFILES,
    WITNESS_WAITING,
    CaseCategory,
    HearingRules,
    HearingType,
    InvalidHearing,
    MediaKind,
    Phase,
    Profile,
    Role,
    Room,
    RoomKind,
    Seat,
    Visibility,
    visible,
)
from hearing.matrix import on_childs_side
from tests.matrix_table import Row, Table, read_table

TABLE: Table = read_table()

ROOMS = (
    LOBBY,
    COURTROOM,
    Room.consultation("c1"),
    Room.consultation("c2"),
    WITNESS_WAITING,
    Room.witness_room("w1"),
    Room.witness_room("w2"),
    Room.caucus("plaintiff"),
    Room.caucus("respondent"),
    DELIBERATION,
)


def places() -> list[tuple[Room, bool, bool]]:
    """Every room, with the floor (courtroom) and the live link (witness rooms) on and off."""
    out: list[tuple[Room, bool, bool]] = []
    for room in ROOMS:
        out.append((room, False, False))
        if room.kind is RoomKind.COURTROOM:
            out.append((room, True, False))
        if room.kind is RoomKind.WITNESS_ROOM:
            out.append((room, False, True))
    return out


SEATS: tuple[Seat, ...] = tuple(
    Seat(f"p_{i:04d}", role, room, floor=floor, linked=linked)
    for i, (role, (room, floor, linked)) in enumerate(itertools.product(Role, places()))
)
TWINS: tuple[Seat, ...] = tuple(
    Seat(f"t_{i:04d}", s.role, s.room, floor=s.floor, linked=s.linked) for i, s in enumerate(SEATS)
)
"""A second person in each seat: two judges on the bench, two witnesses in waiting."""


def describe(seat: Seat) -> str:
    flags = (" +floor" if seat.floor else "") + (" +link" if seat.linked else "")
    return f"{seat.role.value} @ {seat.room.kind.value}:{seat.room.id}{flags}"


def _viewer_fits(row: Row, seat: Seat) -> bool:
    return any(p.fits(seat) for p in row.viewer)


def _publisher_fits(row: Row, viewer: Seat, publisher: Seat) -> bool:
    if row.publisher_is_self:
        return viewer.participant_id == publisher.participant_id
    return any(
        p.fits(publisher) and (not p.same_room or publisher.room == viewer.room)
        for p in row.publisher
    )


@dataclass
class Outcome:
    disagreements: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    used_rows: set[int] = field(default_factory=set)
    cells: int = 0


@cache
def compare(profile_name: str, phase: Phase) -> Outcome:
    """Ask the server and the table about every situation under one profile and phase."""
    rules = HearingRules(profile=PROFILES[profile_name])
    outcome = Outcome()
    for kind in MediaKind:
        rows = TABLE.rows_for(profile_name, phase, kind)
        for vi, viewer in enumerate(SEATS):
            viewer_rows = [row for row in rows if _viewer_fits(row, viewer)]
            for pi, publisher in enumerate(SEATS):
                pairs = [publisher] if vi != pi else [publisher, TWINS[pi]]
                for other in pairs:
                    outcome.cells += 1
                    decided = next(
                        (row for row in viewer_rows if _publisher_fits(row, viewer, other)), None
                    )
                    said = f"{profile_name} {phase.value} {describe(viewer)} <- {describe(other)}"
                    if other is TWINS[pi] and vi == pi:
                        said += " (another person)"
                    said += f" {kind.value}"
                    if decided is None:
                        outcome.undecided.append(said)
                        continue
                    outcome.used_rows.add(decided.line)
                    answer = visible(viewer, other, kind, phase, rules)
                    if answer is not decided.answer:
                        outcome.disagreements.append(
                            f"{said}: the table says {decided.describe()}, the server {answer}"
                        )
    return outcome


PROFILE_NAMES = sorted(PROFILES)


@pytest.mark.parametrize("phase", list(Phase), ids=str)
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_situation_is_decided_by_the_table_and_the_server_agrees(
    profile: str, phase: Phase
) -> None:
    outcome = compare(profile, phase)
    assert outcome.cells == len(MediaKind) * (len(SEATS) ** 2 + len(SEATS))
    assert not outcome.undecided, "no row decides:\n" + "\n".join(outcome.undecided[:20])
    assert not outcome.disagreements, "\n".join(outcome.disagreements[:20])


def test_every_row_of_the_table_decides_some_situation() -> None:
    used: set[int] = set()
    for profile, phase in itertools.product(PROFILE_NAMES, Phase):
        used |= compare(profile, phase).used_rows
    dead = [row.describe() for row in TABLE.rows if row.line not in used]
    assert not dead, "rows shadowed by earlier rows:\n" + "\n".join(dead)


def test_the_table_enumerates_every_role_room_and_phase() -> None:
    assert {s.role for s in SEATS} == set(Role)
    assert {s.room.kind for s in SEATS} == set(RoomKind)
    assert {p.name for p in PROFILES.values()} == {"vn", "us-3509", "uk-s24"}


# -- properties that hold whatever the table says ------------------------------------------------

EVERY_RULES = [HearingRules(profile=p) for p in PROFILES.values()]


def everyone(
    rules: list[HearingRules] = EVERY_RULES,
) -> itertools.product[tuple[HearingRules, Phase, MediaKind]]:
    return itertools.product(rules, Phase, MediaKind)


def test_nobody_receives_their_own_media() -> None:
    for rules, phase, kind in everyone():
        for seat in SEATS:
            assert visible(seat, seat, kind, phase, rules) is Visibility.DENY, describe(seat)


def test_the_lobby_and_the_witness_waiting_room_receive_and_send_nothing() -> None:
    silent = [s for s in SEATS if s.room.kind in (RoomKind.LOBBY, RoomKind.WITNESS_WAITING)]
    for rules, phase, kind in everyone():
        for quiet, other in itertools.product(silent, SEATS):
            assert visible(quiet, other, kind, phase, rules) is Visibility.DENY
            assert visible(other, quiet, kind, phase, rules) is Visibility.DENY


def test_nothing_is_forwarded_once_the_hearing_is_adjourned() -> None:
    for rules in EVERY_RULES:
        for kind, viewer, publisher in itertools.product(MediaKind, SEATS, SEATS):
            assert visible(viewer, publisher, kind, Phase.ADJOURNED, rules) is Visibility.DENY


def test_under_vn_the_accused_never_receives_the_child_witness_in_any_room_or_phase() -> None:
    rules = HearingRules(profile=PROFILES["vn"])
    accused = [s for s in SEATS if s.role is Role.ACCUSED]
    children = [s for s in SEATS if s.role is Role.CHILD_WITNESS or on_childs_side(s)]
    for phase, kind in itertools.product(Phase, MediaKind):
        for viewer, child in itertools.product(accused, children):
            assert visible(viewer, child, kind, phase, rules) is Visibility.DENY


def test_without_an_anonymity_order_masked_is_never_answered() -> None:
    for rules, phase, kind in everyone():
        for viewer in SEATS[::7]:
            for publisher in SEATS:
                assert visible(viewer, publisher, kind, phase, rules) is not Visibility.MASKED


@pytest.mark.parametrize(
    "rules",
    [
        *(
            HearingRules(profile=p, category=CaseCategory.SEXUAL_OFFENCE_AGAINST_MINOR)
            for p in PROFILES.values()
        ),
        *(HearingRules(profile=p, type=HearingType.CONCILIATION) for p in PROFILES.values()),
    ],
    ids=lambda r: f"{r.profile.name}-{r.type}-{r.category}",
)
def test_a_closed_hearing_in_session_is_treated_as_in_camera(rules: HearingRules) -> None:
    for kind, viewer, publisher in itertools.product(MediaKind, SEATS, SEATS):
        in_session = visible(viewer, publisher, kind, Phase.IN_SESSION, rules)
        assert in_session is visible(viewer, publisher, kind, Phase.IN_CAMERA, rules)


def test_observers_receive_nothing_from_a_closed_hearing() -> None:
    rules = HearingRules(category=CaseCategory.SEXUAL_OFFENCE_AGAINST_MINOR)
    observers = [s for s in SEATS if s.role is Role.OBSERVER]
    for phase, kind in itertools.product(Phase, MediaKind):
        for viewer, publisher in itertools.product(observers, SEATS):
            assert visible(viewer, publisher, kind, phase, rules) is Visibility.DENY


def test_in_caucus_a_party_and_the_conciliator_hear_each_other_and_the_other_party_nothing() -> (
    None
):
    rules = HearingRules(type=HearingType.CONCILIATION)
    caucus_a, caucus_b = Room.caucus("plaintiff"), Room.caucus("respondent")
    party_a = Seat("p_party_a", Role.PLAINTIFF, caucus_a)
    conciliator = Seat("p_concil", Role.PRESIDING_JUDGE, caucus_a)
    for where in (COURTROOM, caucus_b):
        party_b = Seat("p_party_b", Role.RESPONDENT, where)
        for phase, kind in itertools.product(Phase, MediaKind):
            expected = Visibility.DENY if phase is Phase.ADJOURNED else Visibility.ALLOW
            assert visible(party_a, conciliator, kind, phase, rules) is expected
            assert visible(conciliator, party_a, kind, phase, rules) is expected
            assert visible(party_b, party_a, kind, phase, rules) is Visibility.DENY
            assert visible(party_b, conciliator, kind, phase, rules) is Visibility.DENY


# -- seats validate themselves --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("room", "floor", "linked", "field"),
    [
        (Room.consultation("c1"), True, False, "floor"),
        (Room.witness_room("w1"), True, False, "floor"),
        (COURTROOM, False, True, "linked"),
        (LOBBY, False, True, "linked"),
    ],
)
def test_a_seat_refuses_a_flag_that_makes_no_sense_where_it_is(
    room: Room, floor: bool, linked: bool, field: str
) -> None:
    with pytest.raises(InvalidHearing) as refused:
        Seat("p_abcdef", Role.WITNESS, room, floor=floor, linked=linked)
    assert refused.value.field == field


@pytest.mark.parametrize("profile", list(PROFILES.values()), ids=lambda p: p.name)
def test_a_profile_is_data_that_names_its_legal_sources(profile: Profile) -> None:
    assert profile.references
    assert CaseCategory.ORDINARY not in profile.not_online


@pytest.mark.parametrize(
    ("kind", "id"),
    [
        (RoomKind.COURTROOM, "courtroom2"),
        (RoomKind.LOBBY, "hall"),
        (RoomKind.CONSULTATION, "Has Spaces"),
        (RoomKind.CAUCUS, ""),
        ("courtroom", "courtroom"),
    ],
)
def test_a_room_refuses_a_bad_kind_or_id(kind: RoomKind, id: str) -> None:
    with pytest.raises(InvalidHearing) as refused:
        Room(kind, id)
    assert refused.value.field == "room"


def test_a_trial_has_no_caucus_and_a_conciliation_no_witness_room() -> None:
    from hearing.rooms import check_room

    assert check_room(HearingType.TRIAL, Room.witness_room("w1")).kind is RoomKind.WITNESS_ROOM
    assert check_room(HearingType.CONCILIATION, Room.caucus("plaintiff")).id == "plaintiff"
    for hearing_type, room in (
        (HearingType.TRIAL, Room.caucus("plaintiff")),
        (HearingType.CONCILIATION, Room.witness_room("w1")),
        (HearingType.CONCILIATION, DELIBERATION),
    ):
        with pytest.raises(InvalidHearing):
            check_room(hearing_type, room)
