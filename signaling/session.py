"""A hearing in session on this node: where the court's rules meet the media engine.

Every change (arrival, admission, publication, departure, a phase, a move, a called witness,
the floor) ends in `_reconcile()`, which asks the visibility matrix (through `Courtroom`) who
may receive which track and moves forwarders to match. Offers to subscribers are sent one at
a time per participant; a later change waits for the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from hearing import (
    Admission,
    Hearing,
    HearingError,
    InvalidHearing,
    Lobby,
    Participant,
    UnknownParticipant,
)
from hearing.due_process import DEFAULT_GRACE_SECONDS, SITTING
from hearing.interpretation import channel_label, may_publish_channel
from hearing.permissions import Action, check
from hearing.phases import Phase
from hearing.seats import Seat
from media import MediaEngine, PublishedTrack, StaleAnswer
from media.liveness import CONSENT_SECONDS
from media.masking import MaskingHub
from recording.livestream.stream import HearingLivestream
from recording.recorder import HearingRecorder
from security import AuditError, AuditFenced, AuditLog
from signaling.anonymity_orders import AnonymityOrders
from signaling.audit_tail import AuditTail
from signaling.coalesce import Coalescer
from signaling.courtroom import Courtroom
from signaling.enforcement import Applied, Enforcement
from signaling.errors import LeaveReason, NotAdmitted, Refused
from signaling.exhibit_orders import ExhibitOrders
from signaling.health import HealthKeeper, Sample, seen_or_heard
from signaling.interpretation_orders import InterpretationOrders
from signaling.interpreters import Interpreters
from signaling.lease import HostLease, always_serving
from signaling.legs import LegKeeper
from signaling.livestream_control import LivestreamControl
from signaling.lobby_news import LobbyNews
from signaling.member import (
    Member,
    Outbox,
    hearing_json,
    offer_json,
    participant_json,
    roster_entry,
    roster_for,
)
from signaling.monitor import ReferenceMonitor
from signaling.orders import CourtOrders
from signaling.persistence import StatePersister
from signaling.presence import PresenceWatch
from signaling.recording_control import RecordingControl
from signaling.speaker import SpeakerWatch, Voice, listeners, voices
from signaling.store import HearingStateStore, MemoryHearingStateStore

log = logging.getLogger(__name__)
STATE_FLUSH_TIMEOUT = 2.0
"""Seconds a closing session waits for its last state to reach the store."""
ROSTER_INTERVAL = 0.02
"""Rosters go out at once, then at most once per interval: changes within it are sent
together at its end, so a flood of requests is not multiplied into a flood of rosters."""


class HearingSession(
    CourtOrders,
    ExhibitOrders,
    InterpretationOrders,
    AnonymityOrders,
    LobbyNews,
    LegKeeper,
    HealthKeeper,
    Enforcement,
):
    def __init__(
        self,
        hearing: Hearing,
        engine: MediaEngine,
        outbox: Outbox,
        audit: AuditLog,
        *,
        grace: float = DEFAULT_GRACE_SECONDS,
        recorder: HearingRecorder | None = None,
        livestream: HearingLivestream | None = None,
        states: HearingStateStore | None = None,
        leg_silence: float = CONSENT_SECONDS,
        on_incident: Callable[[str], None] | None = None,
        lease: HostLease | None = None,
    ) -> None:
        self.hearing = hearing
        self.hearing_id = hearing.id
        self.lease = lease or always_serving()
        """This node's hold on the hearing; past its deadline nothing is written or obeyed."""
        self._leg_silence = leg_silence
        self._count_incident = on_incident
        self._leg_watch: asyncio.Task[None] | None = None
        self._presence = PresenceWatch(grace)
        self._track_samples: dict[str, deque[Sample]] = {}
        self._health_seconds: dict[str, float] = {}
        self._health_looked_at: float | None = None
        self._health_noted_at = 0.0
        self._watchdog: asyncio.Task[None] | None = None
        self._speaker_task: asyncio.Task[None] | None = None
        self._speakers = SpeakerWatch(self._voices, self._listeners, outbox.send)
        self._engine = engine
        self._outbox = outbox
        self._audit = audit
        self.lobby = Lobby()
        self.court = Courtroom(hearing)
        self.members: dict[str, Member] = {}
        self.masking = MaskingHub()
        """The masked variants of this hearing's tracks (anonymity orders)."""
        self._known: dict[str, Participant] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.recording = RecordingControl(recorder, self.record)
        self.livestream = LivestreamControl(livestream, self.record, hearing.id)
        self._roster = Coalescer(
            self._send_roster, ROSTER_INTERVAL, self.spawn, lambda: self._closed
        )
        self._state = StatePersister(
            states or MemoryHearingStateStore(), hearing.id, self.snapshot, lambda: self.lease.epoch
        )
        self.audit_tail = AuditTail(self._admitted, outbox, self.spawn, lambda: self._closed)
        self.monitor = ReferenceMonitor(
            lambda: self.members,
            self.seat_of,
            self.court.receives,
            self._on_incident,
            masked=self._receives_masked,
            variants=lambda: {v.track.id: v.track for v in self.masking.variants()},
        )
        audit.watch(self.audit_tail.add)  # every entry, whoever writes it (the recorder too)

    def snapshot(self) -> dict[str, Any]:
        """The court's state (admissions, rooms, phase, floor ...) as JSON values."""
        court = self.court.snapshot()
        return {"lobby": self.lobby.snapshot(), "court": court, "livestream": self.livestream.state}

    async def restore(self) -> bool:
        """Carry on from the stored state, if there is one (a session rebuilt after a restart
        or on another node); a malformed snapshot is logged and ignored."""
        snapshot = await self._state.load()
        if snapshot is None:
            return False
        try:
            lobby = Lobby.restore(snapshot["lobby"])
            self.court.restore(snapshot["court"])
        except (KeyError, TypeError, ValueError, HearingError):
            log.exception("the stored state of %s is malformed; starting afresh", self.hearing.id)
            return False
        self.lobby = lobby
        self.record("system", "state_restored", details={"phase": self.court.phase.value})
        self.recording.phase_changed("system", self.court.phase)  # a sitting court records on
        self.livestream.resume(snapshot.get("livestream"), self.court.phase)  # and streams on
        return True

    # -- arrival and the lobby ------------------------------------------------------------

    def check_entry(self, participant: Participant) -> None:
        """Refuse one denied (or ejected) earlier, and anyone once the hearing has ended."""
        if self.lobby.status(participant.id) is Admission.DENIED:
            raise Refused("denied", "you were denied entry to this hearing")
        if self.court.phase is Phase.ADJOURNED:
            raise Refused("hearing_ended", "this hearing has ended")

    async def replace_stale(self, participant: Participant, resume: str | None) -> None:
        """The same page connecting again (its resume key matches) before its old connection
        was noticed as gone (a network drop): the old one is put out as `replaced`. Another
        device with the same link has another key and is refused `already_connected`."""
        stale = self.members.get(participant.id)
        if stale is not None and resume is not None and stale.resume == resume:
            await self.leave(stale, LeaveReason.REPLACED)

    def connect(self, participant: Participant, sid: str, resume: str | None = None) -> Member:
        self.check_entry(participant)
        if participant.id in self.members:
            raise Refused("already_connected", "this participant is already connected")
        member = Member(participant, sid, resume=resume)
        self.members[participant.id] = member
        self._known[participant.id] = participant
        if self._watchdog is None:
            loop = asyncio.get_running_loop()
            self._watchdog = loop.create_task(self._guard_due_process())
            self._speaker_task = loop.create_task(self._speakers.run())
            self._leg_watch = loop.create_task(self._watch_legs())
            self.monitor.start()
        return member

    async def join(self, member: Member) -> dict[str, Any]:
        if member.joined:
            admission = self.lobby.status(member.participant.id)
        else:
            member.joined = True
            admission = self.lobby.arrive(member.participant)
        self.record(member.participant.id, "arrive", result=str(admission))
        welcome: dict[str, Any] = {
            "participant": participant_json(member.participant),
            "interpreting": None
            if member.participant.interpreting is None
            else str(member.participant.interpreting),
            "hearing": hearing_json(self.hearing),
            "admission": str(admission),
            "phase": self.court.phase.value,
            "recording": self.recording.state,
            "livestream": self.livestream.json(),
            "ice_servers": self._engine.ice_servers_json(),
        }
        if admission is Admission.WAITING:
            welcome["lobby"] = self.lobby_place(member)  # the others hear of the change now
            await self._announce_lobby(skip=member)
        else:
            self.spawn(self._after_admission(member))
        return welcome

    async def admit(self, actor: Member, participant_id: str) -> None:
        self.lobby.admit(actor.participant, participant_id)
        self.record(actor.participant.id, "admit", target=participant_id)
        member = self.members.get(participant_id)
        await self._announce_lobby()
        if member is not None:
            await self._outbox.send(member.sid, "admitted", {})
            await self._after_admission(member)

    async def deny(self, actor: Member, participant_id: str) -> None:
        self.lobby.deny(actor.participant, participant_id)
        self.record(actor.participant.id, "deny", target=participant_id)
        await self._announce_lobby()
        member = self.members.get(participant_id)
        if member is not None:
            await self._outbox.send(member.sid, "denied", {"reason": LeaveReason.DENIED.value})
            await self.leave(member, LeaveReason.DENIED)

    async def _after_admission(self, member: Member) -> None:
        await self._announce_roster()
        await self._reconcile()

    # -- media ----------------------------------------------------------------------------

    def _require_admitted(self, member: Member) -> None:
        if self.lobby.status(member.participant.id) is not Admission.ADMITTED:
            raise NotAdmitted("you have not been admitted yet")

    async def publish(
        self,
        member: Member,
        offer_sdp: str,
        screen_mid: str | None = None,
        channel: tuple[str, str] | None = None,
    ) -> str:
        """`channel` is (mid, language): an interpreter's channel in a language of their pair."""
        self._require_admitted(member)
        check(member.participant.role, Action.PUBLISH)  # an observer only watches
        if screen_mid is not None:
            seat = self._target(member.participant.id)
            if not self.court.may_share_screen(seat):
                check(member.participant.role, Action.SHARE_SCREEN)  # raises, saying who may
        labelled = None
        if channel is not None:
            pair = self.interpreters.pair_of(member.participant.id)
            if not may_publish_channel(pair, channel[1]):
                raise InvalidHearing(
                    f"{channel[1]} is not a language of the pair {pair}", field="channel_language"
                )
            labelled = (channel[0], channel_label(channel[1]))

        def on_track(_track: PublishedTrack) -> None:
            if member.publish is peer and not self._closed:
                self.spawn(self._track_changed())

        # a new offer replaces the publish leg, but only once it is accepted: a refused one
        # leaves the current leg (and what it sends to everyone) exactly as it was
        peer = self._engine.publish_peer(member.participant.id, on_track)
        try:
            answer = await peer.accept(offer_sdp, screen_mid, labelled)
        except Exception:
            await self._engine.release(peer)
            raise
        old, member.publish, member.publish_lost = member.publish, peer, None
        if old is not None:
            await self._engine.release(old)
            await self._track_changed()
        details: dict[str, object] = {"screen": screen_mid is not None}
        if channel is not None:
            details["channel"] = channel[1]
        self.record(member.participant.id, "publish", details=details)
        return answer

    async def _track_changed(self) -> None:
        await self._announce_roster()
        await self._reconcile()

    async def restart_media(self, member: Member) -> None:
        """The client's network changed (ICE failed): its subscribe leg is replaced by a new
        one with a fresh ICE session, offered at once; it publishes again on a new leg too.
        aiortc has no ICE restart inside a connection, so the legs are rebuilt."""
        self._require_admitted(member)
        old, member.subscribe = member.subscribe, None
        member.subscribe_legs += 1
        member.subscribe_lost = None
        if old is not None:
            old.permit(frozenset())
            await self._engine.release(old)
        self.record(member.participant.id, "restart_media")
        await self._reconcile()

    async def subscribe_answer(self, member: Member, version: int, answer_sdp: str) -> None:
        self._require_admitted(member)
        if member.subscribe is None:
            raise StaleAnswer("no subscribe offer awaits an answer")
        async with member.negotiation:
            await member.subscribe.accept_answer(version, answer_sdp)
        await self._offer(member)

    async def mute(self, member: Member, kind: str, muted: bool) -> None:
        self._require_admitted(member)
        member.muted[kind] = muted
        await self._announce_roster()

    @property
    def interpreters(self) -> Interpreters:
        return self.court.interpreters

    def seat_of(self, participant: Participant) -> Seat | None:
        return self.court.seat(participant, self.lobby.status(participant.id))

    def _voices(self) -> list[Voice]:
        return voices(self.members.values(), self.seat_of)

    def _listeners(self) -> list[tuple[str, frozenset[str]]]:
        """Who receives which voice; a masked voice counts as its witness's (a masked viewer
        hears them speak, in the masked form, and is told who speaks like anyone else)."""
        natural = {v.track.id: v.original.id for v in self.masking.variants()}
        return [
            (sid, ids | {natural[i] for i in ids if i in natural})
            for sid, ids in listeners(self._admitted())
        ]

    def knows(self, participant_id: str) -> bool:
        """Whether this participant has ever connected to this hearing."""
        return participant_id in self._known

    def known(self) -> tuple[Participant, ...]:
        """Everyone who has connected to this hearing, here now or not."""
        return tuple(self._known.values())

    @property
    def audit_failures(self) -> int:
        """Entries the hearing's audit log could not write (a full or failing disk)."""
        return self._audit.failures

    # -- the court's orders ---------------------------------------------------------------

    def _target(self, participant_id: str) -> Seat:
        participant = self._known.get(participant_id)
        seat = None if participant is None else self.seat_of(participant)
        if seat is None:
            raise UnknownParticipant("no such participant is in the hearing")
        return seat

    async def change_phase(self, actor: Member, phase: Phase) -> None:
        check(actor.participant.role, Action.CHANGE_PHASE)
        self._enter_phase(phase, actor.participant.id)
        applied = await self._announce_state()
        details = {"phase": phase.value, **applied.details()}
        self.record(actor.participant.id, "phase", details=details)

    def _enter_phase(self, phase: Phase, actor: str) -> None:
        was_sitting = self.court.phase in SITTING
        self.court.change_phase(phase)
        if phase in SITTING and not was_sitting:
            self._presence.court_sits()
        self.recording.phase_changed(actor, phase)
        self.livestream.phase_changed(actor, phase)

    async def order_recording(self, actor: Member, start: bool) -> str:
        """The judge starts or pauses the recording; returns the recording's state."""
        self._require_admitted(actor)
        self.recording.order(actor.participant, start, self.court.phase)
        applied = await self._announce_state()
        details = {"start": start, **applied.details()}
        self.record(actor.participant.id, "recording", details=details)
        return self.recording.state

    async def order_livestream(self, actor: Member, action: str) -> dict[str, Any]:
        """The presiding judge (never in the lobby) opens, closes or cuts the public stream."""
        self.livestream.order(actor.participant, action, self.court.phase)
        applied = await self._announce_state()
        details = {"action": action, **applied.details()}
        self.record(actor.participant.id, "livestream", details=details)
        return self.livestream.json()

    async def _guard_due_process(self) -> None:
        """Recess the hearing when someone it cannot go on without has been gone, or without
        media that reaches the court, for longer than the grace period."""
        while True:
            await asyncio.sleep(min(1.0, self._presence.grace / 4))
            try:
                await self._check_presence()
            except Exception:
                log.exception("the due-process guard of %s failed once", self.hearing.id)

    async def _check_presence(self) -> None:
        people = (
            (pid, self.seat_of(p), pid in self.members and seen_or_heard(self.members[pid]))
            for pid, p in self._known.items()
        )
        overdue = self._presence.overdue(people, self.court.phase)
        if overdue is not None:
            await self._due_process_recess(*overdue)

    async def _due_process_recess(self, participant_id: str, gap: float) -> None:
        self._enter_phase(Phase.RECESS, "due_process")
        details = {"gap_seconds": int(gap), "phase": Phase.RECESS.value}
        self.record("system", "due_process_recess", target=participant_id, details=details)
        reason = {"reason": "due_process", "participant_id": participant_id}
        await self._announce_state(reason)

    async def end_hearing(self, actor: Member) -> None:
        """Adjourn and close every connection (after the ack); nobody can join any more."""
        check(actor.participant.role, Action.END_HEARING)
        if self.court.phase is not Phase.ADJOURNED:
            self._enter_phase(Phase.ADJOURNED, actor.participant.id)
        self.note_media_quality()
        self.record(actor.participant.id, "end_hearing")
        await self._announce_state()
        self.spawn(self._send_everyone_home())

    async def _send_everyone_home(self) -> None:
        for member in list(self.members.values()):
            await self.leave(member, LeaveReason.HEARING_ENDED)

    async def _announce_state(self, reason: Mapping[str, str] | None = None) -> Applied:
        """Forwarding changes first (at once), then the court's state reaches its store (an
        order is acknowledged only once it would survive a crash), then everybody is told;
        returns what the re-evaluation did, for the order's audit entry."""
        applied = await self._reconcile()
        await self._state.stored()
        state: dict[str, Any] = {"phase": self.court.phase.value, "recording": self.recording.state}
        state |= {"livestream": self.livestream.json(), **(reason or {})}
        for member in self._admitted():
            await self._outbox.send(member.sid, "hearing_state", state)
        await self._announce_roster()
        return applied

    async def _reconcile(self) -> Applied:
        if self._closed:
            return Applied()
        self._state.changed()
        changed, applied = self._reconcile_now()
        for member in changed:
            self.spawn(self._offer(member))
        self.monitor.check()  # and after every order, the independent check
        return applied

    async def _offer(self, member: Member) -> None:
        if member.subscribe is None or self.members.get(member.participant.id) is not member:
            return
        leg = member.subscribe
        try:
            async with member.negotiation:
                offer = await leg.create_offer()
        except Exception:  # a leg that cannot even offer is dead: cut off, told, rebuilt
            log.exception("the subscribe leg of %s could not offer", member.participant.id)
            if member.subscribe is leg:
                self._cut_off(member, "offer_failed")
            return
        if offer is None:
            return
        payload = offer_json(offer, member, self.members, self.court.anonymity)
        await self._outbox.send(member.sid, "subscribe_offer", payload)

    # -- announcements --------------------------------------------------------------------

    def _admitted(self) -> list[Member]:
        return [
            m
            for m in self.members.values()
            if m.joined and self.lobby.status(m.participant.id) is Admission.ADMITTED
        ]

    async def _announce_roster(self) -> None:
        self._roster.request()

    async def _send_roster(self) -> None:
        admitted = self._admitted()
        roster = [self._roster_entry(m) for m in admitted]
        for viewer in admitted:  # a protected witness's name only for those cleared
            entries = [roster_for(e, m, viewer) for e, m in zip(roster, admitted, strict=True)]
            await self._outbox.send(viewer.sid, "roster", {"participants": entries})
        if self.presentation is not None:  # who sees it follows the seats, as media does
            await self._send_presentation()

    def _roster_entry(self, member: Member) -> dict[str, Any]:
        return roster_entry(member, self.seat_of(member.participant), self.court)

    # -- departure ------------------------------------------------------------------------

    async def leave(self, member: Member, reason: LeaveReason) -> None:
        """Idempotent: release the member's media, tell the others, drop the connection."""
        if self.members.get(member.participant.id) is not member:
            return
        del self.members[member.participant.id]
        self.lobby.forget_waiting(member.participant.id)
        self.record(member.participant.id, "leave", result=reason.value)
        for peer in (member.publish, member.subscribe):
            if peer is not None:
                await self._engine.release(peer)
        member.publish = member.subscribe = None
        if reason is not LeaveReason.DISCONNECTED:
            await self._outbox.send(member.sid, "left", {"reason": reason.value})
            await self._outbox.disconnect(member.sid)
        if not self._closed:
            await self._announce_lobby()
            await self._announce_roster()
            await self._reconcile()

    @property
    def audit_log(self) -> AuditLog:
        """The hearing's log, for what another layer writes into it (an exhibit's decision)."""
        return self._audit

    def record(
        self,
        actor: str,
        action: str,
        *,
        target: str | None = None,
        result: str = "ok",
        details: Mapping[str, object] | None = None,
    ) -> None:
        """Write one action or refusal to the hearing's audit log (ids only, never names)."""
        log.info("%s %s %s %s: %s", self.hearing.id, actor, action, target or "-", result)
        try:
            self._audit.record(actor, action, target=target, result=result, details=details)
        except AuditFenced:
            log.info("%s: not written, this node no longer holds the hearing", self.hearing.id)
        except AuditError:
            log.exception("the audit log of %s refused an entry", self.hearing.id)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a background step. The task runs `coro` itself, so a step cancelled before it
        started (the hearing closing) is still closed, never left un-awaited."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._step_done)

    def _step_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("a background step of hearing %s failed", self.hearing.id, exc_info=error)

    async def hand_over(self) -> None:
        """This node stops, the hearing does not: everyone is told to connect again (another
        node takes over from the stored state), the recording's segments are sealed for the
        next node to continue, and the audit log is released with a checkpoint of this
        node's epoch (its chain closed, for the next writer to continue). A hearing that has
        ended is closed instead: its log gets its final checkpoint, and nothing follows."""
        if self._closed:
            return
        if self.court.phase is Phase.ADJOURNED:
            await self.close()
            return
        self.recording.hand_over()
        await self._shut(LeaveReason.NODE_DRAINING)
        self.record("system", "handed_over")  # the last entry of this node's chain
        self._audit.release()

    async def lose(self) -> None:
        """Another node holds the hearing now (this one was stalled past its lease): stop at
        once. Everyone is told `node_lost` and reconnects to the new host; nothing more is
        written for the hearing from here (the log refuses it, the stores refuse the epoch)."""
        self.lease.lost = True
        if self._closed:
            return
        self.recording.hand_over()
        await self._shut(LeaveReason.NODE_LOST)
        self._audit.release()

    def reassert(self) -> None:
        """The store came back after an outage (maybe empty): write the court's state and a
        checkpoint of the audit log again, under this node's epoch."""
        if self._closed:
            return
        self._state.changed()
        try:
            self._audit.checkpoint()
        except AuditError:
            log.info(
                "%s: no checkpoint written again: the log is closed or fenced", self.hearing.id
            )

    def release_audit(self) -> None:
        """Close this node's part of the audit chain now (a shutdown that cannot wait)."""
        if self.court.phase is Phase.ADJOURNED:
            self._audit.close()
        else:
            self._audit.release()

    async def close(self) -> None:
        """End the hearing here for good (everyone leaves with `hearing_ended`)."""
        if self._closed:
            return
        await self._shut(LeaveReason.HEARING_ENDED)
        self._audit.close()

    async def _shut(self, reason: LeaveReason) -> None:
        if self.lease.serving():
            self.note_media_quality()  # the day report's last part of this node's media
        self._closed = True
        for member in list(self.members.values()):
            await self.leave(member, reason)
        await self.monitor.close()
        watchers = (self._watchdog, self._speaker_task, self._leg_watch)
        tasks = [*self._tasks, *(t for t in watchers if t)]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # the court's state as it stood, before closing the media changes it (a live stream
        # stops here, but the next node must carry it on live); a lost lease writes nothing
        if self.lease.serving():
            with contextlib.suppress(TimeoutError):  # a store away does not hold a drain up
                await asyncio.wait_for(self._state.flush(), STATE_FLUSH_TIMEOUT)
        await self._state.close()
        await self.recording.close()
        await self.livestream.close()
        self.masking.close()
