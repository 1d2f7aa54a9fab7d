"""The durable outbox of webhook deliveries and the endpoints they go to. Declared here, where
`signaling/webhooks.py` uses it, with an in-memory twin (tests), an SQLite twin
(`signaling/sqlite_webhooks.py`, the embedded default) and a Redis twin
(`signaling/redis_webhooks.py`, many nodes). One contract test runs against all three
(`tests/test_webhook_store.py`).

The outbox is a queue per endpoint and hearing, ordered by the event's `seq`. Only its head
is ever handed out (`claim`), and it stays claimed (its `next_at` moved a lease ahead) until
it is `delivered`, `retry`-ed or `abandon`-ed, so the events of one hearing reach an endpoint
in order, and two workers (two nodes) never send the same head at once. A delivery is kept
once per endpoint and event id: queueing it again changes nothing.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace
from typing import Final, Protocol
from urllib.parse import urlsplit

from security import Secret

ENDPOINT_ID: Final = re.compile(r"wh_[0-9a-f]{16}")
MAX_URL: Final = 2048
MAX_ERROR: Final = 200


class InvalidWebhook(ValueError):
    """An endpoint or a delivery that cannot exist; says which field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host, no credentials, at most 2048 characters."""
    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL:
        raise InvalidWebhook("url", f"url must be 1-{MAX_URL} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidWebhook("url", "url must not hold spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not one
    except ValueError as exc:
        raise InvalidWebhook("url", "url is not a URL") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhook("url", "url must be an absolute http or https URL with a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhook("url", "url must not carry credentials: the signature proves it")
    del port
    return url


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """Where the case-management system wants events, and the secret they are signed with.
    `events` empty: every event type."""

    id: str
    url: str
    secret: Secret
    events: frozenset[str]
    created_at: int

    def __post_init__(self) -> None:
        if not ENDPOINT_ID.fullmatch(self.id):
            raise InvalidWebhook("id", "an endpoint id is wh_ and 16 hex digits")
        check_url(self.url)
        if len(self.secret.value) < 16:
            raise InvalidWebhook("secret", "a signing secret has at least 16 bytes")

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one endpoint: the body exactly as it will be signed and sent."""

    endpoint_id: str
    event_id: str
    hearing_id: str
    seq: int
    event_type: str
    body: str
    first_at: float
    next_at: float
    attempts: int = 0
    last_error: str | None = None

    def __post_init__(self) -> None:
        if self.seq < 1 or self.attempts < 0:
            raise InvalidWebhook("seq", "a delivery has a seq from 1 and attempts from 0")

    def failed(self, next_at: float, error: str) -> Delivery:
        return replace(
            self, attempts=self.attempts + 1, next_at=next_at, last_error=error[:MAX_ERROR]
        )


@dataclass(frozen=True, slots=True)
class Backlog:
    """What waits for one endpoint, for the board and the API."""

    endpoint_id: str
    pending: int
    abandoned: int
    last_error: str | None = None
    """Why the latest failed attempt failed (retried or abandoned)."""


class WebhookStore(Protocol):
    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None: ...

    async def endpoints(self) -> list[WebhookEndpoint]:
        """In the order they were added."""
        ...

    async def remove_endpoint(self, endpoint_id: str) -> bool:
        """With everything queued for it; False if there was no such endpoint."""
        ...

    async def enqueue(self, deliveries: list[Delivery]) -> None:
        """Queue each one not waiting already (same endpoint and event id, or same place in
        its queue), for an endpoint that exists. A settled delivery is forgotten: the
        receiver's own check of the event id is what makes a second copy harmless. In the
        same write, each hearing's `queued_through` moves up to its deliveries' highest seq."""
        ...

    async def queued_through(self, hearing_id: str) -> int:
        """The highest seq of the hearing's audit log whose event was queued (0: none), so
        that a node starting again queues what its log holds after it (`catch_up`)."""
        ...

    async def claim(self, now: float, lease: float, limit: int) -> list[Delivery]:
        """Up to `limit` heads of queues that are due at `now`, each then held for `lease`
        seconds (or until it is delivered, retried or abandoned)."""
        ...

    async def delivered(self, delivery: Delivery) -> None: ...

    async def retry(self, delivery: Delivery) -> None:
        """Keep `delivery` (its attempts, `next_at` and error) at the head of its queue."""
        ...

    async def abandon(self, delivery: Delivery) -> None:
        """Take it out of its queue and keep it among the abandoned (given up after 24 h)."""
        ...

    async def backlog(self) -> list[Backlog]: ...


@dataclass
class _Queue:
    seqs: list[int] = field(default_factory=list)
    deliveries: dict[int, Delivery] = field(default_factory=dict)


class MemoryWebhookStore:
    """The in-memory twin (tests)."""

    def __init__(self) -> None:
        self._endpoints: dict[str, WebhookEndpoint] = {}
        self._queues: dict[tuple[str, str], _Queue] = {}
        self._ids: set[tuple[str, str]] = set()
        self._abandoned: dict[str, int] = {}
        self._errors: dict[str, str] = {}
        self._through: dict[str, int] = {}

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        if endpoint.id in self._endpoints:
            raise KeyError(f"endpoint {endpoint.id} exists")
        self._endpoints[endpoint.id] = endpoint

    async def endpoints(self) -> list[WebhookEndpoint]:
        return list(self._endpoints.values())

    async def remove_endpoint(self, endpoint_id: str) -> bool:
        if self._endpoints.pop(endpoint_id, None) is None:
            return False
        for key in [k for k in self._queues if k[0] == endpoint_id]:
            del self._queues[key]
        self._ids = {k for k in self._ids if k[0] != endpoint_id}
        self._abandoned.pop(endpoint_id, None)
        self._errors.pop(endpoint_id, None)
        return True

    async def enqueue(self, deliveries: list[Delivery]) -> None:
        for d in deliveries:
            self._through[d.hearing_id] = max(self._through.get(d.hearing_id, 0), d.seq)
            if (d.endpoint_id, d.event_id) in self._ids or d.endpoint_id not in self._endpoints:
                continue
            queue = self._queues.setdefault((d.endpoint_id, d.hearing_id), _Queue())
            if d.seq in queue.deliveries:
                continue
            self._ids.add((d.endpoint_id, d.event_id))
            bisect.insort(queue.seqs, d.seq)
            queue.deliveries[d.seq] = d

    async def queued_through(self, hearing_id: str) -> int:
        return self._through.get(hearing_id, 0)

    async def claim(self, now: float, lease: float, limit: int) -> list[Delivery]:
        heads = [q.deliveries[q.seqs[0]] for q in self._queues.values() if q.seqs]
        due = sorted((d for d in heads if d.next_at <= now), key=lambda d: d.next_at)[:limit]
        for d in due:
            self._put(replace(d, next_at=now + lease))
        return due

    def _put(self, delivery: Delivery) -> None:
        queue = self._queues.get((delivery.endpoint_id, delivery.hearing_id))
        if queue is not None and delivery.seq in queue.deliveries:
            queue.deliveries[delivery.seq] = delivery

    def _take(self, delivery: Delivery) -> bool:
        queue = self._queues.get((delivery.endpoint_id, delivery.hearing_id))
        if queue is None or delivery.seq not in queue.deliveries:
            return False
        del queue.deliveries[delivery.seq]
        queue.seqs.remove(delivery.seq)
        self._ids.discard((delivery.endpoint_id, delivery.event_id))
        if not queue.seqs:
            del self._queues[(delivery.endpoint_id, delivery.hearing_id)]
        return True

    async def delivered(self, delivery: Delivery) -> None:
        self._take(delivery)

    async def retry(self, delivery: Delivery) -> None:
        self._put(delivery)
        self._note(delivery)

    async def abandon(self, delivery: Delivery) -> None:
        if self._take(delivery):
            self._abandoned[delivery.endpoint_id] = self._abandoned.get(delivery.endpoint_id, 0) + 1
        self._note(delivery)

    def _note(self, delivery: Delivery) -> None:
        if delivery.endpoint_id in self._endpoints and delivery.last_error:
            self._errors[delivery.endpoint_id] = delivery.last_error

    async def backlog(self) -> list[Backlog]:
        pending: dict[str, int] = {}
        for (endpoint_id, _), queue in self._queues.items():
            pending[endpoint_id] = pending.get(endpoint_id, 0) + len(queue.seqs)
        return [
            Backlog(e, pending.get(e, 0), self._abandoned.get(e, 0), self._errors.get(e))
            for e in self._endpoints
        ]
