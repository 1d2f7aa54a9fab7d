"""Who may do what: the permission table, checked for every role and every action."""

from __future__ import annotations

import itertools

import pytest

from hearing import Action, ActionNotPermitted, NotPermitted, Role, check
from hearing.permissions import GRANTABLE

PJ, J, CL = Role.PRESIDING_JUDGE, Role.JUDGE, Role.CLERK
EVERYONE_BUT_OBSERVERS = frozenset(Role) - {Role.OBSERVER}
LAWYERS_AND_CLIENTS = frozenset(
    {Role.ACCUSED, Role.DEFENCE_COUNSEL, Role.PLAINTIFF, Role.RESPONDENT, Role.PARTY_LAWYER}
)

# action -> who may take it, and why
EXPECTED: dict[Action, tuple[frozenset[Role], str]] = {
    Action.ADMIT: (frozenset({PJ, CL}), "the clerk (or the presiding judge) runs the lobby"),
    Action.DENY: (frozenset({PJ, CL}), "the clerk (or the presiding judge) runs the lobby"),
    Action.CHANGE_PHASE: (frozenset({PJ}), "only the presiding judge opens, pauses and closes"),
    Action.MOVE: (frozenset({PJ, CL}), "the clerk moves people on the judge's instruction"),
    Action.CALL_WITNESS: (frozenset({PJ, CL}), "the clerk calls witnesses in"),
    Action.RELEASE_WITNESS: (frozenset({PJ, CL}), "the clerk releases witnesses"),
    Action.GRANT_FLOOR: (frozenset({PJ}), "the presiding judge directs the hearing"),
    Action.REVOKE_FLOOR: (frozenset({PJ}), "the presiding judge directs the hearing"),
    Action.PUBLISH: (EVERYONE_BUT_OBSERVERS, "an observer watches; everyone else may be seen"),
    Action.RAISE_HAND: (EVERYONE_BUT_OBSERVERS, "a party can only raise a hand"),
    Action.LOWER_HAND: (EVERYONE_BUT_OBSERVERS, "and lower it"),
    Action.FORCE_MUTE: (frozenset({PJ, CL}), "keeping order"),
    Action.ASK_UNMUTE: (frozenset({PJ, CL}), "keeping order"),
    Action.EJECT: (frozenset({PJ}), "only the presiding judge orders a removal"),
    Action.REVOKE_LINK: (frozenset({PJ, CL}), "the clerk withdraws a link given in error"),
    Action.END_HEARING: (frozenset({PJ}), "only the presiding judge closes the hearing"),
    Action.SHARE_SCREEN: (frozenset({PJ, CL}), "exhibits: the judge and the clerk"),
    Action.GRANT_SCREEN: (frozenset({PJ}), "the presiding judge lets others show exhibits"),
    Action.REVOKE_SCREEN: (frozenset({PJ}), "the presiding judge lets others show exhibits"),
    Action.REQUEST_CONSULTATION: (LAWYERS_AND_CLIENTS, "a lawyer and client ask to consult"),
    Action.START_RECORDING: (frozenset({PJ, CL}), "the clerk keeps the record"),
    Action.PAUSE_RECORDING: (frozenset({PJ, CL}), "the clerk keeps the record"),
    Action.OPEN_LIVESTREAM: (frozenset({PJ}), "only the judge opens the stream"),
    Action.CLOSE_LIVESTREAM: (frozenset({PJ}), "only the judge closes the stream"),
    Action.CUT_LIVESTREAM: (frozenset({PJ}), "only the judge cuts the stream"),
    Action.MESSAGE_LOBBY: (frozenset({PJ, J, CL}), "the bench and clerk write to the lobby"),
    Action.ORDER_INTERPRETATION: (
        frozenset({PJ, CL}),
        "the judge or the clerk assigns interpreters, their mode and the handover",
    ),
    Action.ORDER_ANONYMITY: (frozenset({PJ}), "only the presiding judge makes an anonymity order"),
}


def test_the_table_covers_every_action() -> None:
    assert set(EXPECTED) == set(Action)


@pytest.mark.parametrize(("role", "action"), list(itertools.product(Role, Action)), ids=str)
def test_each_role_may_take_exactly_the_actions_the_table_gives_it(
    role: Role, action: Action
) -> None:
    roles, why = EXPECTED[action]
    if role in roles:
        check(role, action)
        return
    with pytest.raises(ActionNotPermitted) as refused:
        check(role, action)
    assert isinstance(refused.value, NotPermitted), why
    assert refused.value.code == "forbidden"
    assert refused.value.role == role.value and refused.value.action == action.value
    assert "may not" in refused.value.message


def test_a_party_can_only_be_seen_and_raise_or_lower_a_hand() -> None:
    for party in (Role.ACCUSED, Role.PLAINTIFF, Role.RESPONDENT):
        may = {a for a in Action if party in EXPECTED[a][0]}
        assert may - {Action.REQUEST_CONSULTATION} == {
            Action.PUBLISH,
            Action.RAISE_HAND,
            Action.LOWER_HAND,
        }


def test_an_observer_may_do_nothing() -> None:
    for action in Action:
        with pytest.raises(ActionNotPermitted):
            check(Role.OBSERVER, action, granted=set(Action))


@pytest.mark.parametrize("role", sorted(EVERYONE_BUT_OBSERVERS - {PJ, CL}))
def test_screen_sharing_granted_by_the_judge_lets_anyone_but_an_observer_share(
    role: Role,
) -> None:
    with pytest.raises(ActionNotPermitted, match="unless the presiding judge grants it"):
        check(role, Action.SHARE_SCREEN)
    check(role, Action.SHARE_SCREEN, granted={Action.SHARE_SCREEN})


def test_only_screen_sharing_can_be_granted() -> None:
    assert frozenset({Action.SHARE_SCREEN}) == GRANTABLE
    with pytest.raises(ActionNotPermitted):
        check(Role.ACCUSED, Action.CHANGE_PHASE, granted={Action.CHANGE_PHASE})


def test_the_refusal_says_who_may() -> None:
    with pytest.raises(ActionNotPermitted, match="only the presiding judge may"):
        check(J, Action.CHANGE_PHASE)
