"""The court's rules about exhibits: which side an exhibit is numbered on, who may submit one,
who admits or refuses it, and who may see a restricted one. Pure functions, no I/O; the
ledger (`recording/exhibits/`) and the API ask them."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from hearing.errors import ActionNotPermitted, InvalidHearing
from hearing.matrix import Visibility, visible
from hearing.model import Role
from hearing.phases import Phase
from hearing.profiles import HearingRules
from hearing.seats import MediaKind, Seat


class ExhibitSide(StrEnum):
    """The letter an exhibit is numbered with: P-1 (prosecution or plaintiff), D-1 (defence or
    respondent), C-1 (the court's own)."""

    PROSECUTION = "P"
    DEFENCE = "D"
    COURT = "C"


class ExhibitState(StrEnum):
    SUBMITTED = "submitted"
    ADMITTED = "admitted"
    REFUSED = "refused"


_SIDES: Final[dict[Role, ExhibitSide]] = {
    Role.PROSECUTOR: ExhibitSide.PROSECUTION,
    Role.PLAINTIFF: ExhibitSide.PROSECUTION,
    Role.DEFENCE_COUNSEL: ExhibitSide.DEFENCE,
    Role.ACCUSED: ExhibitSide.DEFENCE,
    Role.RESPONDENT: ExhibitSide.DEFENCE,
    Role.PRESIDING_JUDGE: ExhibitSide.COURT,
    Role.JUDGE: ExhibitSide.COURT,
    Role.CLERK: ExhibitSide.COURT,
}
SUBMITTERS: Final = frozenset({*_SIDES, Role.PARTY_LAWYER})
"""The parties, their lawyers, the prosecutor and the bench submit exhibits; a witness, an
expert, an interpreter or an observer does not (their documents come through a party)."""
ADMITTERS: Final = frozenset({Role.PRESIDING_JUDGE, Role.JUDGE, Role.CLERK})


def exhibit_side(role: Role, declared: ExhibitSide | None = None) -> ExhibitSide:
    """The side `role` submits on. A party's lawyer acts for either side and must declare it;
    anyone else's side follows from the role, and a declaration that contradicts it is refused."""
    if role not in SUBMITTERS:
        raise ActionNotPermitted(
            f"a {role.value} does not submit exhibits", role=role.value, action="submit_exhibit"
        )
    own = _SIDES.get(role)
    if own is None:
        if declared is None or declared is ExhibitSide.COURT:
            raise InvalidHearing("a party's lawyer declares the side: P or D")
        return declared
    if declared is not None and declared is not own:
        raise InvalidHearing(f"a {role.value} submits on side {own.value}")
    return own


def check_may_decide(role: Role) -> None:
    """Only the bench (a judge, the presiding judge) or the clerk admits or refuses."""
    if role not in ADMITTERS:
        raise ActionNotPermitted(
            f"a {role.value} does not admit or refuse exhibits",
            role=role.value,
            action="decide_exhibit",
        )


def exhibit_number(side: ExhibitSide, ordinal: int) -> str:
    if not isinstance(ordinal, int) or isinstance(ordinal, bool) or not 1 <= ordinal <= 99999:
        raise InvalidHearing("an exhibit's ordinal is 1..99999")
    return f"{side.value}-{ordinal}"


def sees_exhibit(
    viewer: Seat, presenter: Seat, restricted: bool, phase: Phase, rules: HearingRules
) -> bool:
    """Whether `viewer` sees the exhibit `presenter` shows: whoever the matrix lets see the
    presenter's screen. A restricted exhibit (a child's statement) is, besides, the child's
    side: only those the matrix lets receive the child witness from the presenter's place see
    it (under the vn profile never the accused)."""
    if viewer.participant_id == presenter.participant_id:
        return True
    if visible(viewer, presenter, MediaKind.SCREEN, phase, rules) is not Visibility.ALLOW:
        return False
    if not restricted:
        return True
    childs_side = Seat(
        presenter.participant_id, Role.CHILD_WITNESS, presenter.room, linked=presenter.linked
    )
    return visible(viewer, childs_side, MediaKind.SCREEN, phase, rules) is Visibility.ALLOW
