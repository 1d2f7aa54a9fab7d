"""The court-rules state of one hearing in session: the phase, who sits in which room, who
has the floor, which witness rooms are linked. `hearing` decides whether each change is
allowed (the session has already checked that the actor may order it); `receives` asks the
visibility matrix."""

from __future__ import annotations

from typing import Any

from hearing import Admission, Hearing, InvalidHearing, Participant
from hearing.anonymity import AnonymityOrder
from hearing.interpretation import channel_language
from hearing.matrix import Visibility, visible
from hearing.permissions import Action, allowed
from hearing.phases import Phase, transition
from hearing.profiles import HearingRules
from hearing.rooms import COURTROOM, Room, RoomKind, check_room
from hearing.seating import room_on_admission, room_when_called, room_when_released
from hearing.seats import MediaKind, Seat
from signaling.interpreters import Interpreters


class Courtroom:
    def __init__(self, hearing: Hearing) -> None:
        self.rules = HearingRules.of(hearing)
        self._type = hearing.type
        self.phase = Phase.SCHEDULED
        self._rooms: dict[str, Room] = {}
        self._floor: set[str] = set()
        self._linked: set[Room] = set()
        self.hands: set[str] = set()
        self.screen_grants: set[str] = set()
        """Participants the presiding judge lets share their screen."""
        self.forced_mute: dict[str, set[str]] = {}
        """Participant id -> kinds the court has muted; their tracks of those kinds are not
        forwarded to anyone until the court asks them to unmute."""
        self.interpreters = Interpreters(hearing)
        """Languages, interpreters' pairs and the court's interpretation orders."""
        self.anonymity: dict[str, AnonymityOrder] = {}
        """Participant id -> the anonymity order in force over them."""

    def seat(self, participant: Participant, admission: Admission | None) -> Seat | None:
        """Where an admitted participant sits (seated on first admission); None otherwise."""
        if admission is not Admission.ADMITTED:
            return None
        self.interpreters.enrol(participant)
        room = self._rooms.setdefault(
            participant.id, room_on_admission(participant.role, self._type)
        )
        return Seat(
            participant.id,
            participant.role,
            room,
            floor=participant.id in self._floor and room == COURTROOM,
            linked=room in self._linked,
        )

    def roster_fields(self, seat: Seat) -> dict[str, Any]:
        """What the roster says about a seated participant: room, floor, hand, orders."""
        return {
            "room": {"kind": seat.room.kind.value, "id": seat.room.id},
            "floor": seat.floor,
            "linked": seat.linked,
            "hand": seat.participant_id in self.hands,
            "screen_granted": seat.participant_id in self.screen_grants,
            "muted_by_court": sorted(self.forced_mute.get(seat.participant_id, ())),
            **self.interpreters.roster_fields(seat.participant_id),
        } | self._anonymity_fields(seat.participant_id)

    def _anonymity_fields(self, participant_id: str) -> dict[str, Any]:
        """The order over a participant, for the roster; `roster_for` shows the court alone
        more than the pseudonym."""
        order = self.anonymity.get(participant_id)
        if order is None:
            return {}
        return {"anonymity": order.audit_details() | {"masked_from": sorted(order.masked_from)}}

    def snapshot(self) -> dict[str, object]:
        """The state of the court, as plain JSON values, so another node can take over."""
        return {
            "phase": self.phase.value,
            "rooms": {pid: [room.kind.value, room.id] for pid, room in self._rooms.items()},
            "floor": sorted(self._floor),
            "linked": sorted([room.kind.value, room.id] for room in self._linked),
            "hands": sorted(self.hands),
            "screen_grants": sorted(self.screen_grants),
            "forced_mute": {pid: sorted(kinds) for pid, kinds in self.forced_mute.items() if kinds},
            "interpretation": self.interpreters.snapshot(),
            "anonymity": {pid: order.snapshot() for pid, order in self.anonymity.items()},
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Take the state a snapshot describes; raises ValueError (or a HearingError) if it
        is malformed, and then changes nothing."""
        phase = Phase(snapshot["phase"])
        rooms = {str(pid): Room(RoomKind(k), str(i)) for pid, (k, i) in snapshot["rooms"].items()}
        linked = {Room(RoomKind(k), str(i)) for k, i in snapshot["linked"]}
        forced = {
            str(pid): {str(k) for k in kinds} for pid, kinds in snapshot["forced_mute"].items()
        }
        floor = {str(p) for p in snapshot["floor"]}
        hands = {str(p) for p in snapshot["hands"]}
        grants = {str(p) for p in snapshot["screen_grants"]}
        anonymity = {
            str(pid): AnonymityOrder.restore(str(pid), order)
            for pid, order in snapshot.get("anonymity", {}).items()
        }
        self.interpreters.restore(snapshot.get("interpretation", {}))
        self.anonymity = anonymity
        self.phase, self._rooms, self._linked, self.forced_mute = phase, rooms, linked, forced
        self._floor, self.hands, self.screen_grants = floor, hands, grants

    def may_share_screen(self, seat: Seat) -> bool:
        granted = (Action.SHARE_SCREEN,) if seat.participant_id in self.screen_grants else ()
        return allowed(seat.role, Action.SHARE_SCREEN, granted=granted)

    def receives(self, viewer: Seat, publisher: Seat, kind: str) -> bool:
        """Whether `viewer` receives the natural form of the track (masked is not)."""
        return self.verdict(viewer, publisher, kind) is Visibility.ALLOW

    def verdict(self, viewer: Seat, publisher: Seat, kind: str) -> Visibility:
        """The matrix's answer, with court-ordered mutes, screen grants, interpretation and
        anonymity orders."""
        language = channel_language(kind)
        if language is not None:  # an interpreter's channel: audio, narrowed by the orders
            if MediaKind.AUDIO in self.forced_mute.get(publisher.participant_id, ()):
                return Visibility.DENY
            if not self.interpreters.reaches(viewer, publisher, language, self.phase, self.rules):
                return Visibility.DENY
            # a channel has no masked form: whom an order masks the interpreter from hears none
            audio = visible(
                viewer, publisher, MediaKind.AUDIO, self.phase, self.rules, self.anonymity
            )
            return Visibility.ALLOW if audio is Visibility.ALLOW else Visibility.DENY
        if kind in self.forced_mute.get(publisher.participant_id, ()):
            return Visibility.DENY
        if kind == MediaKind.SCREEN and not self.may_share_screen(publisher):
            return Visibility.DENY  # a revoked grant stops the exhibit at once
        return visible(viewer, publisher, MediaKind(kind), self.phase, self.rules, self.anonymity)

    def change_phase(self, target: Phase) -> None:
        self.phase = transition(self.phase, target, closed=self.rules.in_camera_only)

    def move(self, seat: Seat, room: Room) -> None:
        self._rooms[seat.participant_id] = check_room(self._type, room)
        if room != COURTROOM:
            self._floor.discard(seat.participant_id)

    def call_witness(self, seat: Seat, called: bool) -> None:
        decide = room_when_called if called else room_when_released
        room = decide(seat.role, seat.room)
        if room is not None:
            self._rooms[seat.participant_id] = room
        elif called:
            self._linked.add(seat.room)
        else:
            self._linked.discard(seat.room)

    def give_floor(self, seat: Seat, granted: bool) -> None:
        if granted:
            if seat.room != COURTROOM:
                raise InvalidHearing("the floor is given in the courtroom only", field="room")
            self._floor.add(seat.participant_id)
            self.hands.discard(seat.participant_id)  # the floor answers the raised hand
        else:
            self._floor.discard(seat.participant_id)
