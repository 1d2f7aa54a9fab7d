"""Processes for the cluster tests: a Redis server of the test's own (inside the loopback
namespace the host's Redis is out of reach, and the outage test stops it), and ecourt nodes
as real `ecourt serve` processes sharing that Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.conftest import API_KEY, free_port

REPO = Path(__file__).resolve().parents[1]
TOKEN_KEY = "cluster-test-token-key-of-32-chars-or-more"


@dataclass
class RedisProcess:
    port: int
    process: subprocess.Popen[bytes]
    persist_dir: Path | None = None

    def pause(self) -> None:
        """Redis stops answering (SIGSTOP), keeping its data, until `resume`."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def restart(self, down_for: float = 0.0) -> None:
        """Stop Redis (SIGTERM: with persistence it writes its data out), stay down for
        `down_for` seconds, and start it again on the same port with the same settings."""
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        self.process.wait(10)
        time.sleep(down_for)
        self.process = _start_redis(self.port, self.persist_dir)
        _RUNNING[self.port] = self.process


@contextmanager
def redis_process(
    port: int | None = None, persist_dir: Path | None = None
) -> Iterator[RedisProcess]:
    with redis_server(port, persist_dir) as chosen:
        process = RedisProcess(chosen, _RUNNING[chosen], persist_dir)
        try:
            yield process
        finally:
            process.process.send_signal(signal.SIGCONT)
            process.process.terminate()
            process.process.wait(10)


_RUNNING: dict[int, subprocess.Popen[bytes]] = {}


def _persistence(persist_dir: Path | None) -> tuple[str, ...]:
    """No persistence (ecourt nodes on it run with ECOURT_REDIS_VOLATILE=1), or an append-only
    file fsynced on every write in `persist_dir`."""
    if persist_dir is None:
        return ("--save", "", "--appendonly", "no")
    always = ("--appendonly", "yes", "--appendfsync", "always")
    return ("--save", "", *always, "--dir", str(persist_dir))


def _start_redis(
    port: int, persist_dir: Path | None, persistence: tuple[str, ...] | None = None
) -> subprocess.Popen[bytes]:
    """redis-server on 127.0.0.1:`port` with `persistence` (its options), or as `_persistence`
    says for `persist_dir`. Returns once it answers."""
    persistence = _persistence(persist_dir) if persistence is None else persistence
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), *persistence],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        probe = subprocess.run(
            ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, check=False
        )
        if probe.stdout.strip() == "PONG":
            break
        time.sleep(0.05)
    return process


@contextmanager
def redis_server(
    port: int | None = None,
    persist_dir: Path | None = None,
    persistence: tuple[str, ...] | None = None,
) -> Iterator[int]:
    """A throwaway redis-server on 127.0.0.1; stopped (and its data dropped) afterwards.
    Without persistence unless `persist_dir` (or `persistence`, its own options) says so."""
    port = port or free_port()
    process = _start_redis(port, persist_dir, persistence)
    try:
        _RUNNING[port] = process
        yield port
    finally:
        process = _RUNNING.pop(port, process)
        process.send_signal(signal.SIGCONT)
        process.terminate()
        process.wait(10)


@dataclass
class Node:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 20) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def pause(self) -> None:
        """The node stops running (SIGSTOP: a GC pause, a VM pause, CPU starvation)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


async def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} never became ready")


def start_node(name: str, data_dir: Path, redis_port: int, prefix: str, **env: str) -> Node:
    port = free_port()
    environment = dict(
        os.environ,
        ECOURT_API_KEY=API_KEY,
        ECOURT_TOKEN_KEY=TOKEN_KEY,
        ECOURT_DATA_DIR=str(data_dir),
        ECOURT_KEYRING=str(data_dir.parent / "keyring.json"),
        ECOURT_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        ECOURT_REDIS_PREFIX=prefix,
        ECOURT_REDIS_VOLATILE="1",  # the tests' Redis keeps nothing on disk
        ECOURT_NODE_ID=name,
        ECOURT_PORT=str(port),
        PYTHONPATH=str(REPO),
        **env,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "web.cli", "serve", "--workers", "1"],
        env=environment,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=open(data_dir.parent / f"{name}.log", "wb"),  # noqa: SIM115
    )
    return Node(name, port, process)


def start_embedded_node(name: str, data_dir: Path, port: int, **env: str) -> Node:
    """`ecourt serve` without Redis, as `make run` starts it: the records in SQLite and the
    token key in `data_dir`. A restart on the same data dir and port is the same node again,
    as an operator's service manager would do it."""
    leave_out = ("ECOURT_REDIS", "ECOURT_TOKEN_KEY")  # the node keeps its own token key
    environment = {k: v for k, v in os.environ.items() if not k.startswith(leave_out)}
    environment |= dict(
        ECOURT_API_KEY=API_KEY,
        ECOURT_DATA_DIR=str(data_dir),
        ECOURT_KEYRING=str(data_dir.parent / "keyring.json"),
        ECOURT_NODE_ID=name,
        ECOURT_PORT=str(port),
        PYTHONPATH=str(REPO),
        **env,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "web.cli", "serve"],
        env=environment,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=open(data_dir.parent / f"{name}.log", "ab"),  # noqa: SIM115
    )
    return Node(name, port, process)


HEADERS = {"Authorization": f"Bearer {API_KEY}"}


async def schedule(session: aiohttp.ClientSession, url: str, **overrides: object) -> str:
    body = {
        "type": "trial",
        "case_number": "09/2026/DS-ST",
        "title": "Nguyen v. Tran",
        "scheduled_at": "2026-11-29T09:00:00+07:00",
        "public": False,
        "profile": "default",
    } | overrides
    async with session.post(f"{url}/api/hearings", json=body, headers=HEADERS) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["id"])


async def token(
    session: aiohttp.ClientSession, url: str, hearing_id: str, role: str, name: str
) -> str:
    body = {"role": role, "display_name": name, "ttl_seconds": 3600}
    async with session.post(
        f"{url}/api/hearings/{hearing_id}/tokens", json=body, headers=HEADERS
    ) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["token"])
