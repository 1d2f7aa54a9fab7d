"""Placement weighs each node's CPU use, measured in its own process, before its forwarded
streams; heartbeats carry it through the real Redis on 127.0.0.1:6379, and a heartbeat of a
node that does not send it yet still counts."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from signaling.placement import CpuMeter, NodeInfo, RedisPlacement, placement_score
from tests.conftest import running_server
from web.keys import SIGNALING

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Redis, str]]:
    client = Redis.from_url(REDIS_URL)
    prefix = f"ecourt-test-{secrets.token_hex(6)}:"
    yield client, prefix
    keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_a_new_hearing_goes_to_the_node_using_less_cpu_though_it_forwards_more(
    redis: tuple[Redis, str],
) -> None:
    placement = RedisPlacement(*redis)
    busy_cpu = NodeInfo("n-hot", "http://hot", load=1, cpu=0.8)
    many_streams = NodeInfo("n-cool", "http://cool", load=40, cpu=0.15)
    for node in (busy_cpu, many_streams):
        await placement.heartbeat(node)
    assert (await placement.place("h_first1", busy_cpu)).node_id == "n-cool"


async def test_within_one_step_of_cpu_the_node_with_fewer_streams_is_chosen(
    redis: tuple[Redis, str],
) -> None:
    placement = RedisPlacement(*redis)
    more = NodeInfo("n-more", "http://more", load=12, cpu=0.31)
    fewer = NodeInfo("n-fewer", "http://fewer", load=3, cpu=0.38)
    for node in (more, fewer):
        await placement.heartbeat(node)
    assert placement_score(more) > placement_score(fewer)
    assert (await placement.place("h_second", more)).node_id == "n-fewer"


async def test_a_heartbeat_carries_the_cpu_figure_and_reads_back(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    placement = RedisPlacement(client, prefix)
    await placement.heartbeat(NodeInfo("n-one", "http://one", load=2, cpu=0.4567))
    raw = await client.get(f"{prefix}node:n-one")
    assert raw is not None
    body = json.loads(raw)
    assert body["cpu"] == 0.457
    assert await placement.live_nodes() == [NodeInfo("n-one", "http://one", 2, False, 0.457)]


async def test_a_heartbeat_without_cpu_from_an_older_node_still_counts(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    old = {"node_id": "n-old", "url": "http://old", "load": 0, "draining": False, "at": 1.0}
    await client.set(f"{prefix}node:n-old", json.dumps(old), px=2000)
    placement = RedisPlacement(client, prefix)
    assert await placement.live_nodes() == [NodeInfo("n-old", "http://old", 0, False, 0.0)]
    busy = NodeInfo("n-new", "http://new", load=5, cpu=0.5)
    await placement.heartbeat(busy)
    assert (await placement.place("h_third1", busy)).node_id == "n-old"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"node_id": "n-bad", "url": "http://bad", "draining": false}',
        b'{"node_id": "n-bad", "url": "http://bad", "load": 1, "draining": false, "cpu": -1}',
        b'{"node_id": "n-bad", "url": "http://bad", "load": 1, "draining": false, "cpu": "x"}',
        b'{"node_id": 7, "url": "http://bad", "load": 1, "draining": false}',
    ],
)
async def test_a_heartbeat_that_is_not_one_is_not_counted(
    redis: tuple[Redis, str], body: bytes
) -> None:
    client, prefix = redis
    await client.set(f"{prefix}node:n-bad", body, px=2000)
    placement = RedisPlacement(client, prefix)
    here = NodeInfo("n-here", "http://here", load=50, cpu=0.9)
    await placement.heartbeat(here)
    assert [n.node_id for n in await placement.live_nodes()] == ["n-here"]
    assert (await placement.place("h_fourth", here)).node_id == "n-here"


def test_the_cpu_figure_of_a_busy_process_is_above_an_idle_ones() -> None:
    meter = CpuMeter(min_interval=0.0)
    time.sleep(0.3)
    idle = meter.sample()
    started = time.process_time()
    while time.process_time() - started < 0.3:  # 0.3 s of CPU, however long that takes
        pass
    busy = meter.sample()
    print(f"idle {idle:.3f} cores, busy {busy:.3f} cores")
    assert busy > idle
    assert busy > 0.1


def test_a_sample_sooner_than_the_interval_repeats_the_last_figure() -> None:
    meter = CpuMeter(min_interval=3600.0)
    started = time.process_time()
    while time.process_time() - started < 0.05:
        pass
    assert meter.sample() == meter.last == 0.0


async def test_a_running_node_beats_with_its_measured_cpu(
    tmp_path: Path, redis: tuple[Redis, str]
) -> None:
    client, prefix = redis
    async with running_server(tmp_path / "data", redis_url=REDIS_URL, redis_prefix=prefix) as n:
        key = f"{prefix}node:{n.app[SIGNALING].node.node_id}"
        for _ in range(50):
            raw = await client.get(key)
            if raw is not None:
                break
            await asyncio.sleep(0.1)
        assert raw is not None, "no heartbeat"
        body = json.loads(raw)
        assert isinstance(body["cpu"], float) and body["cpu"] >= 0.0
