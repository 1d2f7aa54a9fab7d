# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""Latency the SFU adds: the time from a publisher's sending the last packet of a frame to a
subscriber's receiving it, through ecourt (a server process of its own) and, in the same run,
directly from one aiortc peer to another with no server between (the baseline).

    bash tools/in-netns .venv/bin/python bench/latency.py [--seconds 20 --subscribers 4]

Both ends run in this process and read one clock. The pre-encoded VP8 clip is sent at 30 fps;
nothing is decoded. The added latency is ecourt's p50/p99 minus the direct path's. Prints a
table, then a JSON summary as its last line.
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
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import aiohttp
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

from bench.clip import ClipTrack, encode_clip
from bench.forwarding import ServerProcess, free_port, loopback_only
from bench.peers import count_incoming, loopback_configuration
from signaling.client import HearingClient


class Sent:
    """When each frame (by RTP timestamp) left the publisher: wraps its transport's send."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}

    def wrap(self, transport: Any) -> None:
        send = transport._send_rtp

        async def timed(data: bytes) -> None:
            if len(data) >= 12 and not 192 <= data[1] <= 208 and data[1] & 0x80:
                self.at[int.from_bytes(data[4:8], "big")] = time.monotonic()
            await send(data)

        transport._send_rtp = timed


class Received:
    def __init__(self) -> None:
        self.frames: list[tuple[int, float]] = []

    async def on_rtp(self, data: bytes, arrival_time_ms: int) -> None:
        if len(data) >= 12 and data[1] & 0x80:
            self.frames.append((int.from_bytes(data[4:8], "big"), time.monotonic()))


def latencies(sent: Sent, received: Received) -> list[float]:
    """Per frame, receive minus send. The subscriber's timestamps are the publisher's plus a
    constant (the SFU rewrites them). Every received frame agrees with every offset that pairs
    it with a frame sent shortly before it; frames are 33 ms apart, so of the offsets nearly
    all frames agree on, the true one gives the smallest delays."""
    offsets: Counter[int] = Counter()
    for ts, at in received.frames[:200]:
        for sent_ts, sent_at in sent.at.items():
            if 0 <= at - sent_at < 0.5:
                offsets[(ts - sent_ts) & 0xFFFFFFFF] += 1
    if not offsets:
        return []
    top = offsets.most_common(1)[0][1]
    candidates = [o for o, n in offsets.items() if n >= 0.8 * top]
    return min((_delays(sent, received, o) for o in candidates), key=statistics.median)


def _delays(sent: Sent, received: Received, offset: int) -> list[float]:
    out = []
    for ts, at in received.frames:
        sent_at = sent.at.get((ts - offset) & 0xFFFFFFFF)
        if sent_at is not None:
            out.append(at - sent_at)
    return out or [float("inf")]


class Subscriber(HearingClient):
    def __init__(self, base_url: str, token: str) -> None:
        super().__init__(base_url, token)
        self.received = Received()
        self._counting = False

    def _on_track(self, track: MediaStreamTrack) -> None:
        pc = self._subscribe_pc
        if not self._counting and pc is not None:
            count_incoming(pc.getTransceivers()[0].receiver.transport, self.received)  # type: ignore[arg-type]
            self._counting = True


async def through_ecourt(seconds: float, subscribers: int, workdir: Path) -> list[float]:
    api_key = secrets.token_urlsafe(24)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "ECOURT_API_KEY": api_key,
        "ECOURT_TOKEN_KEY": secrets.token_urlsafe(32),
        "ECOURT_DATA_DIR": str(workdir / "data"),
        "ECOURT_KEYRING": str(workdir / "keyring.json"),
    }
    argv = [sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = ServerProcess(argv, env, workdir / "ecourt.log")
    await server.start(f"{base}/healthz")
    clients: list[HearingClient] = []
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        async with aiohttp.ClientSession(headers=headers) as http:
            body = {
                "type": "trial",
                "case_number": "LAT-1",
                "title": "Latency",
                "public": False,
                "scheduled_at": "2026-11-29T09:00:00+07:00",
            }
            async with http.post(f"{base}/api/hearings", json=body) as r:
                hid = (await r.json())["id"]

            async def token(role: str, name: str) -> str:
                grant = {"role": role, "display_name": name, "ttl_seconds": 3600}
                async with http.post(f"{base}/api/hearings/{hid}/tokens", json=grant) as r:
                    return str((await r.json())["token"])

            judge = HearingClient(base, await token("presiding_judge", "Judge"))
            clients.append(judge)
            await judge.connect()
            viewers = []
            for n in range(subscribers):
                viewer = Subscriber(base, await token("clerk" if n == 0 else "observer", f"V{n}"))
                clients.append(viewer)
                await viewer.connect()
                if viewer.admission == "waiting":
                    await judge.wait_for_waiting(viewer.participant["id"])
                    await judge.admit(viewer.participant["id"])
                viewers.append(viewer)
            sent = Sent()
            await judge.publish(ClipTrack(encode_clip()))
            assert judge._publish_pc is not None
            sent.wrap(judge._publish_pc.getSenders()[0].transport)
            await asyncio.sleep(seconds)
            return [x for v in viewers for x in latencies(sent, v.received)]
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        await server.stop()


async def direct(seconds: float) -> list[float]:
    sender, receiver = (
        RTCPeerConnection(loopback_configuration()),
        RTCPeerConnection(loopback_configuration()),
    )
    sent, received = Sent(), Received()
    try:
        sender.addTransceiver(ClipTrack(encode_clip()), direction="sendonly")
        transceiver = receiver.addTransceiver("video", direction="recvonly")
        count_incoming(transceiver.receiver.transport, received)  # type: ignore[arg-type]
        await receiver.setLocalDescription(await receiver.createOffer())
        await sender.setRemoteDescription(
            RTCSessionDescription(receiver.localDescription.sdp, "offer")
        )
        await sender.setLocalDescription(await sender.createAnswer())
        await receiver.setRemoteDescription(
            RTCSessionDescription(sender.localDescription.sdp, "answer")
        )
        sent.wrap(sender.getSenders()[0].transport)
        await asyncio.sleep(seconds)
        return latencies(sent, received)
    finally:
        await sender.close()
        await receiver.close()


def percentiles(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 3),
        "p99_ms": round(cuts[98] * 1000, 3),
        "frames": len(ordered),
    }


async def run(seconds: float, subscribers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        ecourt = percentiles(await through_ecourt(seconds, subscribers, Path(directory)))
    base = percentiles(await direct(seconds))
    added = {
        "p50_ms": round(ecourt["p50_ms"] - base["p50_ms"], 3),
        "p99_ms": round(ecourt["p99_ms"] - base["p99_ms"], 3),
    }
    print(f"{'path':<10}{'p50 ms':>9}{'p99 ms':>9}{'frames':>8}")
    for name, row in (("ecourt", ecourt), ("direct", base)):
        print(f"{name:<10}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['frames']:>8}")
    print(f"added by the SFU: p50 {added['p50_ms']:.2f} ms, p99 {added['p99_ms']:.2f} ms")
    return {"ecourt": ecourt, "direct": base, "added": added, "subscribers": subscribers}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--subscribers", type=int, default=4)
    args = parser.parse_args(argv)
    if not loopback_only():
        print("run inside the loopback-only namespace: bash tools/in-netns ...", file=sys.stderr)
        return 2
    print(json.dumps(asyncio.run(run(args.seconds, args.subscribers))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
