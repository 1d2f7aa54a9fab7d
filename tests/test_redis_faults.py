"""A node whose Redis does not answer refuses joins and the REST API at once, saying when to
try again (`service_unavailable`, 503 with `Retry-After`), instead of hanging for the client's
time-out and failing as `connection_failed` or 500 `internal`. Redis is a server of the test's
own, paused with SIGSTOP (the host's Redis is never touched)."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path

import pytest

from signaling.client import HearingClient, JoinRefused
from tests.cluster_support import redis_process
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
