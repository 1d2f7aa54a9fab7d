"""The bench's orders about one participant: move, call or release a witness, the floor,
screen sharing, hands, court-ordered mutes, ejection. Each checks the actor's role before it
looks the target up (a refusal reveals nothing), changes the court, is audited, and is
announced after forwarding has changed. Mixed into `HearingSession`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from hearing import Lobby
from hearing.media_health import MediaHealth
from hearing.permissions import Action, check
from hearing.rooms import Room
from hearing.seats import Seat
from signaling.courtroom import Courtroom
from signaling.enforcement import Applied
from signaling.errors import LeaveReason, WitnessWithoutMedia
from signaling.member import Member, Outbox, Records


class _Session(Records, Protocol):
    court: Courtroom
    lobby: Lobby
    members: dict[str, Member]

    @property
    def _outbox(self) -> Outbox: ...

    def _target(self, participant_id: str) -> Seat: ...

    def _require_admitted(self, member: Member) -> None: ...

    async def _announce_state(self, reason: Mapping[str, str] | None = None) -> Applied: ...

    async def _announce_roster(self) -> None: ...

    async def leave(self, member: Member, reason: LeaveReason) -> None: ...


class CourtOrders:
    async def move(self: _Session, actor: Member, participant_id: str, room: Room) -> None:
        check(actor.participant.role, Action.MOVE)  # before the lookup: a refusal reveals nothing
        self.court.move(self._target(participant_id), room)
        applied = await self._announce_state()
        details = {"room": room.kind.value, "room_id": room.id, **applied.details()}
        self.record(actor.participant.id, "move", target=participant_id, details=details)

    async def call_witness(
        self: _Session, actor: Member, participant_id: str, called: bool, audio_only: bool = False
    ) -> None:
        """Call or release a witness. One whose camera does not reach the court (its media
        health is not live or weak) is called only with `audio_only`, which is audited."""
        action = Action.CALL_WITNESS if called else Action.RELEASE_WITNESS
        check(actor.participant.role, action)
        seat = self._target(participant_id)
        witness = self.members.get(participant_id)
        camera = (witness.health if witness else {}).get("video", MediaHealth.NO_MEDIA.value)
        seen = camera in (MediaHealth.LIVE.value, MediaHealth.WEAK.value)
        if called and not seen and not audio_only:
            raise WitnessWithoutMedia(
                f"the witness's camera does not reach the court ({camera}); confirm to hear "
                "them by audio only",
                field="audio_only",
            )
        self.court.call_witness(seat, called)
        applied = await self._announce_state()
        details = applied.details()
        if called and not seen:
            details |= {"audio_only": True, "camera": camera}
        self.record(actor.participant.id, action.value, target=participant_id, details=details)

    async def give_floor(self: _Session, actor: Member, participant_id: str, granted: bool) -> None:
        action = Action.GRANT_FLOOR if granted else Action.REVOKE_FLOOR
        check(actor.participant.role, action)
        self.court.give_floor(self._target(participant_id), granted)
        applied = await self._announce_state()
        details = applied.details()
        self.record(actor.participant.id, action.value, target=participant_id, details=details)

    async def grant_screen(
        self: _Session, actor: Member, participant_id: str, granted: bool
    ) -> None:
        check(actor.participant.role, Action.GRANT_SCREEN if granted else Action.REVOKE_SCREEN)
        self._target(participant_id)
        if granted:
            self.court.screen_grants.add(participant_id)
        else:
            self.court.screen_grants.discard(participant_id)
        action = "grant_screen" if granted else "revoke_screen"
        applied = await self._announce_state()
        details = applied.details()
        self.record(actor.participant.id, action, target=participant_id, details=details)

    async def raise_hand(self: _Session, member: Member, raised: bool) -> None:
        self._require_admitted(member)
        check(member.participant.role, Action.RAISE_HAND if raised else Action.LOWER_HAND)
        if raised:
            self.court.hands.add(member.participant.id)
        else:
            self.court.hands.discard(member.participant.id)
        self.record(member.participant.id, "raise_hand" if raised else "lower_hand")
        await self._announce_roster()

    async def order_mute(
        self: _Session, actor: Member, participant_id: str, kind: str, muted: bool
    ) -> None:
        """`force_mute` stops forwarding the participant's `kind` to everyone; `ask_unmute`
        lifts that and asks them to unmute (they choose to)."""
        action = Action.FORCE_MUTE if muted else Action.ASK_UNMUTE
        check(actor.participant.role, action)
        self._target(participant_id)
        muted_kinds = self.court.forced_mute.setdefault(participant_id, set())
        if muted:
            muted_kinds.add(kind)
        else:
            muted_kinds.discard(kind)
        applied = await self._announce_state()
        details = {"kind": kind, **applied.details()}
        self.record(actor.participant.id, action.value, target=participant_id, details=details)
        target = self.members.get(participant_id)
        if target is not None:
            event = "muted_by_court" if muted else "unmute_requested"
            await self._outbox.send(target.sid, event, {"kind": kind})

    async def eject(self: _Session, actor: Member, participant_id: str) -> None:
        self.lobby.eject(actor.participant, participant_id)
        self.record(actor.participant.id, "eject", target=participant_id)
        target = self.members.get(participant_id)
        if target is not None:
            await self.leave(target, LeaveReason.EJECTED)
        else:
            await self._announce_state()
