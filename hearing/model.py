"""Hearings, roles and participants: value objects that validate themselves at the door."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hearing.categories import CaseCategory, forces_in_camera
from hearing.errors import InvalidHearing
from hearing.languages import COURT_LANGUAGE, LanguagePair, language_tag, language_tags


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
    language: str = COURT_LANGUAGE
    """The court language (a BCP 47 tag): the floor speaks it."""
    languages: tuple[str, ...] = ()
    """The hearing's other languages (BCP 47 tags, sign languages too), for which
    interpreters may be named."""

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
        if language_tag(self.language, "language") != self.language:
            raise InvalidHearing("language must be a canonical BCP 47 tag", field="language")
        if language_tags(self.languages) != self.languages or self.language in self.languages:
            raise InvalidHearing(
                "languages must be canonical BCP 47 tags, each once, not the court language",
                field="languages",
            )
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
    language: str | None = None
    """The language they follow the hearing in; None: the court language."""
    interpreting: LanguagePair | None = None
    """An interpreter's pair (`vi↔en`); nobody else has one."""

    def __post_init__(self) -> None:
        check_id(self.id, "participant_id")
        check_id(self.hearing_id, "hearing_id")
        if not isinstance(self.role, Role):
            raise InvalidHearing("unknown role", field="role")
        if check_display_name(self.display_name) != self.display_name:
            raise InvalidHearing("display_name is not normalised", field="display_name")
        if self.language is not None and language_tag(self.language) != self.language:
            raise InvalidHearing("language must be a canonical BCP 47 tag", field="language")
        if self.interpreting is not None and self.role is not Role.INTERPRETER:
            raise InvalidHearing("only an interpreter has a language pair", field="interpreting")

    @property
    def is_moderator(self) -> bool:
        return self.role in MODERATORS


def hearing_languages(hearing: Hearing) -> tuple[str, ...]:
    """The court language first, then the others."""
    return (hearing.language, *hearing.languages)


def check_languages_of(hearing: Hearing, participant: Participant) -> None:
    """A participant's language and pair are languages of their hearing."""
    known = hearing_languages(hearing)
    if participant.language is not None and participant.language not in known:
        raise InvalidHearing(
            f"language {participant.language} is not a language of this hearing"
            f" ({', '.join(known)})",
            field="language",
        )
    pair = participant.interpreting
    if pair is not None and not pair.languages <= set(known):
        raise InvalidHearing(
            f"the pair {pair} is not two languages of this hearing ({', '.join(known)})",
            field="interpreting",
        )
