"""What the lobby tells whom. The presiding judge and the clerk see who waits (`lobby`, with
names); each waiting participant learns only their own place in the queue (`waiting`): a
position and a count, never a name or an id of anyone else. Mixed into `HearingSession`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from hearing import Lobby
from signaling.member import Member, Outbox, participant_json


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


class _Session(Protocol):
    lobby: Lobby
    members: dict[str, Member]

    @property
    def _outbox(self) -> Outbox: ...

    def _moderators(self) -> list[Member]: ...


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
