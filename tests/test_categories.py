"""The case-category gate: what may not be heard online under each profile, and what is heard
in camera everywhere."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from hearing import (
    PROFILES,
    CaseCategory,
    Hearing,
    HearingRules,
    HearingType,
    InvalidHearing,
    NotHeardOnline,
    UnknownProfile,
    check_online,
    forces_in_camera,
    profile_named,
)

C = CaseCategory
# profile -> categories that may not be heard online, and the source
NOT_ONLINE: dict[str, tuple[set[CaseCategory], str]] = {
    "vn": (
        {
            C.STATE_SECRET,
            C.NATIONAL_SECURITY,
            C.CRIMES_AGAINST_PEACE,
            C.CRIMES_AGAINST_HUMANITY,
            C.WAR_CRIMES,
        },
        "Resolution 33/2021/QH15",
    ),
    "us-3509": ({C.STATE_SECRET, C.NATIONAL_SECURITY}, "our conservative default"),
    "uk-s24": ({C.STATE_SECRET, C.NATIONAL_SECURITY}, "our conservative default"),
}
IN_CAMERA = {C.SEXUAL_OFFENCE_AGAINST_MINOR, C.STATE_SECRET}


def a_hearing(profile: str, category: CaseCategory, public: bool = False) -> Hearing:
    return Hearing(
        id="h_abcdef",
        type=HearingType.TRIAL,
        case_number="CR-2031/7",
        title="State v. Doe",
        scheduled_at=datetime(2031, 3, 4, 9, 30, tzinfo=UTC),
        public=public,
        profile=profile,
        case_category=category,
    )


def test_the_table_covers_every_profile() -> None:
    assert set(NOT_ONLINE) == set(PROFILES)


@pytest.mark.parametrize(
    ("profile", "category"), list(itertools.product(sorted(PROFILES), CaseCategory)), ids=str
)
def test_the_gate_refuses_exactly_the_categories_the_profile_keeps_offline(
    profile: str, category: CaseCategory
) -> None:
    hearing = a_hearing(profile, category)
    if category in NOT_ONLINE[profile][0]:
        with pytest.raises(NotHeardOnline) as refused:
            check_online(hearing)
        assert refused.value.code == "not_heard_online"
        assert refused.value.field == "case_category"
        assert category.value in refused.value.message
    else:
        check_online(hearing)


@pytest.mark.parametrize("category", list(CaseCategory), ids=str)
def test_only_sexual_offences_against_minors_and_state_secrets_force_in_camera(
    category: CaseCategory,
) -> None:
    assert forces_in_camera(category) is (category in IN_CAMERA)
    assert HearingRules(category=category).in_camera_only is (category in IN_CAMERA)


def test_a_sexual_offence_against_a_minor_is_never_public() -> None:
    with pytest.raises(InvalidHearing) as refused:
        a_hearing("vn", C.SEXUAL_OFFENCE_AGAINST_MINOR, public=True)
    assert refused.value.field == "public"
    with pytest.raises(InvalidHearing):
        HearingRules(category=C.SEXUAL_OFFENCE_AGAINST_MINOR, public=True)


def test_a_hearing_is_ordinary_unless_told_otherwise() -> None:
    hearing = Hearing(
        id="h_abcdef",
        type=HearingType.TRIAL,
        case_number="CR-1",
        title="t",
        scheduled_at=datetime(2031, 3, 4, tzinfo=UTC),
        public=True,
        profile="default",
    )
    assert hearing.case_category is C.ORDINARY
    assert HearingRules.of(hearing).profile is PROFILES["vn"]


@pytest.mark.parametrize(
    ("name", "profile"),
    [("vn", "vn"), ("default", "vn"), ("us-3509", "us-3509"), ("us_3509", "us-3509"),
     ("uk-s24", "uk-s24"), ("uk_s24", "uk-s24")],
)  # fmt: skip
def test_profiles_are_found_by_name(name: str, profile: str) -> None:
    assert profile_named(name).name == profile


def test_an_unknown_profile_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(UnknownProfile, match="uk-s24, us-3509, vn") as refused:
        profile_named("fr")
    assert refused.value.code == "unknown_profile"


def test_an_unknown_category_is_refused_at_the_door() -> None:
    with pytest.raises(InvalidHearing) as refused:
        a_hearing("vn", "ordinary")  # type: ignore[arg-type]
    assert refused.value.field == "case_category"
