"""Jurisdiction profiles: the defaults a court's law sets for the visibility matrix and for
the online gate. Data, not code: `hearing.matrix` reads them.

The child witness's side is the child witness wherever they are, and everyone in a witness
room (a camera there may show the child). "Into the child's side" is what those seats
receive; "the child's audience" is who receives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from hearing.categories import CaseCategory, forces_in_camera
from hearing.errors import InvalidHearing, NotHeardOnline, UnknownProfile
from hearing.model import Hearing, HearingType, Role
from hearing.seats import MediaKind

COUNSEL: Final = frozenset({Role.PROSECUTOR, Role.DEFENCE_COUNSEL, Role.PARTY_LAWYER})
JUDGES: Final = frozenset({Role.PRESIDING_JUDGE, Role.JUDGE})


def every_kind(roles: Iterable[Role]) -> frozenset[tuple[Role, MediaKind]]:
    return frozenset((role, kind) for role in roles for kind in MediaKind)


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    title: str
    references: tuple[str, ...]
    not_online: frozenset[CaseCategory]
    """Case categories that may not be heard online at all."""
    to_child: frozenset[tuple[Role, MediaKind]]
    """What reaches the child's side in every phase (only moderators are heard out of session)."""
    to_child_sitting: frozenset[tuple[Role, MediaKind]]
    """What reaches the child's side while the court sits."""
    to_child_with_floor: frozenset[Role]
    """Roles that reach the child's side while the court sits and they have the floor."""
    child_audience_sitting: frozenset[Role]
    """Roles that receive the child's side while the court sits (moderators always do)."""
    accused_never_receives_child: bool
    """The accused receives nothing from the child's side, in any room and any phase."""
    counsel_channel: bool
    """The accused and defence counsel in the courtroom receive each other in every phase."""

    def __post_init__(self) -> None:
        if CaseCategory.ORDINARY in self.not_online:
            raise InvalidHearing("an ordinary case can always be heard online", field="profile")
        if self.accused_never_receives_child and Role.ACCUSED in self.child_audience_sitting:
            raise InvalidHearing("the accused cannot both receive and never receive the child")


VN: Final = Profile(
    name="vn",
    title="Viet Nam (default)",
    references=(
        "Law on Juvenile Justice (59/2024/QH15) art. 153: the accused never sees or hears the"
        " child witness",
        "Resolution 33/2021/QH15: which cases may not be heard online",
        "Circular 02/2018/TT-TANDTC: sexual offences against minors are heard in camera",
        "Law 58/2020/QH14 on Mediation and Dialogue at Court: no recording of mediation",
    ),
    not_online=frozenset(
        {
            CaseCategory.STATE_SECRET,
            CaseCategory.NATIONAL_SECURITY,
            CaseCategory.CRIMES_AGAINST_PEACE,
            CaseCategory.CRIMES_AGAINST_HUMANITY,
            CaseCategory.WAR_CRIMES,
        }
    ),
    to_child=every_kind({Role.PRESIDING_JUDGE, Role.SUPPORT_PERSON}),
    to_child_sitting=frozenset(),
    to_child_with_floor=COUNSEL,
    child_audience_sitting=frozenset(
        {
            Role.JUDGE,
            Role.PROSECUTOR,
            Role.DEFENCE_COUNSEL,
            Role.PARTY_LAWYER,
            Role.PLAINTIFF,
            Role.RESPONDENT,
            Role.INTERPRETER,
            Role.EXPERT,
            Role.SUPPORT_PERSON,
        }
    ),
    accused_never_receives_child=True,
    counsel_channel=False,
)

US_3509: Final = Profile(
    name="us-3509",
    title="United States, 18 U.S.C. §3509 (two-way closed-circuit television)",
    references=(
        "18 U.S.C. §3509(b)(1)(D): the child's testimony goes into the courtroom for the"
        " defendant, jury, judge and public; the defendant's image and the judge's voice go"
        " into the child's room; the defendant keeps private contact with counsel",
    ),
    not_online=frozenset({CaseCategory.STATE_SECRET, CaseCategory.NATIONAL_SECURITY}),
    to_child=frozenset({(Role.PRESIDING_JUDGE, MediaKind.AUDIO)}),
    to_child_sitting=frozenset({(Role.ACCUSED, MediaKind.VIDEO)}),
    to_child_with_floor=frozenset(),
    child_audience_sitting=frozenset(Role),
    accused_never_receives_child=False,
    counsel_channel=True,
)

UK_S24: Final = Profile(
    name="uk-s24",
    title="England and Wales, YJCEA 1999 s.24 (live link with a named companion)",
    references=(
        "Youth Justice and Criminal Evidence Act 1999 s.24 and s.63: by live link the witness"
        " sees and hears the judge, the legal representatives and the interpreter, and is seen"
        " by them; s.24(1A): a person named by the court accompanies the witness",
    ),
    not_online=frozenset({CaseCategory.STATE_SECRET, CaseCategory.NATIONAL_SECURITY}),
    to_child=every_kind({Role.PRESIDING_JUDGE}),
    to_child_sitting=every_kind({Role.JUDGE, Role.INTERPRETER, *COUNSEL}),
    to_child_with_floor=frozenset(),
    child_audience_sitting=frozenset(
        {
            Role.JUDGE,
            Role.PROSECUTOR,
            Role.DEFENCE_COUNSEL,
            Role.PARTY_LAWYER,
            Role.ACCUSED,
            Role.PLAINTIFF,
            Role.RESPONDENT,
            Role.INTERPRETER,
            Role.EXPERT,
            Role.SUPPORT_PERSON,
        }
    ),
    accused_never_receives_child=False,
    counsel_channel=False,
)

PROFILES: Final[Mapping[str, Profile]] = MappingProxyType(
    {profile.name: profile for profile in (VN, US_3509, UK_S24)}
)
DEFAULT_PROFILE: Final = VN
_ALIASES: Final = {"default": VN.name, "us_3509": US_3509.name, "uk_s24": UK_S24.name}


def profile_named(name: str) -> Profile:
    """The profile called `name`; `default` is `vn`, and `_` may stand for `-`."""
    profile = PROFILES.get(_ALIASES.get(name, name))
    if profile is None:
        raise UnknownProfile(
            f"no profile {name!r}; known: {', '.join(sorted(PROFILES))}", field="profile"
        )
    return profile


@dataclass(frozen=True, slots=True)
class HearingRules:
    """What the matrix and the policy flags need to know about a hearing."""

    profile: Profile = DEFAULT_PROFILE
    type: HearingType = HearingType.TRIAL
    category: CaseCategory = CaseCategory.ORDINARY
    public: bool = False

    def __post_init__(self) -> None:
        if self.public and self.type is HearingType.CONCILIATION:
            raise InvalidHearing("a conciliation is never public", field="public")
        if self.public and self.in_camera_only:
            raise InvalidHearing(
                f"a {self.category.value} case is heard in camera: never public", field="public"
            )

    @classmethod
    def of(cls, hearing: Hearing) -> HearingRules:
        return cls(
            profile=profile_named(hearing.profile),
            type=hearing.type,
            category=hearing.case_category,
            public=hearing.public,
        )

    @property
    def in_camera_only(self) -> bool:
        """The case category keeps the hearing in camera from start to end."""
        return forces_in_camera(self.category)

    @property
    def closed_to_observers(self) -> bool:
        """Observers receive nothing: in camera by category, or a conciliation (never public)."""
        return self.in_camera_only or self.type is HearingType.CONCILIATION


def check_online(hearing: Hearing) -> None:
    """Refuse a hearing whose profile is unknown, or whose case category the profile does not
    allow online."""
    profile_named(hearing.profile)
    check_category_online(hearing.profile, hearing.case_category)


def check_category_online(profile_name: str, category: CaseCategory) -> None:
    """Refuse a case category the profile does not allow online (`not_heard_online`); asked
    before anything else about a hearing, since no other answer matters for such a case. An
    unknown profile passes here: the hearing itself refuses it, naming the field."""
    profile = PROFILES.get(_ALIASES.get(profile_name, profile_name))
    if profile is not None and category in profile.not_online:
        raise NotHeardOnline(
            f"a {category.value} case may not be heard online under the {profile.name} profile",
            field="case_category",
        )
