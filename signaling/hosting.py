"""This node's part in the cluster: its heartbeat, the leases of the hearings it hosts, and
what it sees of the shared store (`docs/cluster.md#leases`).

One task (`run`) beats the heartbeat and renews every lease, together, every RENEW_SECONDS.
A renewal that says the lease is lost calls `on_lost` for that hearing; a store that was
failing and answers again calls `on_back` (the hearings are asserted again: a Redis restarted
without persistence has forgotten them). Every store call is bounded: a Redis that does not
answer (paused, gone) never holds the task or a shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from media.ratelimit import RateLimitedLog
from signaling.errors import ServiceUnavailable, WrongNode
from signaling.lease import RENEW_SECONDS, HearingLeases, HostLease, Lease
from signaling.outage import STORE_ERRORS, StoreWatch
from signaling.placement import NodeInfo, Placement

log = logging.getLogger(__name__)
_failures = RateLimitedLog(log, interval=10.0)
STORE_CALL_TIMEOUT = 1.5
"""Seconds any one call into the store may take here before it counts as failed."""
STOP_TIMEOUT = 1.0
"""Seconds to wait for the task to end once cancelled (a cancel inside a Redis write)."""
LOSE_TIMEOUT = 5.0
"""Seconds a lost hearing's closing may take."""


class Hosting:
    def __init__(
        self,
        placement: Placement,
        leases: HearingLeases,
        here: Callable[[], NodeInfo],
        on_lost: Callable[[str], Awaitable[None]],
        on_back: Callable[[], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._placement = placement
        self._leases = leases
        self._here = here
        self._on_lost = on_lost
        self._on_back = on_back
        self.watch = StoreWatch()
        self._held: dict[str, HostLease] = {}
        self._failing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop beating and renewing, within STOP_TIMEOUT whatever the store does."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_TIMEOUT)

    def held(self, hearing_id: str) -> HostLease | None:
        return self._held.get(hearing_id)

    async def _run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(RENEW_SECONDS)

    async def tick(self) -> None:
        """One heartbeat and one renewal of every lease, side by side."""
        leases = list(self._held.values())
        await asyncio.gather(self.beat(), *(self._renew(h) for h in leases))

    async def beat(self) -> None:
        try:
            async with asyncio.timeout(STORE_CALL_TIMEOUT):
                await self._placement.heartbeat(self._here())
        except STORE_ERRORS:
            self.watch.failed()
            self._failing = True
            _failures.warning("the heartbeat of node %s failed", self._here().node_id)
            return
        self.watch.answered()
        if self._failing:
            self._failing = False
            log.info("the store answers again: asserting this node's hearings")
            try:
                async with asyncio.timeout(STORE_CALL_TIMEOUT * 2):
                    await self._on_back()
            except Exception:
                log.exception("asserting the hearings again failed; next heartbeat tries again")
                self._failing = True

    async def confirm(self, hearing_id: str) -> bool:
        """Whether this node may act for the hearing now. Past the lease's local deadline
        (this node's loop was starved, or stopped) it renews at once and answers after: a
        renewal that succeeds proves nobody took the hearing meanwhile (compare-and-set on the
        epoch), so a node that was merely slow carries on instead of refusing the court."""
        host = self._held.get(hearing_id)
        if host is None or host.lost:
            return False
        if not host.serving():
            await self._renew(host)
        return host.serving()

    async def _renew(self, host: HostLease) -> None:
        sent = self._clock()
        try:
            async with asyncio.timeout(STORE_CALL_TIMEOUT):
                kept = await self._leases.renew(host.lease)
        except STORE_ERRORS:
            host.store_failed()
            return
        if kept:
            host.renewed(sent)
            return
        hearing_id = host.lease.hearing_id
        log.warning(
            "node %s lost hearing %s (epoch %d)", host.lease.node_id, hearing_id, host.epoch
        )
        host.lost = True
        if self._held.get(hearing_id) is host:
            del self._held[hearing_id]
        try:
            async with asyncio.timeout(LOSE_TIMEOUT):
                await self._on_lost(hearing_id)
        except Exception:
            log.exception("closing lost hearing %s failed", hearing_id)

    async def take(self, hearing_id: str, floor: int = 0) -> HostLease:
        """The lease of a hearing this node is to host, with a new epoch. Refused
        (`ServiceUnavailable`) while the store is away or settling after an outage, or while
        another node holds the hearing (it is handing it over, or it is stalled and its lease
        has not lapsed yet)."""
        if self.watch.down() or self.watch.settling():
            raise ServiceUnavailable("the cluster's store is recovering", self.watch.retry_after())
        node = self._here()
        sent = self._clock()
        try:
            async with asyncio.timeout(STORE_CALL_TIMEOUT):
                lease = await self._leases.acquire(hearing_id, node.node_id, node.url, floor)
        except STORE_ERRORS:
            self.watch.failed()
            raise ServiceUnavailable("the cluster's store does not answer") from None
        if lease.node_id != node.node_id and lease.epoch > 0 and await self._beats(lease):
            raise WrongNode(lease.url)  # the lease decides, whatever the placement said
        if lease.epoch == 0 or lease.node_id != node.node_id:
            raise ServiceUnavailable("another node still holds this hearing", RENEW_SECONDS * 2)
        # a lease nobody else can take (one process) has no deadline to keep: a stalled loop
        # there must not refuse the court's orders
        host = HostLease(lease, sent if self._leases.shared else math.inf, self._clock)
        self._held[hearing_id] = host
        return host

    async def _beats(self, lease: Lease) -> bool:
        """Whether the lease's holder is live and not draining: clients can go there. (A
        stalled holder is not sent anyone: its lease lapses within one lease.)"""
        try:
            async with asyncio.timeout(STORE_CALL_TIMEOUT):
                nodes = await self._placement.live_nodes()
        except STORE_ERRORS:
            return False
        return any(n.node_id == lease.node_id and not n.draining for n in nodes)

    async def give_back(self, hearing_id: str) -> None:
        """Release the hearing's lease and placement (after its audit chain was closed), so
        the next node takes it at once. A store that does not answer: the lease lapses."""
        host = self._held.pop(hearing_id, None)
        if host is None:
            return
        if self.watch.down():
            log.warning("the store is away: the lease of %s lapses", hearing_id)
            return
        try:
            async with asyncio.timeout(STORE_CALL_TIMEOUT):
                await self._leases.release(host.lease)
                await self._placement.release(hearing_id, host.lease.node_id)
        except STORE_ERRORS:
            self.watch.failed()
            log.warning("the lease of %s could not be released: it lapses", hearing_id)
