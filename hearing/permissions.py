"""Who may do what: one table, one check. `signaling` calls `check` before every moderation
request and audits the refusal it raises."""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import Final

from hearing.errors import ActionNotPermitted
from hearing.model import Role


class Action(StrEnum):
    ADMIT = "admit"
    DENY = "deny"
    CHANGE_PHASE = "change_phase"
    MOVE = "move"
    CALL_WITNESS = "call_witness"
    RELEASE_WITNESS = "release_witness"
    GRANT_FLOOR = "grant_floor"
    REVOKE_FLOOR = "revoke_floor"
    PUBLISH = "publish"
    RAISE_HAND = "raise_hand"
    LOWER_HAND = "lower_hand"
    FORCE_MUTE = "force_mute"
    ASK_UNMUTE = "ask_unmute"
    EJECT = "eject"
    REVOKE_LINK = "revoke_link"
    END_HEARING = "end_hearing"
    SHARE_SCREEN = "share_screen"
    GRANT_SCREEN = "grant_screen"
    REVOKE_SCREEN = "revoke_screen"
    REQUEST_CONSULTATION = "request_consultation"
    START_RECORDING = "start_recording"
    PAUSE_RECORDING = "pause_recording"
    OPEN_LIVESTREAM = "open_livestream"
    CLOSE_LIVESTREAM = "close_livestream"
    CUT_LIVESTREAM = "cut_livestream"
    MESSAGE_LOBBY = "message_lobby"
    ORDER_INTERPRETATION = "order_interpretation"
    ORDER_ANONYMITY = "order_anonymity"


_PRESIDING: Final = frozenset({Role.PRESIDING_JUDGE})
_MODERATORS: Final = frozenset({Role.PRESIDING_JUDGE, Role.CLERK})
_BENCH_AND_CLERK: Final = frozenset({Role.PRESIDING_JUDGE, Role.JUDGE, Role.CLERK})
_SPEAKERS: Final = frozenset(Role) - {Role.OBSERVER}
_CLIENTS_AND_LAWYERS: Final = frozenset(
    {
        Role.ACCUSED,
        Role.DEFENCE_COUNSEL,
        Role.PLAINTIFF,
        Role.RESPONDENT,
        Role.PARTY_LAWYER,
    }
)

PERMISSIONS: Final[dict[Action, frozenset[Role]]] = {
    Action.ADMIT: _MODERATORS,
    Action.DENY: _MODERATORS,
    Action.CHANGE_PHASE: _PRESIDING,
    Action.MOVE: _MODERATORS,
    Action.CALL_WITNESS: _MODERATORS,
    Action.RELEASE_WITNESS: _MODERATORS,
    Action.GRANT_FLOOR: _PRESIDING,
    Action.REVOKE_FLOOR: _PRESIDING,
    Action.PUBLISH: _SPEAKERS,
    Action.RAISE_HAND: _SPEAKERS,
    Action.LOWER_HAND: _SPEAKERS,
    Action.FORCE_MUTE: _MODERATORS,
    Action.REVOKE_LINK: _MODERATORS,
    Action.ASK_UNMUTE: _MODERATORS,
    Action.EJECT: _PRESIDING,
    Action.END_HEARING: _PRESIDING,
    Action.SHARE_SCREEN: _MODERATORS,
    Action.GRANT_SCREEN: _PRESIDING,
    Action.REVOKE_SCREEN: _PRESIDING,
    Action.REQUEST_CONSULTATION: _CLIENTS_AND_LAWYERS,
    Action.START_RECORDING: _MODERATORS,
    Action.PAUSE_RECORDING: _MODERATORS,
    Action.OPEN_LIVESTREAM: _PRESIDING,
    Action.CLOSE_LIVESTREAM: _PRESIDING,
    Action.CUT_LIVESTREAM: _PRESIDING,
    Action.MESSAGE_LOBBY: _BENCH_AND_CLERK,
    Action.ORDER_INTERPRETATION: _MODERATORS,
    Action.ORDER_ANONYMITY: _PRESIDING,
}
"""Action -> the roles that may take it. Recording and the livestream are further limited by
`hearing.policy` (where and when), and the phase by `hearing.phases` (which move)."""

GRANTABLE: Final = frozenset({Action.SHARE_SCREEN})
"""Actions the presiding judge may grant to a participant of any other role but observer."""


def allowed(role: Role, action: Action, *, granted: Collection[Action] = ()) -> bool:
    if role in PERMISSIONS[action]:
        return True
    return action in GRANTABLE and action in granted and role is not Role.OBSERVER


def check(actor_role: Role, action: Action, *, granted: Collection[Action] = ()) -> None:
    """Raise `ActionNotPermitted` (code `forbidden`) unless `actor_role` may take `action`.

    `granted` holds what the presiding judge has granted this participant (`GRANT_SCREEN`).
    """
    if allowed(actor_role, action, granted=granted):
        return
    who = " or the ".join(sorted(r.value.replace("_", " ") for r in PERMISSIONS[action]))
    extra = " unless the presiding judge grants it" if action in GRANTABLE else ""
    raise ActionNotPermitted(
        f"a {actor_role.value.replace('_', ' ')} may not {action.value.replace('_', ' ')}:"
        f" only the {who} may{extra}",
        role=actor_role.value,
        action=action.value,
    )
