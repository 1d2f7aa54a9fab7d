"""The socket.io edge: namespace `/hearing` (and the supervision board's `/court`,
`signaling/board_channel.py`). Validates every message at the door, turns every
error into a stable wire code, and hands the typed request to the hearing's session."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import socketio
from aiohttp import web
from socketio import packet

from hearing import Hearing, UnknownParticipant
from hearing.due_process import DEFAULT_GRACE_SECONDS
from hearing.permissions import Action, check
from media import MediaEngine
from media.liveness import CONSENT_SECONDS
from recording.exhibits.ledger import ExhibitLedger
from recording.livestream.stream import HearingLivestream
from recording.recorder import HearingRecorder
from security import AuditError, AuditLog, Grant, TokenRefused, TokenSigner
from signaling.board_channel import BOARD_NAMESPACE
from signaling.bus import ClusterBus, MemoryBus
from signaling.errors import (
    BadRequest,
    LeaveReason,
    RateLimited,
    Refused,
    ServiceUnavailable,
    WrongNode,
    wire_error,
)
from signaling.frames import MAX_CONNECT_ATTEMPTS, JsonPacket, ProtocolViolation, check_frame
from signaling.hosting import STOP_TIMEOUT, STORE_CALL_TIMEOUT, Hosting
from signaling.lease import HearingLeases, MemoryLeases
from signaling.logs import ENGINEIO_LOG, LOG_CONTEXT
from signaling.member import Member
from signaling.messages import (
    MAX_MESSAGE_BYTES,
    AnonymityRequest,
    CallWitnessRequest,
    Empty,
    ExhibitDecisionRequest,
    ExhibitPageRequest,
    FloorRequest,
    HandoverRequest,
    HandRequest,
    InterpretationRequest,
    LanguageRequest,
    LivestreamOrder,
    LobbyMessage,
    MoveRequest,
    Mute,
    MuteOrder,
    ParticipantRequest,
    PhaseRequest,
    PresentRequest,
    Publish,
    RecordingOrder,
    SubscribeAnswer,
)
from signaling.metrics import SignalingCounters
from signaling.outage import STORE_ERRORS
from signaling.placement import CpuMeter, MemoryPlacement, NodeInfo, Placement
from signaling.ratelimit import ConnectionLimits
from signaling.session import HearingSession
from signaling.store import (
    HearingStateStore,
    HearingStore,
    MemoryHearingStateStore,
    MemoryRevokedTokens,
    RevokedTokens,
)

log = logging.getLogger(__name__)
NAMESPACE = "/hearing"
DRAIN_DEADLINE = 6.0
"""Seconds a stopping node takes at most to hand its hearings over (the whole stop is
bounded by `web/shutdown.py:STOP_DEADLINE`)."""
RESUME_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
"""A page's own key for its connection (`auth.resume`), shown again when it reconnects."""
AUTH_TIMEOUT = 5.0
"""Seconds an engine.io connection may stay open without joining `/hearing` with a token."""
CLOSE_BATCH = 10
"""Unauthenticated connections closed together: hundreds at once would stall the loop."""
HANG_UP_TIMEOUT = 1.0
"""Seconds to wait for engine.io to close a connection (a dead transport never finishes)."""
ABUSE_COOL_OFF = 10.0
"""Seconds a link closed for flooding is refused (`cooling_off`) before it may connect again."""
_EVENT_NAME = re.compile(r"[a-z_]{1,40}")

RecorderFactory = Callable[[Hearing, AuditLog], HearingRecorder]
LivestreamFactory = Callable[[Hearing, AuditLog], HearingLivestream]
Handler = Callable[[HearingSession, Member, Any], Awaitable[dict[str, Any] | None]]
OrderHandler = Callable[[dict[str, Any]], Awaitable[None]]
NAMESPACES = (NAMESPACE, BOARD_NAMESPACE)


class SignalingServer:
    """Owns the socket.io server and the hearings in session on this node."""

    def __init__(
        self,
        *,
        hearings: HearingStore,
        signer: TokenSigner,
        engine: MediaEngine,
        audit_log: Callable[[str], Awaitable[AuditLog]],
        due_process_grace: float = DEFAULT_GRACE_SECONDS,
        leg_silence: float = CONSENT_SECONDS,
        recorder_for: RecorderFactory | None = None,
        livestream_for: LivestreamFactory | None = None,
        revoked: RevokedTokens | None = None,
        states: HearingStateStore | None = None,
        client_manager: socketio.AsyncManager | None = None,
        placement: Placement | None = None,
        node: NodeInfo | None = None,
        bus: ClusterBus | None = None,
        allowed_origins: tuple[str, ...] = (),
        leases: HearingLeases | None = None,
        exhibits: ExhibitLedger | None = None,
    ) -> None:
        self._hearings = hearings
        self._exhibits = exhibits
        self._revoked: RevokedTokens = revoked or MemoryRevokedTokens()
        self._states: HearingStateStore = states or MemoryHearingStateStore()
        self._placement: Placement = placement or MemoryPlacement()
        self._bus: ClusterBus = bus or MemoryBus()
        self.node = node or NodeInfo("local", "")
        self._cpu = CpuMeter()
        self.hosting = Hosting(
            self._placement, leases or MemoryLeases(), self._here, self._lost, self._reassert
        )
        self._grace = due_process_grace
        self._leg_silence = leg_silence
        self._audit_log = audit_log
        self._recorder_for = recorder_for
        self._livestream_for = livestream_for
        self._signer = signer
        self._engine = engine
        self._sessions: dict[str, HearingSession] = {}
        self.counters = SignalingCounters()
        """Answer times and refusals, read by pull for monitoring (signaling/metrics.py)."""
        self._opening = asyncio.Lock()
        self._connections: dict[str, tuple[HearingSession, Member]] = {}
        self._limits: dict[str, ConnectionLimits] = {}
        self._cooling: dict[tuple[str, str], float] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            max_http_buffer_size=MAX_MESSAGE_BYTES,
            serializer=JsonPacket,
            # None: pages of this server's own origin only; else exactly these origins
            cors_allowed_origins=list(allowed_origins) or None,
            logger=False,
            engineio_logger=ENGINEIO_LOG,
            # many nodes: socket.io's own Redis pub/sub carries emits to the node holding the sid
            client_manager=client_manager,
        )
        self._handlers: dict[str, Handler] = {
            "join": self._join,
            "admit": self._admit,
            "deny": self._deny,
            "lobby_message": self._lobby_message,
            "publish": self._publish,
            "subscribe_answer": self._subscribe_answer,
            "mute": self._mute,
            "leave": self._leave,
            "phase": self._phase,
            "move": self._move,
            "call_witness": self._call_witness,
            "release_witness": self._release_witness,
            "floor": self._floor,
            "raise_hand": self._raise_hand,
            "grant_screen": self._grant_screen,
            "force_mute": self._force_mute,
            "ask_unmute": self._ask_unmute,
            "eject": self._eject,
            "revoke": self._revoke,
            "end_hearing": self._end_hearing,
            "recording": self._recording,
            "livestream": self._livestream,
            "restart_media": self._restart_media,
            "exhibit_decision": self._exhibit_decision,
            "present_exhibit": self._present_exhibit,
            "exhibit_page": self._exhibit_page,
            "stop_exhibit": self._stop_exhibit,
            "exhibits": self._list_exhibits,
            "language": self._language,
            "interpretation": self._interpretation,
            "interpretation_handover": self._interpretation_handover,
            "anonymity_order": self._anonymity_order,
            "discharge_anonymity": self._discharge_anonymity,
        }
        # every frame passes signaling/frames.py before python-socketio dispatches it
        self._dispatch_frame = self.sio.eio.handlers["message"]
        self._connect_attempts: dict[str, int] = {}
        self._order_handlers: dict[str, OrderHandler] = {"anonymity": self._on_anonymity}
        self.sio.eio.on("message", self._on_frame)
        self.sio.on("connect", self._on_connect, namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        self.sio.on("*", self._on_event, namespace=NAMESPACE)

    def hearings(self) -> tuple[HearingSession, ...]:
        """The hearings open on this node now."""
        return tuple(self._sessions.values())

    def session(self, hearing_id: str) -> HearingSession | None:
        """The hearing in session on this node, if any."""
        return self._sessions.get(hearing_id)

    async def revoke(self, hearing_id: str, participant_id: str, actor: str = "api") -> None:
        """Refuse the participant's tokens from now on and close their live connection, on
        whichever node hosts the hearing.

        A participant this node knows in another hearing is not this hearing's to revoke:
        `unknown_participant`. (One never seen may be revoked before they first connect.)"""
        if any(h != hearing_id and s.knows(participant_id) for h, s in self._sessions.items()):
            raise UnknownParticipant("no such participant in this hearing")
        await self._revoked.revoke(hearing_id, participant_id)
        order = {"order": "revoke", "hearing_id": hearing_id, "participant_id": participant_id}
        await self._bus.publish(order | {"actor": actor})

    async def relay_anonymity(
        self,
        hearing_id: str,
        participant_id: str,
        order: AnonymityRequest | None,
        actor: str = "api",
    ) -> None:
        """An anonymity order (None: its discharge) from the court's system, to whichever
        node hosts the hearing; that node applies it, or audits its refusal."""
        fields = None
        if order is not None:
            fields = {
                "pseudonym": order.pseudonym,
                "screening": order.screening,
                "voice": order.voice,
                "masked_from": list(order.masked_from),
            }
        relayed = {"order": "anonymity", "hearing_id": hearing_id, "actor": actor}
        await self._bus.publish(relayed | {"participant_id": participant_id, "fields": fields})

    async def _on_anonymity(self, order: dict[str, Any]) -> None:
        session = self._sessions.get(str(order.get("hearing_id")))
        if session is None:
            return  # another node hosts it
        fields = order.get("fields")
        await session.anonymity_from_api(
            str(order.get("actor", "api")),
            str(order.get("participant_id")),
            fields if isinstance(fields, dict) else None,
        )

    def on_order(self, name: str, handler: OrderHandler) -> None:
        """Hand the cluster bus's orders named `name` (from every node, this one too) to
        `handler` (the supervision board's `board` notices)."""
        self._order_handlers[name] = handler

    async def publish_order(self, order: dict[str, Any]) -> None:
        """Tell every node (this one too) through the cluster bus."""
        await self._bus.publish(order)

    async def _on_order(self, order: dict[str, Any]) -> None:
        if order.get("order") != "revoke":
            handler = self._order_handlers.get(str(order.get("order")))
            if handler is not None:
                await handler(order)
            return
        session = self._sessions.get(str(order.get("hearing_id")))
        if session is None:
            return  # another node hosts it
        participant_id = str(order.get("participant_id"))
        session.record(str(order.get("actor", "api")), "revoke", target=participant_id)
        member = session.members.get(participant_id)
        if member is not None:
            self._connections.pop(member.sid, None)
            await session.leave(member, LeaveReason.REVOKED)

    def attach(self, app: web.Application) -> None:
        self.sio.attach(app)

    async def start(self) -> None:
        """Start closing connections that never authenticate (sessions open on demand)."""
        self._sweeper = asyncio.get_running_loop().create_task(self._close_unauthenticated())
        self.hosting.start()
        await self._bus.start(self._on_order)

    def load(self) -> int:
        """Forwarded streams plus hearings in session here (placement weighs CPU first)."""
        return self._engine.forwarded_streams + len(self._sessions)

    def _here(self) -> NodeInfo:
        """This node as placement sees it: its load and CPU use now."""
        return replace(self.node, load=self.load(), cpu=self._cpu.sample())

    async def _lost(self, hearing_id: str) -> None:
        """Another node holds the hearing now: close it here at once (`node_lost`)."""
        session = self._sessions.pop(hearing_id, None)
        if session is None:
            return
        for sid, (held, _member) in list(self._connections.items()):
            if held is session:
                del self._connections[sid]
        await session.lose()

    async def _reassert(self) -> None:
        """The store answers again after failing: write back what this node's hearings need
        to be found (a Redis restarted without persistence forgot them). Each lease is taken
        back by its next renewal, with its epoch; the court's state and the latest audit
        checkpoint are written again under it."""
        for hearing_id, session in list(self._sessions.items()):
            with contextlib.suppress(KeyError):
                await self._hearings.add(session.hearing)
            session.reassert()
            log.info("hearing %s asserted again on node %s", hearing_id, self.node.node_id)

    async def _close_unauthenticated(self) -> None:
        """An engine.io connection that has not joined `/hearing` with a token (or the board's
        `/court` with its credential) within AUTH_TIMEOUT seconds is closed: nobody may hold a
        socket open anonymously."""
        first_seen: dict[str, float] = {}
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            open_now = set(self.sio.eio.sockets)
            overdue = []
            for eio_sid in open_now:
                if self._joined(eio_sid) is not None:
                    first_seen.pop(eio_sid, None)
                elif now - first_seen.setdefault(eio_sid, now) >= AUTH_TIMEOUT:
                    first_seen.pop(eio_sid, None)
                    overdue.append(eio_sid)
            if overdue:
                log.info("closing %d connections that did not authenticate", len(overdue))
                for start in range(0, len(overdue), CLOSE_BATCH):  # a few at a time
                    batch = overdue[start : start + CLOSE_BATCH]
                    closing = (self._hang_up(s) for s in batch)
                    await asyncio.gather(*closing, return_exceptions=True)
            for gone in set(first_seen) - open_now:
                del first_seen[gone]
            for gone in set(self._connect_attempts) - open_now:
                del self._connect_attempts[gone]
            for key, until in list(self._cooling.items()):
                if until <= now:
                    del self._cooling[key]

    async def close(self) -> None:
        """Drain within DRAIN_DEADLINE, whatever the store does: take no new hearing, hand
        every hearing in session over (its audit chain closed with this node's epoch, then its
        lease released, so the next node opens the log only after this one is done), and stop.
        Every wait is bounded, and a store seen away is not waited for at all. Idempotent."""
        if self.node.draining:
            return
        self.node = replace(self.node, draining=True)
        try:
            async with asyncio.timeout(DRAIN_DEADLINE):
                await self._drain()
        except TimeoutError:
            log.warning("node %s did not hand every hearing over in time", self.node.node_id)
        await self.hosting.close()
        self._connections.clear()
        with contextlib.suppress(Exception, TimeoutError):
            async with asyncio.timeout(STOP_TIMEOUT):
                await self.sio.eio.disconnect()  # every engine.io socket, or aiohttp waits
        with contextlib.suppress(Exception, TimeoutError):
            async with asyncio.timeout(STOP_TIMEOUT):
                await self.sio.shutdown()

    async def _drain(self) -> None:
        if not self.hosting.watch.down():
            await self.hosting.beat()  # no new hearing comes here while the others are handed over
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.wait({self._sweeper}, timeout=STOP_TIMEOUT)
            self._sweeper = None
        for hearing_id, session in list(self._sessions.items()):
            await session.hand_over()
            del self._sessions[hearing_id]
            await self.hosting.give_back(hearing_id)
        await self.hosting.close()
        with contextlib.suppress(*STORE_ERRORS):
            if not self.hosting.watch.down():
                async with asyncio.timeout(STORE_CALL_TIMEOUT):
                    await self._placement.leave(self.node.node_id)
        with contextlib.suppress(*STORE_ERRORS):
            async with asyncio.timeout(STOP_TIMEOUT):
                await self._bus.close()

    def close_audit_now(self) -> None:
        """A second SIGTERM: close every hearing's audit chain here (synchronously, with a
        checkpoint of this node's epoch if its lease still holds), before the process exits
        at once. The hearings carry on elsewhere from their stored state."""
        for session in self._sessions.values():
            session.release_audit()

    # -- socket.io outbox -----------------------------------------------------------------

    async def send(self, sid: str, event: str, payload: dict[str, Any]) -> None:
        # every connection this node talks to is its own: no detour through the message queue
        await self.sio.emit(event, payload, to=sid, namespace=NAMESPACE, ignore_queue=True)

    async def disconnect(self, sid: str) -> None:
        """Put the connection out: leave the namespace, then hang up engine.io as well."""
        self._connections.pop(sid, None)
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, NAMESPACE)
        await self.sio.disconnect(sid, namespace=NAMESPACE, ignore_queue=True)
        if eio_sid is not None:
            await self._hang_up(eio_sid)

    async def _hang_up(self, eio_sid: str) -> None:
        """Close an engine.io connection. engine.io waits for the connection's writer to
        flush; a transport already gone never does, so the wait is bounded."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(HANG_UP_TIMEOUT):
                await self.sio.eio.disconnect(eio_sid)

    # -- the first door: every frame ------------------------------------------------------

    def _joined(self, eio_sid: str) -> str | None:
        """The namespace this engine.io connection joined (or is joining), if any."""
        for namespace in NAMESPACES:
            if self.sio.manager.sid_from_eio_sid(eio_sid, namespace) is not None:
                return namespace
        return None

    async def _on_frame(self, eio_sid: str, data: Any) -> None:
        if eio_sid not in self.sio.eio.sockets:
            return  # closed: a client that ignores engine.io's close is not heard any more
        sid = self.sio.manager.sid_from_eio_sid(eio_sid, NAMESPACE)
        try:
            joined = self._joined(eio_sid)
            kind, _ = check_frame(
                data, namespaces=NAMESPACES, joined=joined, listen_only=BOARD_NAMESPACE
            )
            if kind == packet.CONNECT:
                attempts = self._connect_attempts.get(eio_sid, 0) + 1
                self._connect_attempts[eio_sid] = attempts
                if attempts > MAX_CONNECT_ATTEMPTS:
                    raise ProtocolViolation("too many attempts to join on one connection")
        except ProtocolViolation as violation:
            await self._close_for_violation(eio_sid, sid, violation)
            return
        await self._dispatch_frame(eio_sid, data)

    async def _close_for_violation(
        self, eio_sid: str, sid: str | None, violation: ProtocolViolation
    ) -> None:
        """Close the whole connection; a participant is told why and it is audited."""
        log.info("closed a connection: %s: %s", violation.code, violation.message)
        entry = self._connections.pop(sid, None) if sid is not None else None
        if entry is not None:
            session, member = entry
            session.record(member.participant.id, "refused", result=violation.code)
            await session.leave(member, LeaveReason.PROTOCOL_ERROR)
        else:  # not in a hearing: a connect error that says why
            body = wire_error(violation)
            data = {"message": body["message"], "data": body}
            refusal = JsonPacket(packet.CONNECT_ERROR, data=data, namespace=NAMESPACE)
            await self.sio.eio.send(eio_sid, refusal.encode())
        await self._hang_up(eio_sid)

    # -- connection lifecycle -------------------------------------------------------------

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            try:
                if self.hosting.watch.down():  # at once: no join waits for a store away
                    raise ServiceUnavailable("the cluster's store does not answer")
                session, member = await self._admit_connection(sid, auth)
            except STORE_ERRORS:
                self.hosting.watch.failed()
                raise ServiceUnavailable("the cluster's store does not answer") from None
        except (TokenRefused, Refused) as exc:
            body = wire_error(exc)
            if isinstance(exc, WrongNode):
                body["node_url"] = exc.node_url
            log.info("refused a connection: %s", body["code"])
            self.counters.connection_refused(body["code"])
            raise socketio.exceptions.ConnectionRefusedError(body["message"], body) from None
        self._connections[sid] = (session, member)
        self._limits[sid] = ConnectionLimits()

    async def authorize(self, token: object, hearing_id: str | None = None) -> Grant:
        """The grant of a link that may be used now: a token signed here, unexpired, for
        `hearing_id` if given, not revoked, not cooling off after a flood. Raises
        `TokenRefused` or `Refused` with the codes of a refused connection."""
        if not isinstance(token, str) or not token:
            raise Refused("token_missing", "a join token is required")
        grant = self._signer.verify(token, hearing_id=hearing_id)
        participant = grant.participant
        if await self._revoked.is_revoked(participant.hearing_id, participant.id):
            raise Refused("token_revoked", "this link was revoked")
        self._check_cooling_off(participant.hearing_id, participant.id)
        return grant

    async def check_link(self, token: object, hearing_id: str) -> Grant:
        """`authorize`, and if the hearing is in session here, the session's own refusals of
        someone who may not come in (`denied`, `hearing_ended`): all a connection would be
        refused for, short of connecting."""
        grant = await self.authorize(token, hearing_id)
        session = self._sessions.get(hearing_id)
        if session is not None:
            session.check_entry(grant.participant)
        return grant

    async def _admit_connection(self, sid: str, auth: Any) -> tuple[HearingSession, Member]:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise Refused("token_missing", "connect with auth: {token}")
        wanted = auth.get("hearing_id") if isinstance(auth, dict) else None
        if wanted is not None and not isinstance(wanted, str):
            raise Refused("bad_request", "hearing_id must be a string")
        resume = auth.get("resume") if isinstance(auth, dict) else None
        if resume is not None and not (isinstance(resume, str) and RESUME_KEY.match(resume)):
            raise Refused("bad_request", "resume must be 16 to 64 characters of A-Z a-z 0-9 _ -")
        grant = await self.authorize(token, wanted)
        hearing_id = grant.participant.hearing_id
        session = self._sessions.get(hearing_id)
        if session is None:
            if self.node.draining:
                raise ServiceUnavailable("this node is stopping: connect to another", 0.5)
            host = await self._placement.place(hearing_id, self._here())
            if host.node_id != self.node.node_id:
                raise WrongNode(host.url)
            async with self._opening:  # two first arrivals must not open two sessions
                session = self._sessions.get(hearing_id) or await self._open_session(hearing_id)
        await session.replace_stale(grant.participant, resume)
        try:
            return session, session.connect(grant.participant, sid, resume)
        except Refused as refused:
            details = {"request": "connect"}
            session.record(grant.participant.id, "refused", result=refused.code, details=details)
            if refused.code == "already_connected":  # a shared or stolen link: tell the bench
                await session.alert(refused.code, grant.participant.id)
            raise

    async def _open_session(self, hearing_id: str) -> HearingSession:
        """The hearing in session on this node, carrying on from its stored state."""
        hearing = await self._hearings.get(hearing_id)
        if hearing is None:
            if self.hosting.watch.settling():  # its host writes it again within one lease
                raise ServiceUnavailable("the cluster's store is recovering")
            raise Refused("unknown_hearing", "this hearing does not exist")
        try:
            audit = await self._audit_log(hearing_id)  # read only until the lease is held
        except AuditError as refused:  # the log was cut back or rewritten: people must look
            log.error("the audit log of %s cannot be continued: %s", hearing_id, refused)
            raise Refused(refused.code, "this hearing's audit log cannot be continued") from None
        try:  # an epoch above every one the log has seen (a store or process may forget)
            lease = await self.hosting.take(hearing_id, floor=audit.head.epoch + 1)
        except BaseException:
            audit.abandon()
            raise
        try:
            audit.hold(lease.epoch, lease.serving)  # the first entry says if it was a takeover
        except BaseException:
            audit.abandon()
            await self.hosting.give_back(hearing_id)
            raise
        recorder = None if self._recorder_for is None else self._recorder_for(hearing, audit)
        stream = None if self._livestream_for is None else self._livestream_for(hearing, audit)
        session = HearingSession(
            hearing,
            self._engine,
            self,
            audit,
            grace=self._grace,
            leg_silence=self._leg_silence,
            on_incident=self.counters.monitor_cut,
            recorder=recorder,
            livestream=stream,
            states=self._states,
            lease=lease,
        )
        await session.restore()
        self._sessions[hearing_id] = session
        return session

    def _check_cooling_off(self, hearing_id: str, participant_id: str) -> None:
        until = self._cooling.get((hearing_id, participant_id))
        if until is None:
            return
        left = until - time.monotonic()
        if left <= 0:
            del self._cooling[hearing_id, participant_id]
            return
        raise Refused("cooling_off", f"closed for flooding: reconnect in {left:.0f} s")

    async def _on_disconnect(self, sid: str, *_reason: Any) -> None:
        self._limits.pop(sid, None)
        entry = self._connections.pop(sid, None)
        if entry is not None:
            session, member = entry
            await session.leave(member, LeaveReason.DISCONNECTED)

    # -- requests -------------------------------------------------------------------------

    async def _on_event(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        started = time.monotonic()
        entry = self._connections.get(sid)
        whose = (entry[0].hearing.id, entry[1].participant.id) if entry else None
        context = LOG_CONTEXT.set(whose)  # every log line of this request names whose it is
        try:
            answer = await self._answer(event, sid, *args)
        finally:
            LOG_CONTEXT.reset(context)
        error = answer.get("error")
        self.counters.answered(
            event if event in self._handlers else "unknown",
            time.monotonic() - started,
            error["code"] if isinstance(error, dict) else None,
        )
        return answer

    async def _answer(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        entry = self._connections.get(sid)
        limits = self._limits.get(sid)
        try:
            if limits is not None and not limits.allow(event):
                if limits.abusive:
                    await self._eject_abuser(sid)
                raise RateLimited("too many messages; slow down")
            if entry is None:
                raise BadRequest("not connected to a hearing")
            held = entry[0]
            if not held.lease.serving() and not await self.hosting.confirm(held.hearing.id):
                # stalled past the lease and not renewed: obey nothing now
                raise ServiceUnavailable("this node cannot confirm it still holds the hearing")
            handler = self._handlers.get(event)
            if handler is None:
                raise BadRequest(f"unknown event {event[:40]!r}")
            if len(args) > 1:
                raise BadRequest("send exactly one payload object")
            result = await handler(*entry, args[0] if args else None)
            return {"ok": True} | (result or {})
        except Exception as exc:
            body = wire_error(exc)
            if body["code"] == "internal":
                log.exception("request %r failed", event[:40])
            if entry is not None and body["code"] != RateLimited.code:
                session, member = entry  # a flood is audited once, when it is ejected
                request = event if _EVENT_NAME.fullmatch(event) else "unknown"
                details = {"request": request}
                session.record(
                    member.participant.id, "refused", result=body["code"], details=details
                )
            return {"ok": False, "error": body}

    async def _phase(self, session: HearingSession, member: Member, payload: Any) -> None:
        request = PhaseRequest.parse(payload)
        await session.change_phase(member, request.phase)

    async def _move(self, session: HearingSession, member: Member, payload: Any) -> None:
        request = MoveRequest.parse(payload)
        await session.move(member, request.participant_id, request.room)

    async def _call_witness(self, session: HearingSession, member: Member, payload: Any) -> None:
        request = CallWitnessRequest.parse(payload)
        await session.call_witness(
            member, request.participant_id, called=True, audio_only=request.audio_only
        )

    async def _release_witness(self, session: HearingSession, member: Member, payload: Any) -> None:
        request = ParticipantRequest.parse(payload)
        await session.call_witness(member, request.participant_id, called=False)

    async def _floor(self, session: HearingSession, member: Member, payload: Any) -> None:
        request = FloorRequest.parse(payload)
        await session.give_floor(member, request.participant_id, request.granted)

    async def _exhibit_decision(
        self, session: HearingSession, member: Member, payload: Any
    ) -> dict[str, Any]:
        request = ExhibitDecisionRequest.parse(payload)
        if self._exhibits is None:
            raise BadRequest("this node keeps no exhibits")
        ledger = self._exhibits
        return {
            "exhibit": session.decide_exhibit(ledger, member, request.exhibit_id, request.admitted)
        }

    async def _present_exhibit(
        self, session: HearingSession, member: Member, payload: Any
    ) -> dict[str, Any]:
        request = PresentRequest.parse(payload)
        if self._exhibits is None:
            raise BadRequest("this node keeps no exhibits")
        shown = await session.present_exhibit(self._exhibits, member, request.exhibit_id)
        return {"exhibit": shown}

    async def _exhibit_page(
        self, session: HearingSession, member: Member, payload: Any
    ) -> dict[str, Any]:
        request = ExhibitPageRequest.parse(payload)
        shown = await session.turn_exhibit_page(member, request.page, request.zoom, request.pointer)
        return {"exhibit": shown}

    async def _list_exhibits(
        self, session: HearingSession, member: Member, payload: Any
    ) -> dict[str, Any]:
        Empty.parse(payload)
        if self._exhibits is None:
            raise BadRequest("this node keeps no exhibits")
        return {"exhibits": session.list_exhibits(self._exhibits, member)}

    async def _stop_exhibit(self, session: HearingSession, member: Member, payload: Any) -> None:
        Empty.parse(payload)
        await session.stop_exhibit(member)

    async def _grant_screen(self, session: HearingSession, member: Member, payload: Any) -> None:
        request = FloorRequest.parse(payload)  # the same shape: participant_id, granted
        await session.grant_screen(member, request.participant_id, request.granted)

    async def _raise_hand(self, session: HearingSession, member: Member, payload: Any) -> None:
        await session.raise_hand(member, HandRequest.parse(payload).raised)

    async def _force_mute(self, session: HearingSession, member: Member, payload: Any) -> None:
        order = MuteOrder.parse(payload)
        await session.order_mute(member, order.participant_id, order.kind, muted=True)

    async def _ask_unmute(self, session: HearingSession, member: Member, payload: Any) -> None:
        order = MuteOrder.parse(payload)
        await session.order_mute(member, order.participant_id, order.kind, muted=False)

    async def _anonymity_order(
        self, session: HearingSession, member: Member, payload: Any
    ) -> dict[str, Any]:
        request = AnonymityRequest.parse(payload)
        return await session.order_anonymity(
            member,
            request.participant_id,
            pseudonym=request.pseudonym,
            screening=request.screening,
            voice=request.voice,
            masked_from=request.masked_from,
        )

    async def _discharge_anonymity(
        self, session: HearingSession, member: Member, payload: Any
    ) -> None:
        await session.discharge_anonymity(member, ParticipantRequest.parse(payload).participant_id)

    async def _eject(self, session: HearingSession, member: Member, payload: Any) -> None:
        await session.eject(member, ParticipantRequest.parse(payload).participant_id)

    async def _revoke(self, session: HearingSession, member: Member, payload: Any) -> None:
        request = ParticipantRequest.parse(payload)
        check(member.participant.role, Action.REVOKE_LINK)
        if not session.knows(request.participant_id):
            raise UnknownParticipant("no such participant has come to this hearing")
        actor = member.participant.id
        await self.revoke(session.hearing.id, request.participant_id, actor=actor)

    async def _end_hearing(self, session: HearingSession, member: Member, payload: Any) -> None:
        Empty.parse(payload)
        await session.end_hearing(member)

    async def _restart_media(self, session: HearingSession, member: Member, payload: Any) -> None:
        Empty.parse(payload)
        await session.restart_media(member)

    async def _recording(
        self, session: HearingSession, member: Member, payload: Any
    ) -> dict[str, Any]:
        order = RecordingOrder.parse(payload)
        return {"recording": await session.order_recording(member, order.start)}

    async def _livestream(
        self, session: HearingSession, member: Member, payload: Any
    ) -> dict[str, Any]:
        order = LivestreamOrder.parse(payload)
        return {"livestream": await session.order_livestream(member, order.action)}

    async def _eject_abuser(self, sid: str) -> None:
        entry = self._connections.get(sid)
        if entry is None:
            return
        session, member = entry
        self._connections.pop(sid, None)
        key = (session.hearing.id, member.participant.id)
        self._cooling[key] = time.monotonic() + ABUSE_COOL_OFF
        session.record(member.participant.id, "refused", result="rate_limited")
        session.spawn(session.leave(member, LeaveReason.ABUSE))

    async def _join(self, session: HearingSession, member: Member, payload: Any) -> dict[str, Any]:
        Empty.parse(payload)
        return await session.join(member)

    async def _admit(self, session: HearingSession, member: Member, payload: Any) -> None:
        request = ParticipantRequest.parse(payload)
        await session.admit(member, request.participant_id)

    async def _deny(self, session: HearingSession, member: Member, payload: Any) -> None:
        request = ParticipantRequest.parse(payload)
        await session.deny(member, request.participant_id)

    async def _lobby_message(
        self, session: HearingSession, member: Member, payload: Any
    ) -> dict[str, Any]:
        message = LobbyMessage.parse(payload)
        return {"delivered": await session.message_lobby(member, message)}

    async def _publish(
        self, session: HearingSession, member: Member, payload: Any
    ) -> dict[str, Any]:
        request = Publish.parse(payload)
        answer = await session.publish(member, request.sdp, request.screen_mid, request.channel)
        return {"sdp": answer, "type": "answer"}

    async def _language(self, session: HearingSession, member: Member, payload: Any) -> None:
        await session.choose_language(member, LanguageRequest.parse(payload).language)

    async def _interpretation(self, session: HearingSession, member: Member, payload: Any) -> None:
        r = InterpretationRequest.parse(payload)
        await session.order_interpretation(member, r.participant_id, r.mode, r.on_air, r.whisper_to)

    async def _interpretation_handover(
        self, session: HearingSession, member: Member, payload: Any
    ) -> None:
        request = HandoverRequest.parse(payload)
        await session.hand_over_interpretation(member, request.from_id, request.to_id)

    async def _subscribe_answer(
        self, session: HearingSession, member: Member, payload: Any
    ) -> None:
        request = SubscribeAnswer.parse(payload)
        await session.subscribe_answer(member, request.version, request.sdp)

    async def _mute(self, session: HearingSession, member: Member, payload: Any) -> None:
        request = Mute.parse(payload)
        await session.mute(member, request.kind, request.muted)

    async def _leave(self, session: HearingSession, member: Member, payload: Any) -> None:
        Empty.parse(payload)
        self._connections.pop(member.sid, None)
        # leave after the ack is sent, so the client hears "ok" before the disconnect
        session.spawn(session.leave(member, LeaveReason.LEFT))
