"""Leases with fencing epochs, and the stores that refuse an older epoch: one contract, run
against the in-memory twins and the Redis twins (the real Redis on 127.0.0.1:6379, a key
prefix of each test's own). `docs/cluster.md#leases` has the argument these tests hold."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis.asyncio import Redis

from security import (
    AuditCheckpointStore,
    AuditLog,
    AuditStaleEpoch,
    MemoryAuditCheckpoints,
    MemoryAuditSink,
    Secret,
    SigningKey,
)
from security.audit_record import parse_line
from signaling.client import HearingClient
from signaling.errors import StaleEpoch
from signaling.hosting import Hosting
from signaling.lease import (
    LEASE_SECONDS,
    SAFETY_MARGIN,
    HearingLeases,
    HostLease,
    Lease,
    MemoryLeases,
    RedisLeases,
)
from signaling.placement import NodeInfo, RedisPlacement
from signaling.redis_store import RedisAuditCheckpoints, RedisHearingStateStore
from signaling.sqlite_store import Database, SqliteAuditCheckpoints, SqliteHearingStateStore
from signaling.store import HearingStateStore, MemoryHearingStateStore
from tests.conftest import running_server

REDIS_URL = "redis://127.0.0.1:6379/0"
KEY = SigningKey.from_secret(Secret(bytes(range(32))))


class Clock:
    """The monotonic clock, moved by hand (the one fake: the edge of the world)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Fenced:
    leases: HearingLeases
    other_node: HearingLeases
    """The same store as another node sees it (its own client, its own generation)."""
    state: HearingStateStore
    checkpoints: AuditCheckpointStore
    redis: Redis | None = None
    prefix: str = ""

    async def lapse(self, hearing_id: str) -> None:
        """The lease lapses in the store (its time ran out while nobody renewed)."""
        if self.redis is None:
            assert isinstance(self.leases, MemoryLeases)
            self.leases._held.pop(hearing_id, None)
        else:
            await self.redis.delete(f"{self.prefix}lease:{hearing_id}")


@asynccontextmanager
async def own_keys() -> AsyncIterator[tuple[Redis, str]]:
    """The real Redis and a key prefix of this test's own, its keys deleted afterwards."""
    redis = Redis.from_url(REDIS_URL)
    prefix = f"ecourt-test-{secrets.token_hex(6)}:"
    try:
        yield redis, prefix
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def fenced(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Fenced]:
    if request.param == "memory":
        leases = MemoryLeases()
        yield Fenced(leases, leases, MemoryHearingStateStore(), MemoryAuditCheckpoints())
        return
    if request.param == "sqlite":  # the embedded store: one node holds every lease itself
        leases = MemoryLeases()
        database = Database.in_data_dir(tmp_path / "data")
        try:
            state, checkpoints = SqliteHearingStateStore(database), SqliteAuditCheckpoints(database)
            yield Fenced(leases, leases, state, checkpoints)
        finally:
            await database.close()
        return
    async with own_keys() as (redis, prefix):
        yield Fenced(
            RedisLeases(redis, prefix),
            RedisLeases(redis, prefix),
            RedisHearingStateStore(redis, prefix),
            RedisAuditCheckpoints(redis, prefix),
            redis,
            prefix,
        )


async def test_the_first_node_takes_a_hearing_and_another_is_told_who_holds_it(
    fenced: Fenced,
) -> None:
    mine = await fenced.leases.acquire("h_fence01", "node-a", "http://a")
    assert (mine.node_id, mine.epoch) == ("node-a", 1)
    theirs = await fenced.other_node.acquire("h_fence01", "node-b", "http://b")
    assert theirs.node_id != "node-b"  # refused: a holder (or "wait"), never a second lease
    assert await fenced.leases.renew(mine)
    assert await fenced.leases.holder("h_fence01") == mine


async def test_a_released_hearing_is_taken_by_the_next_node_with_a_higher_epoch(
    fenced: Fenced,
) -> None:
    first = await fenced.leases.acquire("h_fence02", "node-a", "http://a")
    await fenced.leases.release(first)
    second = await fenced.other_node.acquire("h_fence02", "node-b", "http://b")
    assert (second.node_id, second.epoch) == ("node-b", first.epoch + 1)
    assert not await fenced.leases.renew(first)  # the old holder learns it lost the hearing
    assert await fenced.leases.holder("h_fence02") == second


async def test_a_lapsed_lease_nobody_took_is_taken_back_with_its_own_epoch(
    fenced: Fenced,
) -> None:
    lease = await fenced.leases.acquire("h_fence03", "node-a", "http://a")
    await fenced.lapse("h_fence03")  # a Redis pause, or a stall of the holder
    assert await fenced.leases.renew(lease)
    assert await fenced.leases.holder("h_fence03") == lease


async def test_a_lapsed_lease_taken_by_another_node_is_lost_to_the_old_holder(
    fenced: Fenced,
) -> None:
    old = await fenced.leases.acquire("h_fence04", "node-a", "http://a")
    await fenced.leases.release(old)  # the store forgets node-a as the holder
    new = await fenced.other_node.acquire("h_fence04", "node-b", "http://b")
    await fenced.lapse("h_fence04")
    assert not await fenced.leases.renew(old)  # the epoch moved on: never taken back
    assert await fenced.other_node.renew(new)


async def test_the_court_state_store_refuses_a_write_of_an_older_epoch(fenced: Fenced) -> None:
    await fenced.state.save("h_fence05", {"court": "epoch 2"}, 2)
    with pytest.raises(StaleEpoch):
        await fenced.state.save("h_fence05", {"court": "epoch 1"}, 1)
    assert await fenced.state.load("h_fence05") == {"court": "epoch 2"}
    await fenced.state.save("h_fence05", {"court": "epoch 3"}, 3)
    assert await fenced.state.load("h_fence05") == {"court": "epoch 3"}


async def test_the_checkpoint_store_refuses_a_checkpoint_of_an_older_epoch(
    fenced: Fenced,
) -> None:
    new, old = (
        AuditLog("h_fence06", MemoryAuditSink(), KEY),
        AuditLog("h_fence06", MemoryAuditSink(), KEY),
    )
    new.hold(2, lambda: True)
    old.hold(1, lambda: True)
    new.record("system", "state_restored")
    old.record("system", "state_restored")
    kept = new.checkpoint()
    await fenced.checkpoints.put(kept)
    late = old.checkpoint()
    with pytest.raises(AuditStaleEpoch):
        await fenced.checkpoints.put(late)
    assert await fenced.checkpoints.latest("h_fence06", KEY.key_id) == kept


async def test_after_redis_loses_its_data_no_other_node_takes_a_hearing_for_one_lease() -> None:
    async with own_keys() as (redis, prefix):
        a, b = RedisLeases(redis, prefix), RedisLeases(redis, prefix)
        lease = await a.acquire("h_fence07", "node-a", "http://a")
        await b.acquire("h_other1", "node-b", "http://b")  # node b knows the data set too
        await redis.delete(*[k async for k in redis.scan_iter(match=f"{prefix}*")])  # restart
        refused = await b.acquire("h_fence07", "node-b", "http://b")
        assert refused.epoch == 0  # wait: the holder takes its lease back first
        assert await a.renew(lease)  # node a asserts its hearing again, with its epoch
        assert await a.holder("h_fence07") == lease


async def test_a_hearing_whose_last_holder_still_beats_is_not_taken() -> None:
    async with own_keys() as (redis, prefix):
        a, b = RedisLeases(redis, prefix), RedisLeases(redis, prefix)
        await a.acquire("h_fence08", "node-a", "http://a")
        await redis.set(f"{prefix}node:node-a", "{}", px=2000)  # node a's heartbeat
        await redis.delete(f"{prefix}lease:h_fence08")  # its lease lapsed (a Redis pause)
        assert (await b.acquire("h_fence08", "node-b", "http://b")).epoch == 0
        await redis.delete(f"{prefix}node:node-a")  # node a is dead after all
        taken = await b.acquire("h_fence08", "node-b", "http://b")
        assert (taken.node_id, taken.epoch) == ("node-b", 2)


def test_a_host_stops_serving_at_its_local_deadline_before_the_lease_can_lapse() -> None:
    clock = Clock()
    host = HostLease(Lease("h_fence09", "node-a", "", 1), clock.now, clock)
    clock.now += LEASE_SECONDS - SAFETY_MARGIN - 0.01
    assert host.serving()
    clock.now += 0.02  # still SAFETY_MARGIN before the store could let the lease lapse
    assert not host.serving() and host.overdue()
    host.renewed(clock.now)
    assert host.serving()


def test_a_host_whose_store_fails_keeps_serving_and_a_lost_one_never_does() -> None:
    clock = Clock()
    host = HostLease(Lease("h_fence10", "node-a", "", 1), clock.now, clock)
    clock.now += LEASE_SECONDS
    host.store_failed()  # Redis does not answer: nobody can take the lease from it
    assert host.serving()
    clock.now += 10
    assert not host.serving()  # no news of the store for long: not an outage, a stall
    host.renewed(clock.now)
    host.lost = True
    assert not host.serving()


async def test_a_host_late_for_its_deadline_renews_before_acting_and_acts_if_it_still_holds() -> (
    None
):
    async with own_keys() as (redis, prefix):
        clock = Clock()
        lost: list[str] = []

        async def on_lost(hearing_id: str) -> None:
            lost.append(hearing_id)

        async def on_back() -> None:
            return None

        def hosting(node: str, leases: RedisLeases) -> Hosting:
            here = NodeInfo(node, f"http://{node}")
            return Hosting(
                RedisPlacement(redis, prefix), leases, lambda: here, on_lost, on_back, clock
            )

        a = hosting("node-a", RedisLeases(redis, prefix))
        b_leases = RedisLeases(redis, prefix)
        held = await a.take("h_fence11")
        clock.now += 10  # node a's loop was starved: no renewal ran, the deadline passed
        assert not held.serving()
        assert await a.confirm("h_fence11")  # nobody took it: renewed, and it carries on
        assert held.serving() and not lost
        await b_leases.release(held.lease)  # the lease goes (as if it had lapsed) ...
        await b_leases.acquire("h_fence11", "node-b", "http://node-b")  # ... node b takes it
        clock.now += 10
        assert not await a.confirm("h_fence11")  # node a learns it lost the hearing
        assert lost == ["h_fence11"]


async def test_a_hearing_reopened_after_its_epoch_counter_was_lost_gets_a_higher_epoch(
    tmp_path: Path,
) -> None:
    async with own_keys() as (redis, prefix):
        settings = {"redis_url": REDIS_URL, "redis_prefix": prefix}
        async with running_server(tmp_path / "data", **settings) as node:
            hearing = await node.create_hearing()
            hid = hearing["id"]
            link = (await node.issue_token(hid, "presiding_judge", "Judge Le"))["token"]
            judge = HearingClient(node.base_url, link)
            await judge.connect()
            await judge.close()
        await redis.delete(f"{prefix}epoch:{hid}")  # Redis forgot it (a restart, an old dump)
        async with running_server(tmp_path / "data", **settings) as node:
            judge = HearingClient(node.base_url, link)
            await judge.connect()
            await judge.close()
    lines = (tmp_path / "data" / "audit" / f"{hid}.jsonl").read_bytes().splitlines()
    epochs = [parse_line(line).epoch for line in lines]
    assert max(epochs) == 2 and epochs[-1] == 2, epochs  # never a second writer of epoch 1
