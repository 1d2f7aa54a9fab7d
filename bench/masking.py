# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""What one masked variant costs: CPU per masked 640x480 video track at 30 fps, and the
latency it adds against forwarding the same track.

    .venv/bin/python bench/masking.py [--seconds 10] [--screening pixelate] [--width 640]

A moving high-detail picture is encoded to VP8 beforehand (that cost is the publisher's, not
the server's). Then, paced in real time at `--fps`, its RTP packets enter a `PublishedTrack`
exactly as the publish leg hands them over, twice: once with nothing but a forwarding tap
(the baseline), once with a `MaskedVariant` (decode, screen, re-encode, packetize). It
reports the process's CPU time per second of video above the baseline (cores), and the
latency from a picture's last packet in to its masked picture's last packet out (median and
95th percentile) against forwarding's. Also the voice: CPU per masked Opus track. Prints a
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
import statistics
import time
from fractions import Fraction

import av
import numpy as np
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder

from media.forwarder import PublishedTrack
from media.masking import MaskedVariant
from media.masking_transforms import MaskSpec
from media.rtp import RTP_HEADER, ParsedRtp


async def _no_keyframe(_ssrc: int) -> None:
    return None


def _track(kind: str) -> PublishedTrack:
    video = kind == "video"
    return PublishedTrack(
        track_id=f"bench-{kind}",
        source="p_bench_witness",
        kind=kind,
        mime_type="video/VP8" if video else "audio/opus",
        clock_rate=90_000 if video else 48_000,
        payload_type=96 if video else 111,
        ssrc=1234,
        extension_ids={},
        request_keyframe=_no_keyframe,
    )


def encoded_video(width: int, height: int, fps: int, frames: int) -> list[tuple[int, list[bytes]]]:
    """(RTP timestamp, payloads) of a moving checkerboard with noise, encoded once."""
    encoder = Vp8Encoder()
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(7)
    out = []
    for i in range(frames):
        cells = (((x + 2 * i) // 6 + (y + i) // 6) % 2).astype(np.uint8)
        image = np.stack([cells * 200, cells * 60 + 40, 255 - cells * 200], axis=-1)
        image = np.clip(image + rng.integers(0, 24, image.shape), 0, 255).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(image, "rgb24")
        frame.pts, frame.time_base = i * 90_000 // fps, Fraction(1, 90_000)
        payloads, timestamp = encoder.encode(frame, force_keyframe=i == 0)
        out.append((timestamp, payloads))
    return out


def encoded_voice(frames: int) -> list[tuple[int, list[bytes]]]:
    encoder = OpusEncoder()
    out = []
    for i in range(frames):
        t = (i * 960 + np.arange(960)) / 48_000
        pcm = (0.3 * 32767 * np.sin(2 * np.pi * 180 * t * (1 + 0.1 * np.sin(t)))).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48_000, i * 960, Fraction(1, 48_000)
        payloads, _ = encoder.encode(frame)
        out.append((i * 960, payloads))
    return out


def packets(stream: list[tuple[int, list[bytes]]], video: bool) -> list[list[ParsedRtp]]:
    seq = 0
    pictures = []
    for timestamp, payloads in stream:
        picture = []
        for i, payload in enumerate(payloads):
            seq += 1
            marker = 1 if video and i == len(payloads) - 1 else 0
            header = RTP_HEADER.pack(0x80, (marker << 7) | 96, seq & 0xFFFF, timestamp, 1234)
            data = header + payload
            picture.append(
                ParsedRtp(data, marker, 96, seq & 0xFFFF, timestamp, 1234, {}, 12, len(data))
            )
        pictures.append(picture)
    return pictures


async def run(
    pictures: list[list[ParsedRtp]], interval: float, kind: str, spec: MaskSpec | None
) -> dict[str, float]:
    """Feed the pictures in real time; CPU seconds used and latencies (ms) per picture."""
    original = _track(kind)
    fed: dict[int, float] = {}
    out: dict[int, float] = {}
    if spec is None:
        original.add_tap(
            lambda p: (
                out.__setitem__(p.timestamp, time.perf_counter())
                if p.marker or kind == "audio"
                else None
            )
        )
        variant = None
    else:
        variant = MaskedVariant(original, spec)
        variant.start()
        variant.track.add_tap(
            lambda p: (
                out.__setitem__(p.timestamp, time.perf_counter())
                if p.marker or kind == "audio"
                else None
            )
        )
    start_cpu, start = time.process_time(), time.perf_counter()
    for i, picture in enumerate(pictures):
        wait = start + i * interval - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        for packet in picture:
            original.handle(packet)
        fed[picture[-1].timestamp] = time.perf_counter()
    await asyncio.sleep(0.5)  # the last pictures out of the thread
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start
    if variant is not None:
        variant.close()
    latencies = [(out[t] - fed[t]) * 1000 for t in fed if t in out]
    latencies.sort()
    return {
        "cpu_s": cpu,
        "wall_s": wall,
        "pictures_in": len(fed),
        "pictures_out": len(latencies),
        "latency_median_ms": statistics.median(latencies) if latencies else float("nan"),
        "latency_p95_ms": latencies[int(0.95 * (len(latencies) - 1))]
        if latencies
        else float("nan"),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--screening", default="pixelate")
    args = parser.parse_args()
    frames = int(args.seconds * args.fps)
    print(f"encoding {frames} frames of {args.width}x{args.height} beforehand ...", flush=True)
    video = packets(encoded_video(args.width, args.height, args.fps, frames), video=True)
    voice = packets(encoded_voice(int(args.seconds * 50)), video=False)
    base = await run(video, 1 / args.fps, "video", None)
    masked = await run(video, 1 / args.fps, "video", MaskSpec(args.screening))
    voice_base = await run(voice, 0.02, "audio", None)
    voice_masked = await run(voice, 0.02, "audio", MaskSpec("hidden", 0.75, 1.1))
    cores = (masked["cpu_s"] - base["cpu_s"]) / masked["wall_s"]
    voice_cores = (voice_masked["cpu_s"] - voice_base["cpu_s"]) / voice_masked["wall_s"]
    added = masked["latency_median_ms"] - base["latency_median_ms"]
    added_p95 = masked["latency_p95_ms"] - base["latency_p95_ms"]
    rows = [
        ("CPU (cores)", base["cpu_s"] / base["wall_s"], masked["cpu_s"] / masked["wall_s"]),
        ("latency median (ms)", base["latency_median_ms"], masked["latency_median_ms"]),
        ("latency p95 (ms)", base["latency_p95_ms"], masked["latency_p95_ms"]),
        ("pictures out", base["pictures_out"], masked["pictures_out"]),
    ]
    print(f"{'':28}{'forwarding':>12}{'masked':>12}")
    for label, plain, with_mask in rows:
        print(f"{label:28}{plain:>12.3f}{with_mask:>12.3f}")
    print(f"masked video: {cores:.3f} cores added, {added:.1f} ms added (p95 {added_p95:.1f})")
    voice_ms = voice_masked["latency_median_ms"]
    print(f"masked voice: {voice_cores:.3f} cores added, {voice_ms:.1f} ms median")
    summary = {
        "bench": "masking",
        "width": args.width,
        "height": args.height,
        "fps": args.fps,
        "seconds": args.seconds,
        "screening": args.screening,
        "video_cores_added": round(cores, 4),
        "video_latency_added_median_ms": round(added, 2),
        "video_latency_added_p95_ms": round(added_p95, 2),
        "video_pictures_out": masked["pictures_out"],
        "video_pictures_in": masked["pictures_in"],
        "voice_cores_added": round(voice_cores, 4),
        "voice_latency_median_ms": round(voice_masked["latency_median_ms"], 2),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main())
