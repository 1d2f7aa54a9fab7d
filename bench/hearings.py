# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""How many 8-person all-to-all hearings one core holds: N hearings of 8 participants, each
publishing the pre-encoded 640x480 VP8 clip (about 1.5 Mbit/s) and receiving the other seven,
through one ecourt server process (or `--workers 2` of them, on a Redis of the bench's own).

    bash tools/in-netns .venv/bin/python bench/hearings.py [--hearings 1,2 --workers 1]

For each N the server's CPU (all its processes) is read over a window after every subscriber
receives video, and loss is counted exactly from RTP sequence numbers at every subscriber.
Hearings per core = N / server cores, stated only where loss stays under 0.1 %. The clients
run in this process and decode nothing. Prints a table, then a JSON summary as its last line.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import asyncio
import json
import os
import secrets
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
from aiortc import MediaStreamTrack

from bench.clip import Clip, ClipTrack, encode_clip
from bench.forwarding import CLK_TCK, ServerProcess, free_port, loopback_only
from bench.peers import count_incoming
from signaling.client import HearingClient

CAST = (
    "presiding_judge",
    "clerk",
    "plaintiff",
    "respondent",
    "party_lawyer",
    "plaintiff",
    "respondent",
    "party_lawyer",
)
WARMUP = 4.0
WINDOW = 10.0
MAX_LOSS = 0.001


class LossCounter:
    """Packets received and expected per SSRC (from sequence numbers), at one subscriber."""

    def __init__(self) -> None:
        self.first: dict[int, int] = {}
        self.highest: dict[int, int] = {}
        self.received: dict[int, int] = {}
        self.frames = 0

    async def on_rtp(self, data: bytes, arrival_time_ms: int) -> None:
        if len(data) < 12:
            return
        ssrc = int.from_bytes(data[8:12], "big")
        seq = int.from_bytes(data[2:4], "big")
        if ssrc not in self.first:
            self.first[ssrc] = self.highest[ssrc] = seq
            self.received[ssrc] = 0
        last = self.highest[ssrc]
        step = (seq - (last & 0xFFFF)) & 0xFFFF
        if step < 0x8000:
            self.highest[ssrc] = last + step
        self.received[ssrc] += 1
        if data[1] & 0x80:
            self.frames += 1

    def totals(self) -> tuple[int, int]:
        expected = sum(self.highest[s] - self.first[s] + 1 for s in self.first)
        return sum(self.received.values()), expected


class Participant(HearingClient):
    """A hearing client whose subscribe leg counts RTP by sequence number, decoding nothing."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__(base_url, token)
        self.counter = LossCounter()
        self._counting = False

    def _on_track(self, track: MediaStreamTrack) -> None:
        pc = self._subscribe_pc
        if self._counting or pc is None:
            return
        count_incoming(pc.getTransceivers()[0].receiver.transport, self.counter)  # type: ignore[arg-type]
        self._counting = True


def process_tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (the workers), all threads."""
    total = 0.0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        except OSError:
            continue
    return total


class Bench:
    def __init__(self, workdir: Path, workers: int) -> None:
        self.api_key = secrets.token_urlsafe(24)
        self.port = free_port() if workers == 1 else 18000 + secrets.randbelow(20000)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.redis: subprocess.Popen[bytes] | None = None
        env = os.environ | {
            "ECOURT_API_KEY": self.api_key,
            "ECOURT_TOKEN_KEY": secrets.token_urlsafe(32),
            "ECOURT_DATA_DIR": str(workdir / "data"),
            "ECOURT_KEYRING": str(workdir / "keyring.json"),
        }
        if workers > 1:
            redis_port = free_port()
            self.redis = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", ""],
                stdout=subprocess.DEVNULL,
            )
            env |= {  # a throwaway Redis without persistence: said so, or ecourt refuses it
                "ECOURT_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "ECOURT_REDIS_VOLATILE": "1",
            }
        argv = [sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--workers", str(workers)]
        self.server = ServerProcess(argv, env, workdir / "ecourt.log")
        self.clients: list[Participant] = []
        self._session: aiohttp.ClientSession | None = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self._session is not None
        headers = {"Authorization": f"Bearer {self.api_key}"}
        async with self._session.post(self.base_url + path, json=body, headers=headers) as r:
            if r.status != 201:
                raise RuntimeError(f"POST {path}: {r.status} {await r.text()}")
            result: dict[str, Any] = await r.json()
            return result

    async def start(self) -> None:
        await self.server.start(f"{self.base_url}/healthz", timeout=60)
        self._session = aiohttp.ClientSession()

    async def add_hearing(self, number: int, clip: Clip) -> list[Participant]:
        hearing = await self._post(
            "/api/hearings",
            {
                "type": "trial",
                "case_number": f"BENCH-{number}",
                "title": f"Eight-person hearing {number}",
                "scheduled_at": "2026-11-29T09:00:00+07:00",
                "public": False,
            },
        )
        hid = hearing["id"]
        people: list[Participant] = []
        for n, role in enumerate(CAST):
            body = {"role": role, "display_name": f"P{number}-{n}", "ttl_seconds": 3600}
            token = (await self._post(f"/api/hearings/{hid}/tokens", body))["token"]
            person = Participant(self.base_url, token)
            self.clients.append(person)
            await person.connect()
            people.append(person)
        judge = people[0]
        for person in people[2:]:
            await judge.wait_for_waiting(person.participant["id"])
            await judge.admit(person.participant["id"])
            await person.wait_admitted()
        await judge.request("phase", {"phase": "in_session"})
        for person in people:
            await person.publish(ClipTrack(clip))
        return people

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        await self.server.stop()
        if self.redis is not None:
            self.redis.send_signal(signal.SIGTERM)
            self.redis.wait(10)


async def measure(bench: Bench, people: Sequence[Participant]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while any(p.counter.frames == 0 for p in people):
        if time.monotonic() > deadline:
            raise TimeoutError("some participants receive no video")
        await asyncio.sleep(0.2)
    await asyncio.sleep(WARMUP)
    before = [p.counter.totals() for p in people]
    cpu0 = process_tree_cpu(bench.server.pid)
    start = time.monotonic()
    await asyncio.sleep(WINDOW)
    seconds = time.monotonic() - start
    cores = (process_tree_cpu(bench.server.pid) - cpu0) / seconds
    after = [p.counter.totals() for p in people]
    received = sum(a[0] - b[0] for a, b in zip(after, before, strict=True))
    expected = sum(a[1] - b[1] for a, b in zip(after, before, strict=True))
    loss = 1 - received / expected if expected else 1.0
    return {
        "server_cores": round(cores, 4),
        "loss": round(loss, 5),
        "pps_received": round(received / seconds),
    }


async def run(counts: Sequence[int], workers: int) -> dict[str, Any]:
    clip = encode_clip()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as directory:
        bench = Bench(Path(directory), workers)
        try:
            await bench.start()
            people: list[Participant] = []
            for n in range(1, max(counts) + 1):
                people += await bench.add_hearing(n, clip)
                if n in counts:
                    sample = await measure(bench, people)
                    sample["hearings_per_core"] = (
                        round(n / sample["server_cores"], 2) if sample["server_cores"] else None
                    )
                    sample["loss_ok"] = sample["loss"] < MAX_LOSS
                    results[str(n)] = sample
                    print(f"workers {workers}  hearings {n}: {json.dumps(sample)}", flush=True)
        finally:
            await bench.close()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hearings", default="1,2", help="numbers of hearings to measure")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if not loopback_only():
        print("run inside the loopback-only namespace: bash tools/in-netns ...", file=sys.stderr)
        return 2
    counts = sorted({int(x) for x in args.hearings.split(",")})
    results = asyncio.run(run(counts, args.workers))
    print(json.dumps({"workers": args.workers, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
