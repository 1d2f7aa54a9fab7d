"""Hearings, roles and participants: value objects that validate themselves at the door."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hearing.categories import CaseCategory, forces_in_camera
from hearing.errors import InvalidHearing


class HearingType(StrEnum):
    TRIAL = "trial"
    CONCILIATION = "conciliation"


class Jurisdiction(StrEnum):
    """What kind of trial: the court's division."""

    CRIMINAL = "criminal"
    CIVIL = "civil"
    ADMINISTRATIVE = "administrative"


class Instance(StrEnum):
    FIRST = "first_instance"
    APPEAL = "appeal"


class Role(StrEnum):
    PRESIDING_JUDGE = "presiding_judge"
    JUDGE = "judge"
    CLERK = "clerk"
    PROSECUTOR = "prosecutor"
    DEFENCE_COUNSEL = "defence_counsel"
    ACCUSED = "accused"
    PLAINTIFF = "plaintiff"
    RESPONDENT = "respondent"
    PARTY_LAWYER = "party_lawyer"
    WITNESS = "witness"
    CHILD_WITNESS = "child_witness"
    SUPPORT_PERSON = "support_person"
    INTERPRETER = "interpreter"
    EXPERT = "expert"
    OBSERVER = "observer"


MODERATORS: frozenset[Role] = frozenset({Role.PRESIDING_JUDGE, Role.CLERK})
"""Roles that run the lobby: they enter directly and admit or deny everyone else."""


def bypasses_lobby(role: Role) -> bool:
    """The presiding judge and the clerk open the hearing; everyone else waits to be admitted."""
    return role in MODERATORS


_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
_CASE_NUMBER = re.compile(r"^[\w./\- ]{1,64}$", re.UNICODE)
MAX_TITLE = 200
MAX_DISPLAY_NAME = 80
MAX_PROFILE = 40


def new_hearing_id() -> str:
    return "h_" + secrets.token_urlsafe(12)


def new_participant_id() -> str:
    return "p_" + secrets.token_urlsafe(9)


def check_id(value: str, field: str) -> str:
    if not _ID.match(value):
        raise InvalidHearing(
            f"{field} must be 6-64 characters of letters, digits, _ or -", field=field
        )
    return value


def check_display_name(value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise InvalidHearing("display_name must not be empty", field="display_name")
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidHearing(
            f"display_name must be at most {MAX_DISPLAY_NAME} characters", field="display_name"
        )
    if any(ord(c) < 32 for c in name):
        raise InvalidHearing("display_name has control characters", field="display_name")
    return name


@dataclass(frozen=True, slots=True)
class Hearing:
    """A scheduled hearing, as the court's case-management system describes it."""

    id: str
    type: HearingType
    case_number: str
    title: str
    scheduled_at: datetime
    public: bool
    profile: str
    case_category: CaseCategory = CaseCategory.ORDINARY
    jurisdiction: Jurisdiction | None = None
    """For a trial: criminal, civil or administrative (a conciliation has none)."""
    instance: Instance | None = None
    """For a trial: first instance or appeal."""

    def __post_init__(self) -> None:
        check_id(self.id, "id")
        if not isinstance(self.type, HearingType):
            raise InvalidHearing("type must be trial or conciliation", field="type")
        if not _CASE_NUMBER.match(self.case_number):
            raise InvalidHearing(
                "case_number must be 1-64 letters, digits, spaces or . / - _", field="case_number"
            )
        if not self.title.strip() or len(self.title) > MAX_TITLE:
            raise InvalidHearing(f"title must be 1-{MAX_TITLE} characters", field="title")
        if self.scheduled_at.tzinfo is None:
            raise InvalidHearing("scheduled_at must carry a time zone", field="scheduled_at")
        if not re.match(r"^[a-z0-9_-]{1,40}$", self.profile):
            raise InvalidHearing("profile must be 1-40 of a-z, 0-9, _ and -", field="profile")
        if self.type is HearingType.CONCILIATION and self.public:
            raise InvalidHearing("a conciliation is never public", field="public")
        if self.type is HearingType.CONCILIATION and (self.jurisdiction or self.instance):
            raise InvalidHearing("a conciliation is not a trial", field="jurisdiction")
        if self.jurisdiction is not None and not isinstance(self.jurisdiction, Jurisdiction):
            raise InvalidHearing("unknown jurisdiction", field="jurisdiction")
        if self.instance is not None and not isinstance(self.instance, Instance):
            raise InvalidHearing("unknown instance", field="instance")
        if not isinstance(self.case_category, CaseCategory):
            raise InvalidHearing("unknown case_category", field="case_category")
        if self.public and forces_in_camera(self.case_category):
            raise InvalidHearing(
                f"a {self.case_category.value} case is heard in camera: never public",
                field="public",
            )


@dataclass(frozen=True, slots=True)
class Participant:
    """A person in a hearing. The role and the display name come from the join token only."""

    id: str
    hearing_id: str
    role: Role
    display_name: str

    def __post_init__(self) -> None:
        check_id(self.id, "participant_id")
        check_id(self.hearing_id, "hearing_id")
        if not isinstance(self.role, Role):
            raise InvalidHearing("unknown role", field="role")
        if check_display_name(self.display_name) != self.display_name:
            raise InvalidHearing("display_name is not normalised", field="display_name")

    @property
    def is_moderator(self) -> bool:
        return self.role in MODERATORS
