"""A node whose Redis does not answer refuses joins and the REST API at once, saying when to
try again (`service_unavailable`, 503 with `Retry-After`), instead of hanging for the client's
time-out and failing as `connection_failed` or 500 `internal`; and a node stopped with SIGTERM
while Redis hangs exits within its bound, its audit chain closed. Redis is a server of the
test's own, paused with SIGSTOP (the host's Redis is never touched). No media flows here."""

from __future__ import annotations

import asyncio
import secrets
import signal
import time
from pathlib import Path

import aiohttp
import pytest

from security import SigningKey, VerifyReport, verify_file
from signaling.client import HearingClient, JoinRefused
from tests.cluster_support import Node, redis_process, schedule, start_node, token, wait_ready
from tests.conftest import running_server

AT_ONCE = 3.0
"""What a client waiting at a door may be made to wait, generously (before: 20 s)."""


async def test_joins_and_rest_calls_during_a_redis_outage_are_refused_at_once_with_a_retry_time(
    tmp_path: Path,
) -> None:
    prefix = f"ecourt-faults-{secrets.token_hex(4)}:"
    with redis_process() as redis:
        url = f"redis://127.0.0.1:{redis.port}/0"
        async with running_server(tmp_path / "a", redis_url=url, redis_prefix=prefix) as node:
            hearing = await node.create_hearing()
            token = (await node.issue_token(hearing["id"], "presiding_judge", "Judge Le"))["token"]
            redis.pause()
            try:
                started = time.monotonic()
                async with node.session.get(
                    f"{node.base_url}/api/hearings/{hearing['id']}", headers=node.headers
                ) as response:
                    body = await response.json()
                    assert response.status == 503, body
                    assert body["error"]["code"] == "service_unavailable"
                    assert int(response.headers["Retry-After"]) >= 1
                client = HearingClient(node.base_url, token, request_timeout=10)
                with pytest.raises(JoinRefused) as refused:
                    await client.connect()
                await client.close()
                waited = time.monotonic() - started
                assert refused.value.code == "service_unavailable"
                assert waited < 2 * AT_ONCE, f"refused after {waited:.1f} s"
                again = time.monotonic()  # the node now knows: the next ones at once
                async with node.session.post(
                    f"{node.base_url}/api/hearings/{hearing['id']}/tokens",
                    json={"role": "clerk", "display_name": "Clerk Pham", "ttl_seconds": 600},
                    headers=node.headers,
                ) as response:
                    assert response.status == 503
                assert time.monotonic() - again < AT_ONCE
            finally:
                redis.resume()
            for _ in range(50):  # and once Redis is back, the join works
                await asyncio.sleep(0.2)
                client = HearingClient(node.base_url, token)
                try:
                    welcome = await client.connect()
                except JoinRefused as still:
                    assert still.code == "service_unavailable"
                    continue
                finally:
                    await client.close()
                assert welcome["admission"] == "admitted"
                break
            else:
                raise AssertionError("joins were still refused 10 s after Redis came back")


STOP_BOUND = 10.0 + 3.0
"""web/shutdown.py's STOP_DEADLINE, and time for a loaded machine to end the process."""


async def _node_with_a_hearing(tmp_path: Path, redis_port: int) -> tuple[Node, str, HearingClient]:
    data = tmp_path / "data"
    data.mkdir()
    node = start_node("node-a", data, redis_port, f"ecourt-stop-{secrets.token_hex(4)}:")
    await wait_ready(node.url)
    async with aiohttp.ClientSession() as http:
        hid = await schedule(http, node.url)
        link = await token(http, node.url, hid, "presiding_judge", "Judge Le")
    judge = HearingClient(node.url, link)
    await judge.connect()
    await judge.request("phase", {"phase": "in_session"})
    return node, hid, judge


def _audit_of(tmp_path: Path, hid: str) -> VerifyReport:
    key = SigningKey.load(tmp_path / "data" / "audit-signing.key")
    return verify_file(tmp_path / "data" / "audit" / f"{hid}.jsonl", key.public_key)


async def test_sigterm_while_redis_hangs_drains_and_exits_within_the_bound(tmp_path: Path) -> None:
    with redis_process() as redis:
        node, hid, judge = await _node_with_a_hearing(tmp_path, redis.port)
        try:
            redis.pause()  # every Redis write from now on hangs
            await judge.request("raise_hand", {"raised": True})  # a state write in flight
            started = time.monotonic()
            node.process.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(node.process.wait, STOP_BOUND + 10)
            took = time.monotonic() - started
        finally:
            redis.resume()
            await judge.close()
            if node.process.poll() is None:
                node.kill()
    print(f"SIGTERM with Redis paused: exited {code} after {took:.1f} s")
    assert took <= STOP_BOUND
    report = _audit_of(tmp_path, hid)
    assert report.ok and report.handed_over, report.summary()  # the chain closed before exit


async def test_a_second_sigterm_closes_the_audit_chain_and_exits_at_once(tmp_path: Path) -> None:
    with redis_process() as redis:
        node, hid, judge = await _node_with_a_hearing(tmp_path, redis.port)
        try:
            redis.pause()
            node.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            second = time.monotonic()
            node.process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(node.process.wait, STOP_BOUND + 10)
            took = time.monotonic() - second
        finally:
            redis.resume()
            await judge.close()
            if node.process.poll() is None:
                node.kill()
    assert took <= AT_ONCE, f"exited {took:.1f} s after the second SIGTERM"
    report = _audit_of(tmp_path, hid)
    assert report.ok and report.unsigned_tail == 0, report.summary()
