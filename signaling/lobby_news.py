"""What the lobby tells whom. The presiding judge and the clerk see who waits (`lobby`, with
names); each waiting participant learns only their own place in the queue (`waiting`): a
position and a count, never a name or an id of anyone else; and what the bench or the clerk
writes to them (`lobby_message`), never anything written to someone else. Mixed into
`HearingSession`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from hearing import Lobby, UnknownParticipant
from hearing.permissions import Action, check
from signaling.errors import NotWaiting
from signaling.member import Member, Outbox, Records, participant_json
from signaling.messages import ALL_WAITING, LobbyMessage


def queue(lobby: Lobby, members: Mapping[str, Member]) -> list[Member]:
    """The waiting participants connected here, in the lobby's order (first come first)."""
    present = (members.get(pid) for pid in lobby.waiting())
    return [m for m in present if m is not None and m.joined]


def place(waiting: list[Member], member: Member) -> dict[str, int] | None:
    """`{"position": 1-based, "waiting": how many wait}`, or None if `member` does not wait."""
    for position, other in enumerate(waiting, start=1):
        if other is member:
            return {"position": position, "waiting": len(waiting)}
    return None


def addressees(message: LobbyMessage, waiting: list[Member], known: bool) -> list[Member]:
    """Who a message to the lobby reaches: everyone waiting, or the one it names, who must be
    waiting now (`known`: whether they have come to this hearing at all)."""
    if message.to_all:
        return waiting
    found = [m for m in waiting if m.participant.id == message.to]
    if not found and known:
        raise NotWaiting("this participant is not waiting in the lobby")
    if not found:
        raise UnknownParticipant("no such participant has come to this hearing")
    return found


class _Session(Records, Protocol):
    lobby: Lobby
    members: dict[str, Member]

    @property
    def _outbox(self) -> Outbox: ...

    def _moderators(self) -> list[Member]: ...

    def _require_admitted(self, member: Member) -> None: ...

    def knows(self, participant_id: str) -> bool: ...


class LobbyNews:
    def _moderators(self: _Session) -> list[Member]:
        return [m for m in self.members.values() if m.joined and m.participant.is_moderator]

    async def alert(self: _Session, code: str, participant_id: str) -> None:
        """Tell the judge and the clerk that something needs their eye."""
        for moderator in self._moderators():
            await self._outbox.send(
                moderator.sid, "alert", {"code": code, "participant_id": participant_id}
            )

    def lobby_place(self: _Session, member: Member) -> dict[str, int] | None:
        """The member's place in the queue, for their welcome."""
        return place(queue(self.lobby, self.members), member)

    async def message_lobby(self: _Session, actor: Member, message: LobbyMessage) -> int:
        """The bench or the clerk writes to one person waiting, or to all who wait; returns
        how many it reached. The audit entry says to whom and how long, never the words (the
        log holds ids, never free text that may hold a name)."""
        check(actor.participant.role, Action.MESSAGE_LOBBY)
        self._require_admitted(actor)
        waiting = queue(self.lobby, self.members)
        reached = addressees(message, waiting, self.knows(message.to))
        at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        shown = {
            "text": message.text,
            "at": at,
            "from_role": actor.participant.role.value,
            "to": ALL_WAITING if message.to_all else "you",
        }
        for member in reached:
            await self._outbox.send(member.sid, "lobby_message", shown)
        to = ALL_WAITING if message.to_all else "one"
        details = {"to": to, "delivered": len(reached), "chars": len(message.text)}
        target = None if message.to_all else message.to
        self.record(actor.participant.id, "lobby_message", target=target, details=details)
        return len(reached)

    async def _announce_lobby(self: _Session, skip: Member | None = None) -> None:
        """The queue changed: the bench gets the list, each waiting participant their place
        (`skip` is one who has not had their welcome yet: it carries the place)."""
        waiting = queue(self.lobby, self.members)
        names = {"waiting": [participant_json(m.participant) for m in waiting]}
        for moderator in self._moderators():
            await self._outbox.send(moderator.sid, "lobby", names)
        for position, member in enumerate(waiting, start=1):
            if member is not skip:
                where: dict[str, Any] = {"position": position, "waiting": len(waiting)}
                await self._outbox.send(member.sid, "waiting", where)
