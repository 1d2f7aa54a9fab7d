# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""Media that heals itself: an N-person hearing (aiortc clients, each publishing a small camera
and a microphone, decoding nothing) through one ecourt server process on uvloop, as deployed.
One participant (the victim, a plaintiff whose legs are bound in their own UDP port ranges)
meets each fault in turn, then the network comes back:

- `publish`, `subscribe`, `both`: the victim's UDP on that leg dropped for `--cut` seconds
  (nftables in the loopback namespace: a network gone, new legs included);
- `stall`: the server's process stopped (SIGSTOP) for 2 s, then continued: a stalled loop.

For each fault it reports: `back` — seconds from the network's return (or the stall's end) to
the first video packet of the victim at every other participant (the slowest of them), and of
every other participant at the victim; `shown` — seconds from the fault to the judge's roster
showing the victim's video not `live`; `disturbed` — pairs not involving the victim that went
a whole second without video during the fault (goal: none). With `--soak S` it then keeps the
hearing for S seconds and counts collapses (a second in which no video reached anyone).

    bash tools/in-netns .venv/bin/python bench/resilience.py [--people 8 --cut 10 --soak 0]

Prints a table, then a JSON summary as its last line. Figures, never assertions.
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
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from aiortc import MediaStreamTrack
from aiortc.mediastreams import AudioStreamTrack

from bench.forwarding import loopback_only
from bench.hearings import CAST, Bench
from bench.peers import RtpCounter, count_incoming
from signaling.client import HearingClient
from tests.faults.court import SmallVideo  # the fault suite's small camera

PUBLISH_PORTS = (43000, 43099)
SUBSCRIBE_PORTS = (43100, 43199)
TABLE = "ecourt_resilience"


class Person(HearingClient):
    """A client that never decodes: every subscribe leg's RTP is counted, not decoded."""

    def _on_track(self, track: MediaStreamTrack) -> None:
        pc = self._subscribe_pc
        if pc is None or getattr(pc, "_counted", False):
            return
        count_incoming(pc.getTransceivers()[0].receiver.transport, RtpCounter())
        pc._counted = True  # type: ignore[attr-defined]

    def video_from(self, participant_id: str) -> int:
        return sum(
            n
            for ssrc, n in self.rtp_by_ssrc().items()
            if self.ssrc_owner(ssrc) == (participant_id, "video")
        )


def nft(*command: str) -> None:
    subprocess.run(["nft", *command], check=True, capture_output=True)


def cut(ranges: Sequence[tuple[int, int]]) -> None:
    nft("add", "table", "inet", TABLE)
    nft("add", "chain", "inet", TABLE, "out", "{ type filter hook output priority 0 ; }")
    for low, high in ranges:
        for way in ("sport", "dport"):
            nft("add", "rule", "inet", TABLE, "out", "udp", way, f"{low}-{high}", "drop")


def restore() -> None:
    subprocess.run(["nft", "delete", "table", "inet", TABLE], check=False, capture_output=True)


class Hearing:
    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.people: list[Person] = []

    async def open(self, size: int) -> None:
        hearing = await self.bench._post(
            "/api/hearings",
            {
                "type": "trial",
                "case_number": "RES-1",
                "title": "Resilience",
                "scheduled_at": "2026-11-29T09:00:00+07:00",
                "public": False,
            },
        )
        hid = hearing["id"]
        for n in range(size):
            role = CAST[n % len(CAST)] if n < len(CAST) else "party_lawyer"
            body = {"role": role, "display_name": f"P{n}", "ttl_seconds": 3600}
            token = (await self.bench._post(f"/api/hearings/{hid}/tokens", body))["token"]
            ports = {"publish": PUBLISH_PORTS, "subscribe": SUBSCRIBE_PORTS} if n == 2 else None
            person = Person(self.bench.base_url, token, leg_ports=ports)
            self.bench.clients.append(person)  # type: ignore[arg-type]
            await person.connect()
            self.people.append(person)
        judge = self.judge
        for person in self.people[2:]:
            await judge.wait_for_waiting(person.participant["id"])
            await judge.admit(person.participant["id"])
            await person.wait_admitted()
        await judge.request("phase", {"phase": "in_session"})
        for person in self.people:
            await person.publish(SmallVideo(), AudioStreamTrack())

    @property
    def judge(self) -> Person:
        return self.people[0]

    @property
    def victim(self) -> Person:
        return self.people[2]

    def pid(self, person: Person) -> str:
        return str(person.participant["id"])

    def pairs(self) -> list[tuple[Person, Person]]:
        return [(v, p) for v in self.people for p in self.people if v is not p]

    def snapshot(self) -> dict[tuple[int, int], int]:
        ids = {id(p): self.pid(p) for p in self.people}
        return {(id(v), id(p)): v.video_from(ids[id(p)]) for v, p in self.pairs()}

    async def all_flowing(self, within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            before = self.snapshot()
            await asyncio.sleep(1.0)
            after = self.snapshot()
            if all(after[k] > before[k] for k in after):
                return
        raise RuntimeError(f"not every pair carried video within {within}s")


async def run_fault(hearing: Hearing, fault: str, seconds: float) -> dict[str, Any]:
    victim, judge = hearing.victim, hearing.judge
    vid = hearing.pid(victim)
    others = [p for p in hearing.people if p is not victim]
    samples: list[dict[tuple[int, int], int]] = [hearing.snapshot()]
    started = time.monotonic()
    shown: float | None = None

    async def sample_during(duration: float) -> None:
        nonlocal shown
        end = time.monotonic() + duration
        while time.monotonic() < end:
            await asyncio.sleep(0.25)
            if shown is None and judge.health_of(vid).get("video") not in (None, "live"):
                shown = time.monotonic() - started
            if len(samples) < 10_000:
                samples.append(hearing.snapshot())

    if fault == "stall":
        os.kill(hearing.bench.server.pid, signal.SIGSTOP)
        await asyncio.sleep(seconds)
        os.kill(hearing.bench.server.pid, signal.SIGCONT)
    else:
        ranges = {"publish": [PUBLISH_PORTS], "subscribe": [SUBSCRIBE_PORTS]}
        cut(ranges.get(fault, [PUBLISH_PORTS, SUBSCRIBE_PORTS]))
        try:
            await sample_during(seconds)
        finally:
            restore()
    returned = time.monotonic()
    before = hearing.snapshot()
    back_out: float | None = None
    back_in: float | None = None
    waiting_out = {id(p) for p in others}
    waiting_in = {id(p) for p in others}
    while time.monotonic() - returned < 60 and (waiting_out or waiting_in):
        await asyncio.sleep(0.1)
        now = hearing.snapshot()
        waiting_out = {o for o in waiting_out if now[(o, id(victim))] <= before[(o, id(victim))]}
        waiting_in = {o for o in waiting_in if now[(id(victim), o)] <= before[(id(victim), o)]}
        if not waiting_out and back_out is None:
            back_out = time.monotonic() - returned
        if not waiting_in and back_in is None:
            back_in = time.monotonic() - returned
    disturbed = set()
    step = max(1, int(1.0 / 0.25))
    for i in range(len(samples) - step):
        a, b = samples[i], samples[i + step]
        for (v, p), count in b.items():
            if v != id(victim) and p != id(victim) and count <= a[(v, p)]:
                disturbed.add((v, p))
    await hearing.all_flowing(within=60)
    return {
        "fault": fault,
        "seconds": seconds,
        "back_to_others": None if back_out is None else round(back_out, 2),
        "back_to_victim": None if back_in is None else round(back_in, 2),
        "shown": None if shown is None else round(shown, 2),
        "disturbed_pairs": len(disturbed),
        "rebuilds": list(victim.watch.rebuilds) if victim.watch else [],
    }


async def soak(hearing: Hearing, seconds: float) -> dict[str, Any]:
    collapses = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        before = hearing.snapshot()
        await asyncio.sleep(1.0)
        after = hearing.snapshot()
        if all(after[k] <= before[k] for k in after):
            collapses += 1
    return {"soak_seconds": seconds, "collapsed_seconds": collapses}


async def run(people: int, cut_seconds: float, soak_seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ecourt-resilience-") as workdir:
        bench = Bench(Path(workdir), workers=1)
        await bench.start()
        hearing = Hearing(bench)
        results: list[dict[str, Any]] = []
        try:
            await hearing.open(people)
            await hearing.all_flowing(within=60)
            for fault in ("publish", "subscribe", "both"):
                results.append(await run_fault(hearing, fault, cut_seconds))
            results.append(await run_fault(hearing, "stall", 2.0))
            soaked = await soak(hearing, soak_seconds) if soak_seconds else None
        finally:
            restore()
            await bench.close()
        return {"people": people, "faults": results, "soak": soaked}


def main(argv: Sequence[str] | None = None) -> int:
    # the due-process guard is not under test here: no recess while a leg heals
    os.environ.setdefault("ECOURT_DUE_PROCESS_SECONDS", "3600")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=8)
    parser.add_argument("--cut", type=float, default=10.0)
    parser.add_argument("--soak", type=float, default=0.0)
    args = parser.parse_args(argv)
    if not loopback_only():
        print("run it in the loopback namespace: bash tools/in-netns ...", file=sys.stderr)
        return 2
    summary = asyncio.run(run(args.people, args.cut, args.soak))
    head = ("fault", "cut s", "back→others", "back→victim", "shown", "disturbed")
    print(f"{head[0]:10} {head[1]:>6} {head[2]:>12} {head[3]:>12} {head[4]:>6} {head[5]:>9}")
    for r in summary["faults"]:
        print(
            f"{r['fault']:10} {r['seconds']:6.0f} {r['back_to_others']!s:>12} "
            f"{r['back_to_victim']!s:>12} {r['shown']!s:>6} {r['disturbed_pairs']:9d}"
        )
    if summary["soak"]:
        print(f"soak: {summary['soak']}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
