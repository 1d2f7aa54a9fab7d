# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""CPU per forwarded stream: ecourt's forwarding SFU against aiortc's MediaRelay, in one run.

    bash tools/in-netns .venv/bin/python bench/forwarding.py      (as root; or `make bench`)

One publisher sends a pre-encoded 640x480 VP8 clip (about 1.5 Mbit/s, 30 fps, a keyframe every
2 s) through a server to K subscribers, K = 0, 1, 2, 4, 8, 16. Each server runs in a process
of its own, whose CPU time (user + system, all threads, from /proc/<pid>/stat) is measured over
a window after a warm-up that starts once every subscriber receives video. Subscribers count
RTP packets and frames (marker bits) and decode nothing; the publisher encodes nothing live.
The baseline stops at the first K where its subscribers no longer get the clip's frame rate.
Prints a table, then as its last line a JSON summary.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import asyncio
import ctypes
import ipaddress
import json
import os
import secrets
import signal
import socket
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from aioice.ice import get_host_addresses
from aiortc import RTCPeerConnection

from bench.clip import Clip, ClipTrack, encode_clip
from bench.peers import (
    CountingHearingClient,
    Counts,
    RtpCounter,
    relay_publish,
    relay_subscribe,
)
from media.rtp import build_extension_block, build_rtp, parse_rtp
from signaling.client import HearingClient

KS = (0, 1, 2, 4, 8, 16)
WARMUP = 5.0
WINDOW = 10.0
FIRST_MEDIA_TIMEOUT = 30.0
SATURATED_BELOW = 0.9  # of the clip's frame rate, as received by the average subscriber
TOTAL_TIMEOUT = 540.0
TARGET_CORE_PER_STREAM = 0.003
TARGET_RATIO = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process, all its threads included."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK  # utime, stime (14 and 15)


def process_cpu_seconds(pid: int) -> float:
    return sum(process_cpu_times(pid))


def host_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (every core), from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / CLK_TCK


def yardstick_us(rounds: int = 20_000, repeats: int = 5) -> float:
    """CPU microseconds to build and parse one RTP packet in Python (best of `repeats`): a
    measure of this machine's speed at the time of the run, which drifts on a shared VM."""
    payload = bytes(1150)
    block = build_extension_block([(3, b"\x00\x00\x00")])
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for seq in range(rounds):
            data = build_rtp(
                marker=0,
                payload_type=96,
                sequence_number=seq & 0xFFFF,
                timestamp=seq,
                ssrc=1,
                extension_block=block,
                payload=payload,
            )
            parse_rtp(data)
        best = min(best, time.process_time() - start)
    return best / rounds * 1e6


def loopback_only() -> bool:
    """True if every address aioice would gather is a loopback one (tools/in-netns)."""
    addresses = get_host_addresses(use_ipv4=True, use_ipv6=True)
    return all(ipaddress.ip_address(a).is_loopback for a in addresses)


def die_with_parent() -> None:
    """In the child, before exec: receive SIGTERM if the benchmark dies without cleaning up."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """A server in a child process of its own, so its CPU time can be read alone."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self._argv = argv
        self._env = env
        self.log_path = log_path
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    async def start(self, health_url: str, timeout: float = 30.0) -> None:
        log = self.log_path.open("wb")
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self._argv,
                cwd=ROOT,
                env=self._env,
                stdout=log,
                stderr=log,
                preexec_fn=die_with_parent,
            )
        finally:
            log.close()  # the child holds its own descriptor
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self._proc.returncode is not None:
                    break
                try:
                    async with session.get(health_url) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self._argv} did not start; see {self.log_path}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def cpu_times(self) -> tuple[float, float]:
        return process_cpu_times(self.pid)

    async def stop(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout=10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


class Side(Protocol):
    """One server under test, its publisher and its subscribers."""

    name: str
    server: ServerProcess

    async def start(self, clip: Clip) -> None: ...

    async def add_subscriber(self) -> RtpCounter: ...

    async def close(self) -> None: ...


class EcourtSide:
    """The real ecourt app (`python -m web.cli serve`): REST for the hearing and tokens, the
    judge publishes and admits every subscriber (an observer) from the lobby."""

    name = "ecourt"

    def __init__(self, workdir: Path) -> None:
        self._api_key = secrets.token_urlsafe(24)
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        env = os.environ | {
            "ECOURT_API_KEY": self._api_key,
            "ECOURT_TOKEN_KEY": secrets.token_urlsafe(32),
            "ECOURT_DATA_DIR": str(workdir / "ecourt-data"),
        }
        argv = [sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1"]
        argv += ["--port", str(port)]
        self.server = ServerProcess(argv, env, workdir / "ecourt.log")
        self._session: aiohttp.ClientSession | None = None
        self._hearing_id = ""
        self._judge: HearingClient | None = None
        self._clients: list[HearingClient] = []

    async def _api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self._session is not None
        headers = {"Authorization": f"Bearer {self._api_key}"}
        async with self._session.post(self.base_url + path, json=body, headers=headers) as r:
            if r.status != 201:
                raise RuntimeError(f"POST {path}: {r.status} {await r.text()}")
            result: dict[str, Any] = await r.json()
            return result

    async def _token(self, role: str, name: str) -> str:
        body = {"role": role, "display_name": name, "ttl_seconds": 3600}
        issued = await self._api(f"/api/hearings/{self._hearing_id}/tokens", body)
        return str(issued["token"])

    async def start(self, clip: Clip) -> None:
        await self.server.start(f"{self.base_url}/healthz")
        self._session = aiohttp.ClientSession()
        hearing = await self._api(
            "/api/hearings",
            {
                "type": "trial",
                "case_number": "BENCH-1",
                "title": "Forwarding benchmark",
                "scheduled_at": "2026-11-29T09:00:00+07:00",
                "public": False,
            },
        )
        self._hearing_id = str(hearing["id"])
        judge = HearingClient(self.base_url, await self._token("presiding_judge", "Judge"))
        self._clients.append(judge)
        await judge.connect()
        await judge.publish(ClipTrack(clip))
        self._judge = judge

    async def add_subscriber(self) -> RtpCounter:
        assert self._judge is not None
        number = len(self._clients)
        client = CountingHearingClient(
            self.base_url, await self._token("observer", f"Viewer {number}")
        )
        self._clients.append(client)
        await client.connect()
        await self._judge.wait_for_waiting(client.participant["id"])
        await self._judge.admit(client.participant["id"])
        await client.wait_admitted()
        return client.counter

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self._clients), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        await self.server.stop()


class RelaySide:
    """aiortc's MediaRelay (bench/relay_server.py): decode once, encode per subscriber."""

    name = "mediarelay"

    def __init__(self, workdir: Path) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "bench.relay_server", "--port", str(port)]
        self.server = ServerProcess(argv, dict(os.environ), workdir / "mediarelay.log")
        self._session: aiohttp.ClientSession | None = None
        self._pcs: list[RTCPeerConnection] = []

    async def start(self, clip: Clip) -> None:
        await self.server.start(f"{self.base_url}/healthz")
        self._session = aiohttp.ClientSession()
        self._pcs.append(await relay_publish(self._session, self.base_url, ClipTrack(clip)))

    async def add_subscriber(self) -> RtpCounter:
        assert self._session is not None
        counter = RtpCounter()
        self._pcs.append(await relay_subscribe(self._session, self.base_url, counter))
        return counter

    async def close(self) -> None:
        await asyncio.gather(*(pc.close() for pc in self._pcs), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        await self.server.stop()


@dataclass(frozen=True, slots=True)
class Sample:
    """One server at one K, over one window."""

    k: int
    seconds: float
    server_cores: float
    server_sys_cores: float
    client_cores: float
    host_cores: float
    per_subscriber: tuple[Counts, ...]
    fps: float

    @property
    def core_per_stream(self) -> float | None:
        return self.server_cores / self.k if self.k else None

    def rate(self, field: str) -> tuple[float, float]:
        """Mean and minimum per-subscriber rate of a `Counts` field, per second."""
        rates = [getattr(c, field) / self.seconds for c in self.per_subscriber]
        return (sum(rates) / len(rates), min(rates)) if rates else (0.0, 0.0)

    @property
    def saturated(self) -> bool:
        return self.k > 0 and self.rate("frames")[0] < SATURATED_BELOW * self.fps

    def as_json(self, fixed_cores: float | None) -> dict[str, Any]:
        fps_mean, fps_min = self.rate("frames")
        pps_mean, _ = self.rate("packets")
        bps_mean, _ = self.rate("octets")
        result: dict[str, Any] = {
            "server_cores": round(self.server_cores, 5),
            "server_sys_cores": round(self.server_sys_cores, 5),
            "core_per_stream": _round(self.core_per_stream),
            "fps_mean": round(fps_mean, 2),
            "fps_min": round(fps_min, 2),
            "rtp_pps_mean": round(pps_mean, 1),
            "mbit_s_mean": round(bps_mean * 8 / 1e6, 3),
            "client_cores": round(self.client_cores, 4),
            "host_cores": round(self.host_cores, 4),
            "saturated": self.saturated,
        }
        if fixed_cores is not None and self.k:
            result["marginal_core_per_stream"] = round(
                (self.server_cores - fixed_cores) / self.k, 5
            )
        return result


def _round(value: float | None, digits: int = 5) -> float | None:
    return None if value is None else round(value, digits)


async def wait_for_media(counters: Sequence[RtpCounter], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(c.frames == 0 for c in counters):
        if time.monotonic() > deadline:
            waiting = sum(c.frames == 0 for c in counters)
            raise TimeoutError(f"{waiting} of {len(counters)} subscribers received no video")
        await asyncio.sleep(0.1)


async def measure(
    side: Side, counters: Sequence[RtpCounter], fps: float, warmup: float, window: float
) -> Sample:
    await wait_for_media(counters, FIRST_MEDIA_TIMEOUT)
    await asyncio.sleep(warmup)
    before = [c.snapshot() for c in counters]
    user0, sys0 = side.server.cpu_times()
    client0 = process_cpu_seconds(os.getpid())
    host0 = host_busy_seconds()
    start = time.monotonic()
    await asyncio.sleep(window)
    seconds = time.monotonic() - start
    user1, sys1 = side.server.cpu_times()
    return Sample(
        k=len(counters),
        seconds=seconds,
        server_cores=(user1 + sys1 - user0 - sys0) / seconds,
        server_sys_cores=(sys1 - sys0) / seconds,
        client_cores=(process_cpu_seconds(os.getpid()) - client0) / seconds,
        host_cores=(host_busy_seconds() - host0) / seconds,
        per_subscriber=tuple(c.snapshot() - b for c, b in zip(counters, before, strict=True)),
        fps=fps,
    )


HEADER = (
    f"{'server':<11}{'K':>3}{'server cores':>14}{'sys':>7}{'core/stream':>13}{'marginal':>10}"
    f"{'fps/sub':>14}{'pkt/s/sub':>11}{'Mbit/s/sub':>12}{'client':>8}{'host':>7}  note"
)


def row(name: str, sample: Sample, fixed_cores: float | None) -> str:
    fps_mean, fps_min = sample.rate("frames")
    pps, _ = sample.rate("packets")
    bps, _ = sample.rate("octets")
    per = "-" if sample.core_per_stream is None else f"{sample.core_per_stream:.5f}"
    marginal = "-"
    if fixed_cores is not None and sample.k:
        marginal = f"{(sample.server_cores - fixed_cores) / sample.k:.5f}"
    fps = f"{fps_mean:.1f} (>={fps_min:.1f})" if sample.k else "-"
    note = "SATURATED" if sample.saturated else ""
    return (
        f"{name:<11}{sample.k:>3}{sample.server_cores:>14.4f}{sample.server_sys_cores:>7.3f}"
        f"{per:>13}{marginal:>10}"
        f"{fps:>14}{pps:>11.1f}{bps * 8 / 1e6:>12.3f}{sample.client_cores:>8.3f}"
        f"{sample.host_cores:>7.2f}  {note}"
    )


async def run_side(
    side: Side, clip: Clip, ks: Sequence[int], args: argparse.Namespace, stop_saturated: bool
) -> list[Sample]:
    samples: list[Sample] = []
    counters: list[RtpCounter] = []
    try:
        await side.start(clip)
        print(f"# {side.name}: server pid {side.server.pid}", file=sys.stderr, flush=True)
        for k in ks:
            while len(counters) < k:
                counters.append(await side.add_subscriber())
            sample = await measure(side, counters, clip.fps, args.warmup, args.window)
            samples.append(sample)
            fixed = samples[0].server_cores if samples[0].k == 0 else None
            print(row(side.name, sample, fixed), flush=True)
            if stop_saturated and sample.saturated:
                print(f"{side.name}: saturated at K={k}; larger K not run", flush=True)
                break
    except Exception:
        print(f"# {side.name} server log:\n{side.server.log_tail()}", file=sys.stderr)
        raise
    finally:
        await side.close()
    return samples


def summary(ecourt: list[Sample], relay: list[Sample], yardstick: float) -> dict[str, Any]:
    top = max(ecourt, key=lambda s: s.k)
    unsaturated = [s for s in relay if s.k and not s.saturated]
    base = max(unsaturated or [s for s in relay if s.k], key=lambda s: s.k)
    ours = top.core_per_stream or 0.0
    theirs = base.core_per_stream or 0.0
    same_k = next((s for s in ecourt if s.k == base.k), None)
    ecourt_fixed = ecourt[0].server_cores if ecourt[0].k == 0 else None
    relay_fixed = relay[0].server_cores if relay and relay[0].k == 0 else None
    return {
        "core_per_stream": round(ours, 5),
        "mediarelay_core_per_stream": round(theirs, 5),
        "ratio": round(theirs / ours, 1) if ours else None,
        "k": top.k,
        "mediarelay_k": base.k,
        "mediarelay_saturated_at_k": next((s.k for s in relay if s.saturated), None),
        "ratio_at_same_k": (
            round(theirs / same_k.core_per_stream, 1)
            if same_k is not None and same_k.core_per_stream
            else None
        ),
        "target_core_per_stream": TARGET_CORE_PER_STREAM,
        "target_ratio": TARGET_RATIO,
        "machine_cores": os.cpu_count(),
        "yardstick_us": round(yardstick, 3),
        "ecourt": {str(s.k): s.as_json(ecourt_fixed) for s in ecourt},
        "mediarelay": {str(s.k): s.as_json(relay_fixed) for s in relay},
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ks", type=lambda t: [int(k) for k in t.split(",")], default=list(KS))
    parser.add_argument("--warmup", type=float, default=WARMUP)
    parser.add_argument("--window", type=float, default=WINDOW)
    parser.add_argument(
        "--only", choices=["ecourt", "mediarelay"], help="run one server (no JSON summary)"
    )
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> dict[str, Any] | None:
    clip = encode_clip()
    yardstick = yardstick_us()
    print(
        f"clip: 640x480 VP8, {clip.fps} fps, {clip.bitrate / 1e6:.2f} Mbit/s, keyframe every "
        f"{clip.keyframe_interval:.1f} s; warm-up {args.warmup:.0f} s, window {args.window:.0f} s;"
        f" {os.cpu_count()} cores; yardstick {yardstick:.2f} us (RTP build+parse)",
        flush=True,
    )
    print(HEADER, flush=True)
    ks = sorted(set(args.ks))
    with tempfile.TemporaryDirectory(prefix="ecourt-bench-") as tmp:
        workdir = Path(tmp)
        ecourt: list[Sample] = []
        relay: list[Sample] = []
        if args.only in (None, "ecourt"):
            ecourt = await run_side(EcourtSide(workdir), clip, ks, args, stop_saturated=False)
        if args.only in (None, "mediarelay"):
            relay = await run_side(RelaySide(workdir), clip, ks, args, stop_saturated=True)
    if not ecourt or not relay:
        return None
    return summary(ecourt, relay, yardstick)


async def bounded(args: argparse.Namespace) -> dict[str, Any] | None:
    async with asyncio.timeout(TOTAL_TIMEOUT):
        return await run(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not loopback_only():
        print(
            "bench/forwarding.py: this host has non-loopback addresses; run it inside the "
            "loopback-only namespace: bash tools/in-netns .venv/bin/python bench/forwarding.py",
            file=sys.stderr,
        )
        return 2
    result = asyncio.run(bounded(args))
    if result is not None:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
