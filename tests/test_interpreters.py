"""The court's interpretation state in session (`signaling/interpreters.py` through the
`Courtroom`): languages chosen, the orders for each interpreter, one simultaneous interpreter
of a pair on air, the handover, and the state surviving a snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hearing import Admission, Hearing, HearingType, InvalidHearing, Participant, Phase, Role
from hearing.interpretation import InterpretationOrder, Mode, channel_label
from hearing.languages import LanguagePair
from signaling.courtroom import Courtroom

PAIR = LanguagePair.parse("vi↔en")
HEARING = Hearing(
    id="h_interp",
    type=HearingType.TRIAL,
    case_number="HS-2031/7",
    title="State v. Smith",
    scheduled_at=datetime(2031, 3, 4, 9, 30, tzinfo=UTC),
    public=True,
    profile="vn",
    languages=("en", "hab"),
)
JUDGE = Participant("p_judge1", HEARING.id, Role.PRESIDING_JUDGE, "Judge Pham")
ACCUSED = Participant("p_accused", HEARING.id, Role.ACCUSED, "John Smith", "en")
COUNSEL = Participant("p_counsel", HEARING.id, Role.DEFENCE_COUNSEL, "Le Van")
ANNA = Participant("p_anna01", HEARING.id, Role.INTERPRETER, "Anna", None, PAIR)
BINH = Participant("p_binh01", HEARING.id, Role.INTERPRETER, "Binh", None, PAIR)
SIGNER = Participant(
    "p_signer", HEARING.id, Role.INTERPRETER, "Cuc", None, LanguagePair.parse("vi↔hab")
)
EVERYONE = (JUDGE, ACCUSED, COUNSEL, ANNA, BINH, SIGNER)


def sitting_court() -> Courtroom:
    court = Courtroom(HEARING)
    court.change_phase(Phase.IN_SESSION)
    for person in EVERYONE:
        court.seat(person, Admission.ADMITTED)
    return court


def hears(court: Courtroom, viewer: Participant, interpreter: Participant, language: str) -> bool:
    v, p = court.seat(viewer, Admission.ADMITTED), court.seat(interpreter, Admission.ADMITTED)
    assert v is not None and p is not None
    return court.receives(v, p, channel_label(language))


def test_a_participant_follows_the_language_of_their_token_until_they_choose_another() -> None:
    court = sitting_court()
    languages = court.interpreters.languages
    assert (languages[JUDGE.id], languages[ACCUSED.id]) == ("vi", "en")
    assert court.interpreters.choose(JUDGE.id, "EN") == "en"
    court.seat(JUDGE, Admission.ADMITTED)  # seated again: the choice stays
    assert court.interpreters.languages[JUDGE.id] == "en"
    with pytest.raises(InvalidHearing, match="not a language of this hearing"):
        court.interpreters.choose(JUDGE.id, "fr")


def test_the_channel_reaches_the_listeners_of_its_language_only_while_on_air() -> None:
    court = sitting_court()
    assert not hears(court, ACCUSED, ANNA, "en")  # no order yet: off air
    court.interpreters.order(ANNA.id, Mode.SIMULTANEOUS, True, None)
    assert hears(court, ACCUSED, ANNA, "en")
    assert not hears(court, COUNSEL, ANNA, "en") and not hears(court, JUDGE, ANNA, "en")
    assert hears(court, JUDGE, ANNA, "vi") and not hears(court, ACCUSED, ANNA, "vi")
    assert not hears(court, ACCUSED, ANNA, "hab")  # not a language of Anna's pair
    court.interpreters.order(ANNA.id, None, False, None)
    assert not hears(court, ACCUSED, ANNA, "en")


def test_a_whisper_reaches_only_the_persons_named() -> None:
    court = sitting_court()
    whisper = frozenset({ACCUSED.id, COUNSEL.id})
    court.interpreters.order(ANNA.id, Mode.WHISPERED, True, whisper)
    assert hears(court, ACCUSED, ANNA, "en") and hears(court, COUNSEL, ANNA, "en")
    assert not hears(court, JUDGE, ANNA, "en") and not hears(court, BINH, ANNA, "en")
    with pytest.raises(InvalidHearing, match="names who hears it"):
        court.interpreters.order(BINH.id, Mode.WHISPERED, True, frozenset())


def test_consecutive_interpretation_has_no_channel() -> None:
    court = sitting_court()
    court.interpreters.order(ANNA.id, Mode.CONSECUTIVE, True, None)
    assert not any(hears(court, p, ANNA, "en") for p in EVERYONE)
    assert court.receives(
        court.seat(ACCUSED, Admission.ADMITTED),  # type: ignore[arg-type]
        court.seat(ANNA, Admission.ADMITTED),  # type: ignore[arg-type]
        "audio",
    )  # on the floor, like anyone


def test_a_court_mute_of_the_interpreters_audio_silences_the_channel_too() -> None:
    court = sitting_court()
    court.interpreters.order(ANNA.id, Mode.SIMULTANEOUS, True, None)
    court.forced_mute[ANNA.id] = {"audio"}
    assert not hears(court, ACCUSED, ANNA, "en")


def test_one_simultaneous_interpreter_of_a_pair_is_on_air_and_a_handover_swaps_them() -> None:
    court = sitting_court()
    court.interpreters.order(ANNA.id, Mode.SIMULTANEOUS, True, None)
    assert court.interpreters.order(BINH.id, Mode.SIMULTANEOUS, True, None) == [ANNA.id]
    assert hears(court, ACCUSED, BINH, "en") and not hears(court, ACCUSED, ANNA, "en")
    court.interpreters.hand_over(BINH.id, ANNA.id)
    assert hears(court, ACCUSED, ANNA, "en") and not hears(court, ACCUSED, BINH, "en")
    with pytest.raises(InvalidHearing, match="not on air"):
        court.interpreters.hand_over(BINH.id, ANNA.id)
    with pytest.raises(InvalidHearing, match="two interpreters of one pair"):
        court.interpreters.hand_over(ANNA.id, SIGNER.id)
    with pytest.raises(InvalidHearing, match="not an interpreter"):
        court.interpreters.order(ACCUSED.id, Mode.SIMULTANEOUS, True, None)


def test_a_handover_keeps_the_whisper_and_its_people() -> None:
    court = sitting_court()
    court.interpreters.order(ANNA.id, Mode.WHISPERED, True, frozenset({ACCUSED.id}))
    court.interpreters.hand_over(ANNA.id, BINH.id)
    assert court.interpreters.orders[BINH.id] == InterpretationOrder(
        Mode.WHISPERED, True, frozenset({ACCUSED.id})
    )
    assert hears(court, ACCUSED, BINH, "en") and not hears(court, COUNSEL, BINH, "en")


def test_the_livestreams_public_receives_no_channel() -> None:
    from signaling.livestream_control import PUBLIC_SEAT

    court = sitting_court()
    court.interpreters.order(ANNA.id, Mode.SIMULTANEOUS, True, None)
    anna = court.seat(ANNA, Admission.ADMITTED)
    assert anna is not None
    assert court.receives(PUBLIC_SEAT, anna, "audio")
    assert not court.receives(PUBLIC_SEAT, anna, channel_label("vi"))


def test_the_interpretation_state_survives_a_snapshot_and_an_old_snapshot_has_none() -> None:
    court = sitting_court()
    court.interpreters.choose(COUNSEL.id, "en")
    court.interpreters.order(ANNA.id, Mode.WHISPERED, True, frozenset({ACCUSED.id}))
    snapshot = court.snapshot()
    again = Courtroom(HEARING)
    again.restore(snapshot)
    assert again.interpreters.snapshot() == court.interpreters.snapshot()
    assert again.roster_fields(again.seat(ANNA, Admission.ADMITTED))["interpreting"] == {  # type: ignore[arg-type]
        "pair": "vi↔en",
        "mode": "whispered",
        "on_air": True,
        "whisper_to": [ACCUSED.id],
    }
    old = dict(snapshot)
    del old["interpretation"]
    fresh = Courtroom(HEARING)
    fresh.restore(old)
    assert fresh.interpreters.orders == {}
    broken = dict(snapshot) | {
        "interpretation": {"orders": {ACCUSED.id: ["simultaneous", True, []]}}
    }
    with pytest.raises(ValueError):
        Courtroom(HEARING).restore(broken)
