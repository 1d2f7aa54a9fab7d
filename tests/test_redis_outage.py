"""Redis goes away for 15 s under a running hearing: media keeps flowing, the court keeps
working, `/readyz` says not ready and then ready again, the court's state reaches Redis once it
is back, and the audit log misses nothing."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path

import aiohttp
import pytest
from aiortc.mediastreams import AudioStreamTrack
from redis.asyncio import Redis

from security import SigningKey, verify_file
from signaling.client import HearingClient
from tests.cluster_support import redis_process, schedule, start_node, token, wait_ready
from tests.test_recording_media import SmallVideo

pytestmark = pytest.mark.media

OUTAGE = 15.0


async def readiness(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(f"{url}/readyz") as response:
        return response.status


async def test_a_redis_outage_of_15_seconds_stops_no_media_and_loses_no_audit_entry(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    prefix = f"ecourt-outage-{secrets.token_hex(4)}:"
    clients: list[HearingClient] = []
    with redis_process() as redis:
        node = start_node("node-a", data, redis.port, prefix)
        try:
            await wait_ready(node.url)
            async with aiohttp.ClientSession() as http:
                hid = await schedule(http, node.url)
                for role, name in (("presiding_judge", "Judge Le"), ("clerk", "Clerk Pham")):
                    client = HearingClient(node.url, await token(http, node.url, hid, role, name))
                    clients.append(client)
                    await client.connect()
                judge, _clerk = clients
                for client in clients:
                    await client.publish(SmallVideo(), AudioStreamTrack())
                await judge.wait_until(lambda: bool(judge.remote_tracks), 20, "the clerk's tracks")
                await asyncio.sleep(1)

                redis.pause()
                went = time.monotonic()
                before = await judge.packets_received()
                statuses = []
                await judge.request("phase", {"phase": "in_session"})  # the court works on
                await judge.request("raise_hand", {"raised": False})
                while time.monotonic() - went < OUTAGE:
                    statuses.append(await readiness(http, node.url))
                    await asyncio.sleep(1)
                during = await judge.packets_received()
                redis.resume()
                for _ in range(50):  # ready again within 10 s
                    if await readiness(http, node.url) == 200:
                        break
                    await asyncio.sleep(0.2)
                assert await readiness(http, node.url) == 200
                gained = {who: during[who] - before.get(who, 0) for who in during}
                print(f"during the outage: readyz {sorted(set(statuses))}, packets {gained}")
                assert 503 in statuses
                assert all(n > 25 * OUTAGE for n in gained.values()) and gained  # ~50 pkt/s

                state = None
                store = Redis.from_url(f"redis://127.0.0.1:{redis.port}/0")
                for _ in range(50):
                    raw = await store.get(f"{prefix}state:{hid}")
                    state = None if raw is None else json.loads(raw)
                    if state is not None and state["court"]["phase"] == "in_session":
                        break
                    await asyncio.sleep(0.2)
                await store.aclose()
                assert state is not None and state["court"]["phase"] == "in_session"
        finally:
            for client in clients:
                await client.close()
            assert await asyncio.to_thread(node.stop) == 0

    audit = data / "audit" / f"{hid}.jsonl"
    key = data / "audit-signing.key"

    report = verify_file(audit, SigningKey.load(key).public_key)
    assert report.ok, report.summary()
    actions = [json.loads(line).get("action") for line in audit.read_text().splitlines()]
    assert "phase" in actions  # written while Redis was away
