"""Webhooks: every event of `signaling/webhook_events.py` is queued in the durable outbox
(`WebhookStore`) for each endpoint that wants it, then delivered, signed, by a worker.

A hearing never waits for an endpoint: the audit log's watcher only hands the entry to this
loop (`observe`, from any thread); writing to the outbox and sending happen in the
dispatcher's own tasks. At most `concurrency` requests are in flight, each bounded by
`timeout`; only the head of each endpoint's queue for a hearing is sent, so a hearing's events
arrive in order; at most `per_endpoint` go to one endpoint at once, so one that hangs does not
hold up the others. A failed attempt is retried with exponential backoff (from `first_retry`,
doubling up to `max_retry`) until `give_up_after` (24 h) has passed since the event, then it is
abandoned (counted, and the next event of that hearing goes). A delivery succeeds on any 2xx.
Receivers deduplicate by the event id: after a crash between a success and its record, the
same event is sent again with the same id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import aiohttp

from security import AuditEntry, sign_delivery
from signaling.webhook_events import WebhookEvent, event_for
from signaling.webhook_store import Delivery, WebhookEndpoint, WebhookStore

log = logging.getLogger(__name__)

USER_AGENT = "ecourt-webhooks/1"


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    timeout: float = 10.0
    """Seconds one request may take, connecting included."""
    concurrency: int = 16
    per_endpoint: int = 4
    """Requests in flight to one endpoint: one that hangs cannot hold every slot."""
    first_retry: float = 5.0
    max_retry: float = 3600.0
    give_up_after: float = 24 * 3600.0
    poll: float = 1.0
    """How often the outbox is looked at when nothing woke the worker (retries, other nodes)."""
    store_retry: float = 1.0
    """How long to wait before writing to an outbox that failed (the entry is kept)."""

    def __post_init__(self) -> None:
        if not (self.timeout > 0 and self.concurrency >= self.per_endpoint >= 1):
            raise ValueError("a webhook policy needs a timeout and requests in flight")
        if self.first_retry <= 0:
            raise ValueError("a webhook policy needs a timeout, a concurrency and a first retry")
        if self.max_retry < self.first_retry or self.give_up_after <= 0 or self.poll <= 0:
            raise ValueError("a webhook policy's retries must grow and end")

    @property
    def lease(self) -> float:
        """How long a claimed delivery is held from other workers: past its timeout."""
        return self.timeout * 2 + 5.0

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after `attempts` failed ones (1, 2, ...)."""
        return float(min(self.max_retry, self.first_retry * 2 ** min(attempts - 1, 40)))


def new_endpoint_id() -> str:
    return f"wh_{secrets.token_hex(8)}"


def new_signing_secret() -> bytes:
    return secrets.token_bytes(32)


class WebhookDispatcher:
    def __init__(
        self,
        store: WebhookStore,
        policy: WebhookPolicy | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.policy = policy or WebhookPolicy()
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._entries: asyncio.Queue[AuditEntry] | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sending: dict[asyncio.Task[None], str] = {}
        """The requests in flight, and the endpoint each goes to."""
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self.attempts = 0
        """Attempts made whose outcome is in the outbox (for metrics and tests)."""

    # -- start and close ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._entries = asyncio.Queue()
        timeout = aiohttp.ClientTimeout(total=self.policy.timeout)
        self._session = aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": USER_AGENT})
        self._tasks = [
            self._loop.create_task(self._take_in(), name="webhooks-intake"),
            self._loop.create_task(self._deliver(), name="webhooks-delivery"),
        ]

    async def close(self, drain: float = 2.0) -> None:
        """Idempotent. What was observed reaches the outbox first (up to `drain` seconds);
        requests in flight are cancelled (their deliveries stay queued, and go again)."""
        if self._closed:
            return
        self._closed = True
        if self._entries is not None:
            try:
                await asyncio.wait_for(self._entries.join(), drain)
            except TimeoutError:
                log.error(
                    "webhook events not yet in the outbox at close: %d", self._entries.qsize()
                )
        tasks = [*self._tasks, *self._sending]
        for task in tasks:
            task.cancel()
        if tasks:  # bounded: a task cancelled inside a store call that hangs does not hold the exit
            done, _ = await asyncio.wait(tasks, timeout=drain)
            for task in done:
                if not task.cancelled():
                    task.exception()  # retrieved: it was logged where it happened
        if self._session is not None:
            await self._session.close()

    # -- intake: the audit log's watcher ------------------------------------------------------

    def observe(self, entry: AuditEntry) -> None:
        """An audit log's watcher: called in the writer's thread, it never waits."""
        loop, entries = self._loop, self._entries
        if loop is None or entries is None or self._closed or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(entries.put_nowait, entry)
        except RuntimeError:  # the loop closed in between
            log.error("a webhook event was observed after the loop closed")

    async def _take_in(self) -> None:
        assert self._entries is not None
        while True:
            entry = await self._entries.get()
            try:
                event = event_for(entry)
                while event is not None:
                    try:
                        await self.queue(event)
                        break
                    except Exception as exc:  # a store away (Redis): the entry waits here
                        log.warning("the webhook outbox refused an event (%s); trying again", exc)
                        await asyncio.sleep(self.policy.store_retry)
            finally:
                self._entries.task_done()

    async def queue(self, event: WebhookEvent, queue: str | None = None) -> int:
        """Queue `event` for every endpoint that wants it, in the hearing's queue (or in
        `queue`: `custody_queue`); returns how many."""
        now = self._clock()
        body = event.body()
        key = queue or event.hearing_id
        deliveries = [
            Delivery(e.id, event.id, key, event.seq, event.type.value, body, now, now)
            for e in await self.store.endpoints()
            if e.wants(event.type.value)
        ]
        if deliveries:
            await self.store.enqueue(deliveries)
            self._wake.set()
        return len(deliveries)

    async def catch_up(self, hearing_id: str, entries: Iterable[AuditEntry]) -> int:
        """Queue the events of a hearing's log (read from its file at start) that come after
        what the outbox has queued of it, and are not older than `give_up_after`: those a
        process that stopped, or crashed, had written but not yet queued. Returns how many."""
        through = await self.store.queued_through(hearing_id)
        oldest_ms = (self._clock() - self.policy.give_up_after) * 1000
        count = 0
        for entry in entries:
            if entry.seq <= through or entry.time_ms < oldest_ms:
                continue
            event = event_for(entry)
            if event is not None:
                await self.queue(event)
                count += 1
        return count

    # -- delivery -----------------------------------------------------------------------------

    async def _deliver(self) -> None:
        while True:
            self._wake.clear()
            free = self.policy.concurrency - len(self._sending)
            if free > 0:
                try:
                    await self._send_due(free)
                except Exception as exc:
                    log.warning("the webhook outbox could not be read (%s)", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.policy.poll)

    async def _send_due(self, free: int) -> None:
        claimed = await self.store.claim(self._clock(), self.policy.lease, free)
        if not claimed:
            return
        endpoints = {e.id: e for e in await self.store.endpoints()}
        busy = Counter(self._sending.values())
        assert self._loop is not None
        for delivery in claimed:
            endpoint = endpoints.get(delivery.endpoint_id)
            if endpoint is None:
                continue  # removed meanwhile, with its queue
            if busy[endpoint.id] >= self.policy.per_endpoint:  # back, untouched, for later
                await self.store.retry(replace(delivery, next_at=self._clock() + self.policy.poll))
                continue
            busy[endpoint.id] += 1
            task = self._loop.create_task(self._send(endpoint, delivery))
            self._sending[task] = endpoint.id
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.pop(task, None)
        self._wake.set()  # a slot is free, and the queue's next head may be due
        if not task.cancelled() and task.exception() is not None:
            log.error("a webhook delivery failed", exc_info=task.exception())

    async def _send(self, endpoint: WebhookEndpoint, delivery: Delivery) -> None:
        error = await self.post(endpoint, delivery)
        if error is None:
            await self.store.delivered(delivery)
            self.attempts += 1
            return
        now = self._clock()
        failed = delivery.failed(now + self.policy.backoff(delivery.attempts + 1), error)
        if now - delivery.first_at >= self.policy.give_up_after:
            log.warning("webhook %s to %s abandoned: %s", delivery.event_id, endpoint.id, error)
            await self.store.abandon(failed)
        else:
            await self.store.retry(failed)
        self.attempts += 1

    async def post(self, endpoint: WebhookEndpoint, delivery: Delivery) -> str | None:
        """One attempt: None when the endpoint took it (2xx), else why not, in a few words."""
        assert self._session is not None
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "Ecourt-Signature": sign_delivery(endpoint.secret, int(self._clock()), body),
            "Ecourt-Event-Id": delivery.event_id,
            "Ecourt-Event-Type": delivery.event_type,
            "Ecourt-Delivery-Attempt": str(delivery.attempts + 1),
        }
        try:
            async with self._session.post(
                endpoint.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"http_{response.status}"
        except TimeoutError:
            return "timeout"
        except aiohttp.ClientError as exc:
            return f"unreachable: {type(exc).__name__}"
