"""Dead legs and cut-off viewers: a leg whose transport failed or closed, or whose other end
went silent, is closed by the server and its participant told (`media_lost`); a viewer whose
leg cannot be brought in line with the rules is cut off from everything the same way. A
reference-monitor incident is logged and audited here. Mixed into `HearingSession`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from media import MediaEngine, PublishPeer, SubscribePeer
from signaling.member import Member, Outbox, Records
from signaling.monitor import Incident

log = logging.getLogger(__name__)

LEG_CHECK_INTERVAL = 0.5
"""How often every leg is checked for a failed, closed or silent transport."""


class _Session(Records, Protocol):
    members: dict[str, Member]

    @property
    def _outbox(self) -> Outbox: ...

    @property
    def _engine(self) -> MediaEngine: ...

    @property
    def _leg_silence(self) -> float: ...

    @property
    def hearing_id(self) -> str: ...

    @property
    def _count_incident(self) -> Callable[[str], None] | None: ...

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...

    async def _track_changed(self) -> None: ...

    async def _check_health(self) -> None: ...

    async def _lose_leg(
        self, member: Member, leg: SubscribePeer | PublishPeer, reason: str
    ) -> None: ...


class LegKeeper:
    def _cut_off(self: _Session, member: Member, reason: str) -> None:
        """Cut a viewer off from everything at once; its leg is closed and it is told."""
        leg = member.subscribe
        self.record("system", "cut_off", target=member.participant.id, result=reason)
        if leg is not None:
            leg.permit(frozenset())
            self.spawn(self._lose_leg(member, leg, reason))

    async def _watch_legs(self: _Session) -> None:
        """Close every leg whose transport failed or closed, or that went silent."""
        while True:
            await asyncio.sleep(LEG_CHECK_INTERVAL)
            try:
                now = time.monotonic()
                for member in list(self.members.values()):
                    for leg in (member.subscribe, member.publish):
                        reason = None if leg is None else leg.failure(now, self._leg_silence)
                        if leg is not None and reason is not None:
                            await self._lose_leg(member, leg, reason)
                await self._check_health()
            except Exception:
                log.exception("checking the legs of %s failed once", self.hearing_id)

    async def _lose_leg(
        self: _Session, member: Member, leg: SubscribePeer | PublishPeer, reason: str
    ) -> None:
        """Close a dead (or cut off) leg and tell its participant (`media_lost`); they rebuild
        it (`restart_media`, or a new `publish`). Without a subscribe leg they receive nothing;
        without a publish leg they are shown sending nothing."""
        if self.members.get(member.participant.id) is not member:
            return
        if isinstance(leg, SubscribePeer):
            if member.subscribe is not leg:
                return
            which = "subscribe"
            leg.permit(frozenset())
            member.subscribe, member.subscribe_lost = None, reason
            member.subscribe_legs += 1
        else:
            if member.publish is not leg:
                return
            which, member.publish, member.publish_lost = "publish", None, reason
        await self._engine.release(leg)
        details = {"leg": which, "reason": reason}
        self.record(member.participant.id, "media_lost", result=reason, details=details)
        await self._outbox.send(member.sid, "media_lost", details)
        if which == "publish":
            await self._track_changed()

    def _on_incident(self: _Session, incident: Incident) -> None:
        log.error(
            "reference monitor: %s received %s of %s against the rules (%s); cut",
            incident.viewer,
            incident.kind,
            incident.publisher,
            incident.reason,
        )
        if self._count_incident is not None:
            self._count_incident(incident.reason)
        details = {"publisher": incident.publisher, "kind": incident.kind}
        self.record(
            "system", "monitor_cut", target=incident.viewer, result=incident.reason, details=details
        )
