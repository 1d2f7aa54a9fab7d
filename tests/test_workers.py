"""`ecourt serve --workers 2`: two node processes on one machine share Redis (the hearings,
placement), each on its own port, and stop together on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import sys
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

from tests.cluster_support import HEADERS, REPO, schedule, wait_ready

REDIS_URL = "redis://127.0.0.1:6379/0"


def two_free_ports() -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port < 65535:
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise RuntimeError("no two consecutive free ports")


async def test_two_workers_share_the_hearings_and_stop_together(tmp_path: Path) -> None:
    prefix = f"ecourt-workers-{secrets.token_hex(4)}:"
    port = two_free_ports()
    env = dict(
        os.environ,
        ECOURT_REDIS_URL=REDIS_URL,
        ECOURT_REDIS_PREFIX=prefix,
        ECOURT_REDIS_VOLATILE="1",  # the host's test Redis keeps nothing on disk
        ECOURT_API_KEY=HEADERS["Authorization"].removeprefix("Bearer "),
        ECOURT_DATA_DIR=str(tmp_path / "data"),
        ECOURT_KEYRING=str(tmp_path / "keyring.json"),
        ECOURT_NODE_ID="box",
        PYTHONPATH=str(REPO),
    )
    parent = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "web.cli", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    redis = Redis.from_url(REDIS_URL)
    try:
        first, second = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"
        await wait_ready(first)
        await wait_ready(second)
        nodes = [k async for k in redis.scan_iter(match=f"{prefix}node:*")]
        assert sorted(k.decode().rsplit(":", 1)[1] for k in nodes) == ["box-0", "box-1"]
        async with aiohttp.ClientSession() as http:
            hid = await schedule(http, first)
            async with http.get(f"{second}/api/hearings/{hid}", headers=HEADERS) as response:
                assert response.status == 200
        parent.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(parent.wait(), 20) == 0
    finally:
        if parent.returncode is None:
            parent.kill()
            await parent.wait()
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
