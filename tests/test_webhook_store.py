"""One contract for the webhook outbox, run against the in-memory twin, the SQLite twin (a
file of the test's own) and the real Redis on 127.0.0.1:6379 (under a prefix of its own,
removed afterwards)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from security import Secret
from signaling.redis_webhooks import RedisWebhookStore
from signaling.sqlite_store import Database
from signaling.sqlite_webhooks import SqliteWebhookStore
from signaling.webhook_store import (
    Delivery,
    InvalidWebhook,
    MemoryWebhookStore,
    WebhookEndpoint,
    WebhookStore,
)
from signaling.webhooks import new_endpoint_id

REDIS_URL = "redis://127.0.0.1:6379/0"
LEASE = 30.0


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[WebhookStore]:
    if request.param == "memory":
        yield MemoryWebhookStore()
        return
    if request.param == "sqlite":
        database = Database.in_data_dir(tmp_path / "data")
        try:
            yield SqliteWebhookStore(database)
        finally:
            await database.close()
        return
    redis = Redis.from_url(REDIS_URL)
    prefix = f"ecourt-test-{secrets.token_hex(6)}:"
    try:
        yield RedisWebhookStore(redis, prefix)
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def endpoint(
    url: str = "https://cms.example/hooks", events: frozenset[str] = frozenset()
) -> WebhookEndpoint:
    return WebhookEndpoint(
        new_endpoint_id(), url, Secret(secrets.token_bytes(32)), events, 1_700_000_000
    )


def delivery(endpoint_id: str, hearing_id: str, seq: int, at: float = 100.0) -> Delivery:
    return Delivery(
        endpoint_id,
        f"evt_{hearing_id}_{seq}",
        hearing_id,
        seq,
        "hearing.phase_changed",
        f'{{"seq":{seq}}}',
        first_at=at,
        next_at=at,
    )


async def test_an_endpoint_reads_back_with_its_secret_and_is_stored_once(
    store: WebhookStore,
) -> None:
    first, second = endpoint(events=frozenset({"hearing.ended"})), endpoint()
    await store.add_endpoint(first)
    await store.add_endpoint(second)
    assert await store.endpoints() == [first, second]
    assert (await store.endpoints())[0].secret == first.secret
    with pytest.raises(KeyError):
        await store.add_endpoint(first)


async def test_only_the_head_of_each_hearings_queue_is_handed_out_in_seq_order(
    store: WebhookStore,
) -> None:
    target = endpoint()
    await store.add_endpoint(target)
    # queued out of order, one event twice: the queue is by seq, each event once
    await store.enqueue([delivery(target.id, "h1", 2), delivery(target.id, "h1", 1)])
    await store.enqueue([delivery(target.id, "h1", 1), delivery(target.id, "h2", 7)])
    claimed = await store.claim(now=100.0, lease=LEASE, limit=10)
    assert sorted((d.hearing_id, d.seq) for d in claimed) == [("h1", 1), ("h2", 7)]
    # held: nothing more of those queues until the lease runs out or the head is settled
    assert await store.claim(now=101.0, lease=LEASE, limit=10) == []
    head = next(d for d in claimed if d.hearing_id == "h1")
    await store.delivered(head)
    assert [(d.hearing_id, d.seq) for d in await store.claim(101.0, LEASE, 10)] == [("h1", 2)]
    backlog = await store.backlog()
    assert [(b.endpoint_id, b.pending, b.abandoned) for b in backlog] == [(target.id, 2, 0)]


async def test_a_head_whose_lease_ran_out_is_handed_out_again(store: WebhookStore) -> None:
    target = endpoint()
    await store.add_endpoint(target)
    await store.enqueue([delivery(target.id, "h1", 1)])
    assert len(await store.claim(100.0, LEASE, 10)) == 1
    assert await store.claim(100.0 + LEASE - 1, LEASE, 10) == []
    again = await store.claim(100.0 + LEASE + 1, LEASE, 10)
    assert [d.event_id for d in again] == ["evt_h1_1"]


async def test_a_retried_head_waits_for_its_time_and_keeps_its_attempts(
    store: WebhookStore,
) -> None:
    target = endpoint()
    await store.add_endpoint(target)
    await store.enqueue([delivery(target.id, "h1", 1), delivery(target.id, "h1", 2)])
    (head,) = await store.claim(100.0, LEASE, 10)
    await store.enqueue([delivery(target.id, "h1", 1)])  # waiting already: nothing changes
    await store.retry(head.failed(next_at=105.0, error="http_503"))
    assert await store.claim(104.0, LEASE, 10) == []  # the next one waits behind it
    (again,) = await store.claim(105.0, LEASE, 10)
    assert (again.seq, again.attempts, again.last_error) == (1, 1, "http_503")
    assert (await store.backlog())[0].last_error == "http_503"


async def test_an_abandoned_head_is_counted_and_the_next_one_goes(store: WebhookStore) -> None:
    target = endpoint()
    await store.add_endpoint(target)
    await store.enqueue([delivery(target.id, "h1", 1), delivery(target.id, "h1", 2)])
    (head,) = await store.claim(100.0, LEASE, 10)
    await store.abandon(head.failed(next_at=200.0, error="timeout"))
    (following,) = await store.claim(100.0, LEASE, 10)
    assert following.seq == 2
    backlog = (await store.backlog())[0]
    assert (backlog.pending, backlog.abandoned, backlog.last_error) == (1, 1, "timeout")
    await store.delivered(following)
    assert await store.claim(500.0, LEASE, 10) == []
    assert (await store.backlog())[0].pending == 0


async def test_a_removed_endpoint_takes_its_queue_and_nothing_is_queued_for_it(
    store: WebhookStore,
) -> None:
    gone, kept = endpoint(), endpoint()
    await store.add_endpoint(gone)
    await store.add_endpoint(kept)
    await store.enqueue([delivery(gone.id, "h1", 1), delivery(kept.id, "h1", 1)])
    assert await store.remove_endpoint(gone.id)
    assert not await store.remove_endpoint(gone.id)
    await store.enqueue([delivery(gone.id, "h1", 2)])
    assert [d.endpoint_id for d in await store.claim(100.0, LEASE, 10)] == [kept.id]
    assert [e.id for e in await store.endpoints()] == [kept.id]
    assert [b.endpoint_id for b in await store.backlog()] == [kept.id]


async def test_claims_stop_at_the_limit(store: WebhookStore) -> None:
    target = endpoint()
    await store.add_endpoint(target)
    await store.enqueue([delivery(target.id, f"h{i}", 1, at=100.0 + i) for i in range(5)])
    first = await store.claim(200.0, LEASE, 2)
    assert [d.hearing_id for d in first] == ["h0", "h1"]  # the longest waiting first
    assert len(await store.claim(200.0, LEASE, 10)) == 3


@pytest.mark.parametrize(
    "url",
    [
        "ftp://cms.example/hooks",
        "/relative",
        "https://user:pw@cms.example/",
        "https://cms.example/a b",
        "https://cms.example:99999/",
        "https://" + "a" * 2048,
        "",
    ],
)
def test_an_endpoint_with_a_url_that_is_not_one_cannot_exist(url: str) -> None:
    with pytest.raises(InvalidWebhook) as refused:
        endpoint(url)
    assert refused.value.field == "url"


async def test_what_was_queued_of_each_hearings_log_is_remembered(store: WebhookStore) -> None:
    target = endpoint()
    await store.add_endpoint(target)
    assert await store.queued_through("h1") == 0
    await store.enqueue([delivery(target.id, "h1", 4), delivery(target.id, "h2", 9)])
    await store.enqueue([delivery(target.id, "h1", 2)])  # a lower one does not take it back
    assert (await store.queued_through("h1"), await store.queued_through("h2")) == (4, 9)
    (head,) = [d for d in await store.claim(100.0, LEASE, 10) if d.hearing_id == "h1"]
    await store.delivered(head)
    assert await store.queued_through("h1") == 4
