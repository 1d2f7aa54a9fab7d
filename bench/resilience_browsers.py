# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""Media that heals itself, with browsers: a hearing of N headless Chromium pages (the
presiding judge's console and N-1 parties, each through the real pages: device check, rules,
lobby, admission from the console) on one ecourt server process, in the loopback namespace.
One party (the victim) meets each fault in turn:

- `publish`, `subscribe`, `both`: the victim's UDP on that leg dropped for `--cut` seconds
  (nftables: every datagram is dropped but those of the other pages' legs and of the victim's
  leg that still works, so the victim's new connections are cut too);
- `cpu`: the victim page's CPU throttled (CDP `Emulation.setCPUThrottlingRate`, rate 6) for
  `--throttle` seconds;
- `stall`: the server's process stopped (SIGSTOP) for `--stall` seconds, then continued.

For each fault it reports: `back_p95` / `back_max` — seconds from the network's return (the
throttle's or the stall's end) to the first frame of the victim's video decoded again at each
other page (p95 and slowest of them); `back_victim` — until the victim decodes every other
page's video again; `shown` — seconds from the fault to the judge's console showing the
victim's camera as anything but `live` (and which state); `disturbed` — pairs of other pages
(viewer, publisher) that went a whole second without a decoded frame during the fault or the
recovery (for `stall` every pair is stopped by the fault itself).

With `--soak S` the hearing is first kept for S seconds with no fault, looking every second:
`collapsed_seconds` counts seconds in which no page decoded any frame (the issue's collapse),
`stalled_pair_seconds` the seconds a pair went without one. `--faults` picks the faults
(`--faults ""` for a soak alone).

    bash tools/in-netns .venv/bin/python bench/resilience_browsers.py [--people 8 --cut 10]

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
import math
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from playwright.async_api import Browser, Page, async_playwright, expect

from bench.forwarding import loopback_only
from bench.hearings import CAST, Bench
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, join_hearing

TABLE = "ecourt_resilience_browsers"
SAMPLE = 0.5
"""Seconds between looks at every page while a fault lasts."""

DECODED_JS = """() => {
  const e = window.ecourt;
  const pc = e && e.pcs.subscribe;
  if (!pc) return Promise.resolve([null, {}]);
  pc.__generation ||= Math.random();
  const owner = {};
  for (const t of e.tracks) if (t.kind === "video") owner[t.mid] = t.participant_id;
  return pc.getStats().then((stats) => {
    const frames = {};
    stats.forEach((r) => {
      const who = r.type === "inbound-rtp" && r.kind === "video" ? owner[r.mid] : null;
      if (who) frames[who] = Math.max(frames[who] || 0, r.framesDecoded || 0);
    });
    return [pc.__generation, frames];
  });
}"""
PORTS_JS = """(leg) => {
  const pc = window.ecourt.pcs[leg];
  if (!pc) return Promise.resolve([]);
  return pc.getStats().then((stats) => {
    const ports = [];
    stats.forEach((r) => { if (r.type === "local-candidate") ports.push(r.port); });
    return ports;
  });
}"""
BADGE_JS = """(id) => {
  const badge = document.querySelector(`#roster [data-participant-id="${id}"] .health`);
  return badge ? badge.dataset.health : null;
}"""

ADMIT_JS = """(id) => {
  const admit = document.querySelector(`li.waiting[data-participant-id="${id}"] button.admit`);
  if (admit && !admit.disabled) admit.click();
}"""

Snapshot = dict[str, tuple[float | None, dict[str, int]]]
"""Per viewer: (which receiving connection, frames decoded per publisher on it)."""


def nft(*command: str) -> None:
    subprocess.run(["nft", *command], check=True, capture_output=True)


def cut_all_but(ports: Sequence[int]) -> None:
    listed = ", ".join(str(p) for p in sorted(set(ports)))
    nft("add", "table", "inet", TABLE)
    nft("add", "chain", "inet", TABLE, "out", "{ type filter hook output priority 0 ; }")
    rule = f"udp sport != {{ {listed} }} udp dport != {{ {listed} }} drop"
    nft("add", "rule", "inet", TABLE, "out", *rule.split())


def restore() -> None:
    subprocess.run(["nft", "delete", "table", "inet", TABLE], check=False, capture_output=True)


def progressed(
    before: tuple[float | None, dict[str, int]],
    after: tuple[float | None, dict[str, int]],
    publisher: str,
) -> bool:
    """Did the viewer decode a frame of `publisher` between the two looks?"""
    (gen_a, frames_a), (gen_b, frames_b) = before, after
    now = frames_b.get(publisher, 0)
    return now > 0 if gen_a != gen_b else now > frames_a.get(publisher, 0)


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class Court:
    """The hearing: pages by participant id, the judge's first, the victim third."""

    def __init__(self, bench: Bench, browser: Browser) -> None:
        self.bench, self.browser = bench, browser
        self.pages: dict[str, Page] = {}

    @property
    def ids(self) -> list[str]:
        return list(self.pages)

    @property
    def judge(self) -> Page:
        return self.pages[self.ids[0]]

    @property
    def victim_id(self) -> str:
        return self.ids[2]

    async def open(self, people: int) -> None:
        hearing = await self.bench._post(
            "/api/hearings",
            {
                "type": "trial",
                "case_number": "RES-B",
                "title": "Resilience in browsers",
                "scheduled_at": "2026-11-29T09:00:00+07:00",
                "public": False,
            },
        )
        hid = hearing["id"]
        for n in range(people):
            role = CAST[n % len(CAST)]
            body = {"role": role, "display_name": f"P{n}", "ttl_seconds": 3600}
            issued = await self.bench._post(f"/api/hearings/{hid}/tokens", body)
            context = await self.browser.new_context()
            page = await context.new_page()
            url = f"{self.bench.base_url}/join/{hid}#token={issued['token']}"
            await join_hearing(page, url)
            pid = issued["participant_id"]
            self.pages[pid] = page
            if n == 0:
                await expect(page.locator("#phase-controls")).to_be_visible(timeout=30_000)
                await page.locator('#phase-controls button[data-phase="in_session"]').click()
                continue
            await self._seat(page, pid)

    async def _seat(self, page: Page, pid: str) -> None:
        """Admit `pid` from the judge's console, unless the court seats them at once (the
        clerk); return once their page is in the courtroom."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if await page.evaluate("() => window.ecourt && window.ecourt.state") == "courtroom":
                return
            # clicked in the page at once: the queue is drawn anew at every roster, so a
            # button found first and clicked later may be gone by then
            await self.judge.evaluate(ADMIT_JS, pid)
            await asyncio.sleep(0.5)
        raise RuntimeError(f"{pid} never reached the courtroom")

    async def snapshot(self) -> Snapshot:
        looks = await asyncio.gather(*(p.evaluate(DECODED_JS) for p in self.pages.values()))
        return {pid: (look[0], look[1]) for pid, look in zip(self.pages, looks, strict=True)}

    async def all_decoding(self, within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            before = await self.snapshot()
            await asyncio.sleep(1.0)
            after = await self.snapshot()
            if all(
                progressed(before[v], after[v], p) for v in self.ids for p in self.ids if v != p
            ):
                return
        raise RuntimeError(f"not every page decoded every other's video within {within}s")

    async def ports(self, pid: str, legs: Sequence[str]) -> list[int]:
        found: list[int] = []
        for leg in legs:
            found += await self.pages[pid].evaluate(PORTS_JS, leg)
        return found


async def run_fault(court: Court, fault: str, seconds: float) -> dict[str, Any]:
    victim = court.victim_id
    others = [p for p in court.ids if p != victim]
    cdp = None
    started = time.monotonic()
    if fault == "stall":
        os.kill(court.bench.server.pid, signal.SIGSTOP)
    elif fault == "cpu":
        cdp = await court.pages[victim].context.new_cdp_session(court.pages[victim])
        await cdp.send("Emulation.setCPUThrottlingRate", {"rate": 6})
    else:
        kept = {"publish": ["subscribe"], "subscribe": ["publish"]}.get(fault, [])
        ports = await court.ports(victim, kept)
        for other in others:
            ports += await court.ports(other, ["publish", "subscribe"])
        cut_all_but(ports)
    shown: tuple[float, str] | None = None
    last = await court.snapshot()
    last_seen = {(v, p): time.monotonic() for v in others for p in others if v != p}
    gaps: set[tuple[str, str]] = set()

    async def look() -> None:
        nonlocal shown, last
        now_snap = await court.snapshot()
        now = time.monotonic()
        for pair in last_seen:
            if progressed(last[pair[0]], now_snap[pair[0]], pair[1]):
                last_seen[pair] = now
            elif now - last_seen[pair] >= 1.0:
                gaps.add(pair)
        last = now_snap
        if shown is None:
            state = await court.judge.evaluate(BADGE_JS, victim)
            if state not in (None, "live"):
                shown = (now - started, state)

    try:
        while time.monotonic() - started < seconds:
            await asyncio.sleep(SAMPLE)
            if fault != "stall":  # a stopped server answers no page: nothing to look at
                await look()
    finally:
        if fault == "stall":
            os.kill(court.bench.server.pid, signal.SIGCONT)
        elif cdp is not None:
            await cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
            await cdp.detach()
        else:
            restore()
    returned = time.monotonic()
    if fault == "stall":  # every pair stopped with the server: start counting from its return
        last = await court.snapshot()
        last_seen = dict.fromkeys(last_seen, returned)
    before = await court.snapshot()
    back_out: dict[str, float] = {}
    back_in: dict[str, float] = {}
    while time.monotonic() - returned < 60 and (
        len(back_out) < len(others) or len(back_in) < len(others)
    ):
        await asyncio.sleep(0.2)
        now_snap = await court.snapshot()
        elapsed = time.monotonic() - returned
        for other in others:
            if other not in back_out and progressed(before[other], now_snap[other], victim):
                back_out[other] = elapsed
            if other not in back_in and progressed(before[victim], now_snap[victim], other):
                back_in[other] = elapsed
        if shown is None:
            state = await court.judge.evaluate(BADGE_JS, victim)
            if state not in (None, "live"):
                shown = (time.monotonic() - started, state)
    for _ in range(int(3 / SAMPLE)):  # the others, a few seconds into the recovery
        await asyncio.sleep(SAMPLE)
        await look()
    try:
        await court.all_decoding(within=60)
        recovered = True
    except RuntimeError:
        recovered = False
    return {
        "recovered": recovered,
        "fault": fault,
        "seconds": seconds,
        "back_p95": None
        if len(back_out) < len(others)
        else round(p95(list(back_out.values())) or 0, 2),
        "back_max": None if len(back_out) < len(others) else round(max(back_out.values()), 2),
        "back_victim": None if len(back_in) < len(others) else round(max(back_in.values()), 2),
        "shown": None if shown is None else round(shown[0], 2),
        "shown_state": None if shown is None else shown[1],
        "disturbed_pairs": len(gaps),
        "pairs": len(last_seen),
        "rebuilds": await court.pages[victim].evaluate("() => window.ecourt.legWatch.rebuilds"),
    }


def load_average() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


async def soak(court: Court, seconds: float) -> dict[str, Any]:
    """Keep the hearing for `seconds`, looking every second: a collapse is a second in which
    no page decoded any frame; a stalled pair-second, one pair without a frame in a second."""
    collapses = stalled = 0
    end = time.monotonic() + seconds
    before = await court.snapshot()
    while time.monotonic() < end:
        await asyncio.sleep(1.0)
        after = await court.snapshot()
        moving = [
            progressed(before[v], after[v], p) for v in court.ids for p in court.ids if v != p
        ]
        collapses += not any(moving)
        stalled += moving.count(False)
        before = after
    return {
        "soak_seconds": seconds,
        "collapsed_seconds": collapses,
        "stalled_pair_seconds": stalled,
    }


async def run(people: int, faults: list[tuple[str, float]], soak_seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ecourt-resilience-browsers-") as workdir:
        bench = Bench(Path(workdir), workers=1)
        await bench.start()
        results: list[dict[str, Any]] = []
        load_before = load_average()
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                try:
                    court = Court(bench, browser)
                    await court.open(people)
                    await court.all_decoding(within=90)
                    soaked = await soak(court, soak_seconds) if soak_seconds else None
                    for fault, seconds in faults:
                        results.append(await run_fault(court, fault, seconds))
                        if not results[-1]["recovered"]:
                            break  # a hearing not whole again: the next faults would say little
                finally:
                    await browser.close()
        finally:
            restore()
            await bench.close()
        return {
            "people": people,
            "load_1min_before": load_before,
            "load_1min_after": load_average(),
            "faults": results,
            "soak": soaked,
        }


def main(argv: Sequence[str] | None = None) -> int:
    # the due-process guard is not under test here: no recess while a leg heals
    os.environ.setdefault("ECOURT_DUE_PROCESS_SECONDS", "3600")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=8)
    parser.add_argument("--cut", type=float, default=10.0)
    parser.add_argument("--throttle", type=float, default=20.0)
    parser.add_argument("--stall", type=float, default=2.0)
    parser.add_argument(
        "--faults",
        default="publish,subscribe,both,cpu,stall",
        help="which faults, in order (empty: none)",
    )
    parser.add_argument("--soak", type=float, default=0.0, help="seconds, before the faults")
    args = parser.parse_args(argv)
    if args.people < 3:
        parser.error("--people: at least 3 (a judge, a victim and someone else)")
    if not loopback_only():
        print("run it in the loopback namespace: bash tools/in-netns ...", file=sys.stderr)
        return 2
    lengths = {"cpu": args.throttle, "stall": args.stall}
    faults = [(f, lengths.get(f, args.cut)) for f in args.faults.split(",") if f]
    if any(f not in ("publish", "subscribe", "both", "cpu", "stall") for f, _ in faults):
        parser.error("--faults: publish, subscribe, both, cpu, stall")
    summary = asyncio.run(run(args.people, faults, args.soak))
    head = ("fault", "s", "back p95", "back max", "→victim", "shown", "state", "disturbed")
    print(
        f"{head[0]:9} {head[1]:>4} {head[2]:>9} {head[3]:>9} {head[4]:>8} {head[5]:>6} "
        f"{head[6]:>13} {head[7]:>9}"
    )
    for r in summary["faults"]:
        print(
            f"{r['fault']:9} {r['seconds']:4.0f} {r['back_p95']!s:>9} {r['back_max']!s:>9} "
            f"{r['back_victim']!s:>8} {r['shown']!s:>6} {r['shown_state']!s:>13} "
            f"{r['disturbed_pairs']:>4}/{r['pairs']}"
        )
    if summary["soak"]:
        print(f"soak: {summary['soak']}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
