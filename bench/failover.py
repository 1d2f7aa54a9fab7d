# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""How long a failover takes under load: two ecourt nodes on a Redis of the bench's own, one
hearing of six aiortc clients, each in a process of its own (`bench/failover_person.py`; all
publishing a small video and audio, receiving the others),
and the hosting node killed with SIGKILL, KILLS times. After each kill, every client's delay
until it receives media again on the other node is one sample; the killed node is started
again before the next kill (so the next kill takes the other one).

The machine is loaded by busy-loop processes the bench starts (`--busy`, default 8), on top
of the bench's own processes (two nodes and six people: with `--busy 6` a quiet 2-core machine
is at a 1-minute load of 8 to 10), and the bench waits for the load to build (`--warm-up`)
before the first kill.

    bash tools/in-netns .venv/bin/python bench/failover.py [--kills 5 --busy 6 --warm-up 60]

Prints each kill's delays and the 1-minute load then, the distribution (p50, p95, max) over
all samples, and a JSON summary as its last line. Goal (issue 16): p95 <= 5 s at load 8.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import secrets
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.forwarding import die_with_parent, free_port, loopback_only

API_KEY = "failover-bench-api-key-0123456789"
TOKEN_KEY = "failover-bench-token-key-of-32-chars-or-more"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
CAST = [
    ("presiding_judge", "Judge Le"),
    ("clerk", "Clerk Pham"),
    ("plaintiff", "Ms Nguyen"),
    ("party_lawyer", "Counsel Vo"),
    ("respondent", "Mr Tran"),
    ("defence_counsel", "Ms Do"),
]
BACK_WITHIN = 30.0


@dataclass
class Node:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_node(name: str, data: Path, redis_port: int, prefix: str, port: int = 0) -> Node:
    """A node process; `port` again when it is restarted (clients know the nodes' URLs)."""
    port = port or free_port()
    env = dict(
        os.environ,
        ECOURT_API_KEY=API_KEY,
        ECOURT_TOKEN_KEY=TOKEN_KEY,
        ECOURT_DATA_DIR=str(data),
        ECOURT_KEYRING=str(data.parent / "keyring.json"),
        ECOURT_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        ECOURT_REDIS_PREFIX=prefix,
        ECOURT_REDIS_VOLATILE="1",  # the bench's Redis keeps nothing on disk
        ECOURT_NODE_ID=name,
        ECOURT_PORT=str(port),
        PYTHONPATH=str(ROOT),
    )
    log = open(data.parent / f"{name}.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "web.cli", "serve", "--workers", "1"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
        preexec_fn=die_with_parent,
    )
    return Node(name, port, process)


async def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} never became ready")


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", ""],
        stdout=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    try:
        for _ in range(200):
            probe = subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, check=False
            )
            if probe.stdout.strip() == "PONG":
                break
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def busy_loops(count: int) -> Iterator[None]:
    """`count` processes that only spin: the load a busy CI or a crowded host gives."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=die_with_parent)
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait(10)


def load_1min() -> float:
    return os.getloadavg()[0]


@dataclass
class Person:
    """One person's process (`bench/failover_person.py`) and the events it has written."""

    process: asyncio.subprocess.Process
    events: list[dict[str, Any]] = field(default_factory=list)

    async def listen(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))

    def last(self, event: str, after: float = -math.inf) -> dict[str, Any] | None:
        found = [e for e in self.events if e["event"] == event and e["at"] > after]
        return found[-1] if found else None

    def first(self, event: str, after: float) -> dict[str, Any] | None:
        found = [e for e in self.events if e["event"] == event and e["at"] > after]
        return found[0] if found else None


async def start_person(entry: str, other: str, link: str, *judge: str) -> Person:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bench" / "failover_person.py"),
        entry,
        other,
        link,
        *judge,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        preexec_fn=die_with_parent,
    )
    return Person(process)


async def all_have(people: list[Person], event: str, after: float, within: float) -> None:
    deadline = time.monotonic() + within
    while any(p.first(event, after) is None for p in people):
        if time.monotonic() > deadline:
            missing = sum(p.first(event, after) is None for p in people)
            raise TimeoutError(f"{missing} people without '{event}' within {within} s")
        await asyncio.sleep(0.05)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(fraction * len(ordered) + 0.999) - 1)]


async def run(kills: int, busy: int, warm_up: float) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="ecourt-failover-"))
    data = work / "data"
    data.mkdir()
    prefix = f"ecourt-bench-{secrets.token_hex(4)}:"
    samples: list[float] = []
    rounds: list[dict[str, object]] = []
    with redis_server() as redis_port, busy_loops(busy):
        nodes = {n: start_node(n, data, redis_port, prefix) for n in ("node-a", "node-b")}
        people: list[Person] = []
        try:
            for node in nodes.values():
                await wait_ready(node.url)
            a, b = nodes["node-a"], nodes["node-b"]
            async with aiohttp.ClientSession() as http:
                body = {
                    "type": "trial",
                    "case_number": "09/2026/DS-ST",
                    "title": "Nguyen v. Tran",
                    "scheduled_at": "2026-11-29T09:00:00+07:00",
                    "public": False,
                    "profile": "default",
                }
                async with http.post(f"{a.url}/api/hearings", json=body, headers=HEADERS) as r:
                    assert r.status == 201, await r.text()
                    hid = (await r.json())["id"]
                links = []
                for role, name in CAST:
                    grant = {"role": role, "display_name": name, "ttl_seconds": 7200}
                    async with http.post(
                        f"{a.url}/api/hearings/{hid}/tokens", json=grant, headers=HEADERS
                    ) as r:
                        assert r.status == 201, await r.text()
                        grant_json = await r.json()
                        links.append((grant_json["token"], grant_json["participant_id"]))
            listening = []
            for n, (link, _participant) in enumerate(links):
                entry, other = (a.url, b.url) if n % 2 == 0 else (b.url, a.url)
                parties = ",".join(pid for _link, pid in links[2:])
                judge = ("--admit", parties, "--sit") if n == 0 else ()
                person = await start_person(entry, other, link, *judge)
                people.append(person)
                listening.append(asyncio.get_running_loop().create_task(person.listen()))
            await all_have(people, "ready", -math.inf, 120)
            for _ in range(int(warm_up)):  # let the load build, up to `warm_up` seconds
                if load_1min() >= busy:
                    break
                await asyncio.sleep(1)
            for kill in range(kills):
                placed = people[0].last("placed")
                assert placed is not None
                host = next(n for n in nodes.values() if n.url == placed["url"])
                await asyncio.sleep(2)  # media flows
                load = load_1min()
                killed = time.monotonic()
                host.process.send_signal(signal.SIGKILL)
                host.process.wait(10)
                await all_have(people, "back", killed, BACK_WITHIN)
                delays = [p.first("back", killed)["at"] - killed for p in people]  # type: ignore[index]
                samples += delays
                rejoined = [p.first("rejoined", killed) or {} for p in people]
                noticed = [(e.get("dropped_at") or killed) - killed for e in rejoined]
                joined = [(e.get("rejoined_at") or killed) - killed for e in rejoined]
                refused: collections.Counter[str] = collections.Counter()
                for e in rejoined:
                    refused.update(e.get("refusals", {}))
                rounds.append({"kill": kill + 1, "load_1min": round(load, 1), "delays": delays})
                print(
                    f"kill {kill + 1}: load {load:.1f}, back after "
                    + ", ".join(f"{d:.2f}" for d in sorted(delays))
                    + f" s (median: dropped {percentile(noticed, 0.5):.2f} s, "
                    f"rejoined {percentile(joined, 0.5):.2f} s; refused meanwhile "
                    f"{dict(refused)})",
                    flush=True,
                )
                nodes[host.name] = start_node(host.name, data, redis_port, prefix, host.port)
                await wait_ready(nodes[host.name].url)
        finally:
            for person in people:
                if person.process.returncode is None:
                    person.process.terminate()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(person.process.wait(), 10)
            for node in nodes.values():
                if node.process.poll() is None:
                    node.process.terminate()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        node.process.wait(20)
    summary = {
        "kills": kills,
        "clients": len(CAST),
        "busy_loops": busy,
        "samples": len(samples),
        "p50_s": round(percentile(samples, 0.5), 2),
        "p95_s": round(percentile(samples, 0.95), 2),
        "max_s": round(max(samples), 2),
        "load_1min": [r["load_1min"] for r in rounds],
        "cores": os.cpu_count(),
    }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--busy", type=int, default=8, help="busy-loop processes to start")
    parser.add_argument(
        "--warm-up", type=float, default=45.0, help="seconds to let the load build, at most"
    )
    args = parser.parse_args()
    if not loopback_only():
        sys.exit("run inside the loopback namespace: bash tools/in-netns .venv/bin/python ...")
    summary = asyncio.run(run(args.kills, args.busy, args.warm_up))
    print(
        f"failover: {summary['samples']} samples, p50 {summary['p50_s']} s, "
        f"p95 {summary['p95_s']} s, max {summary['max_s']} s"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
