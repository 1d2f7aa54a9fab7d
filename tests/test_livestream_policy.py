"""Who the public stream may show: the courtroom, in public session, never a protected
participant or the child's side, whatever the profile lets the public in the courtroom see;
and the tiles built from what `signaling` offers."""

from __future__ import annotations

import pytest

from hearing.model import HearingType, Role, new_participant_id
from hearing.phases import Phase
from hearing.policy import shown_on_livestream
from hearing.profiles import US_3509, HearingRules
from hearing.rooms import COURTROOM, WITNESS_WAITING, Room
from hearing.seating import CHILD_ROOM
from hearing.seats import Seat
from recording.livestream.cast import MAX_TILES, Candidate, public_tiles, role_title
from tests.media_samples import published_track
from web.livestreams import stream_words
from web.settings import COURT_LANGUAGES

PUBLIC = HearingRules(public=True)
PUBLIC_3509 = HearingRules(profile=US_3509, public=True)


def seat(role: Role, room: Room = COURTROOM, linked: bool = False) -> Seat:
    return Seat(new_participant_id(), role, room, linked=linked)


@pytest.mark.parametrize("role", [r for r in Role if r not in (Role.CHILD_WITNESS,)])
def test_anyone_in_the_courtroom_of_a_public_session_may_be_shown(role: Role) -> None:
    assert shown_on_livestream(PUBLIC, seat(role), Phase.IN_SESSION)


@pytest.mark.parametrize("rules", [PUBLIC, PUBLIC_3509])
@pytest.mark.parametrize(
    "who",
    [
        seat(Role.CHILD_WITNESS),
        seat(Role.CHILD_WITNESS, CHILD_ROOM, linked=True),
        seat(Role.SUPPORT_PERSON, CHILD_ROOM, linked=True),
        seat(Role.WITNESS, WITNESS_WAITING),
        seat(Role.DEFENCE_COUNSEL, Room.consultation("c1")),
    ],
    ids=["child-in-courtroom", "child-linked", "support-person", "waiting", "consultation"],
)
def test_the_child_the_childs_side_and_other_rooms_are_never_shown(
    rules: HearingRules, who: Seat
) -> None:
    for phase in Phase:
        assert not shown_on_livestream(rules, who, phase)


@pytest.mark.parametrize("phase", [p for p in Phase if p is not Phase.IN_SESSION])
def test_nobody_is_shown_out_of_public_session(phase: Phase) -> None:
    assert not shown_on_livestream(PUBLIC, seat(Role.PRESIDING_JUDGE), phase)


def test_a_hearing_that_is_not_public_is_never_shown() -> None:
    for rules in (HearingRules(), HearingRules(type=HearingType.CONCILIATION)):
        assert not shown_on_livestream(rules, seat(Role.PRESIDING_JUDGE), Phase.IN_SESSION)


def candidates(
    who: Seat, name: str, kinds: tuple[str, ...] = ("video", "audio")
) -> list[Candidate]:
    out = []
    for kind in kinds:
        track = published_track("video" if kind == "screen" else kind, source=who.participant_id)
        track.label = kind
        out.append(Candidate(track, who.participant_id, who, name))
    return out


def test_tiles_put_the_bench_first_and_never_carry_a_protected_name() -> None:
    party, judge, child = seat(Role.PLAINTIFF), seat(Role.PRESIDING_JUDGE), seat(Role.CHILD_WITNESS)
    offered = [
        *candidates(party, "Ms Nguyen"),
        *candidates(child, "Lily Tran"),
        *candidates(judge, "Judge Le", ("video", "audio", "screen")),
    ]
    tiles = public_tiles(offered, PUBLIC_3509, Phase.IN_SESSION)
    assert [(t.key, t.name, t.caption) for t in tiles] == [
        (judge.participant_id, "Judge Le", "Presiding judge"),
        (f"{judge.participant_id}:screen", "Judge Le: shared screen", "Presiding judge"),
        (party.participant_id, "Ms Nguyen", "Plaintiff"),
    ]
    assert tiles[0].video is not None and tiles[0].audio is not None
    assert tiles[1].video is not None and tiles[1].video.label == "screen"
    assert all(child.participant_id not in t.key and "Lily" not in t.name for t in tiles)
    assert public_tiles(offered, PUBLIC_3509, Phase.IN_CAMERA) == []


def test_a_participant_with_only_a_voice_gets_a_tile_and_the_tiles_are_capped() -> None:
    offered = [c for n in range(20) for c in candidates(seat(Role.WITNESS), f"W{n}", ("audio",))]
    tiles = public_tiles(offered, PUBLIC, Phase.IN_SESSION)
    assert len(tiles) == MAX_TILES
    assert tiles[0].video is None and tiles[0].audio is not None
    assert role_title(Role.DEFENCE_COUNSEL) == "Defence counsel"


def test_the_stream_labels_tiles_in_the_courts_language() -> None:
    counsel, judge = seat(Role.DEFENCE_COUNSEL), seat(Role.PRESIDING_JUDGE)
    offered = [
        *candidates(counsel, "Luật sư Trần Minh"),
        *candidates(judge, "Thu Nguyễn", ("video", "audio", "screen")),
    ]
    tiles = public_tiles(offered, PUBLIC, Phase.IN_SESSION, words=stream_words("vi"))
    assert [(t.name, t.caption) for t in tiles] == [
        ("Thu Nguyễn", "Thẩm phán chủ tọa"),
        ("Thu Nguyễn: màn hình chia sẻ", "Thẩm phán chủ tọa"),
        ("Luật sư Trần Minh", "Người bào chữa"),
    ]


def test_every_role_and_slate_has_its_words_in_each_language() -> None:
    for language in COURT_LANGUAGES:
        words = stream_words(language)
        assert {role for role, _ in words.roles} == {role.value for role in Role}
        assert all(title for _, title in words.roles) and words.cut and words.not_sitting
    assert stream_words("vi").cut != stream_words("en").cut
