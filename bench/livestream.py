# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""The livestream's two costs: one composite encode, and serving its segments over HTTP.

    .venv/bin/python bench/livestream.py [--seconds 10 --people 4 --wrk-seconds 10]

1. **Composite.** `people` participants each send the 640x480 VP8 clip (about 1.5 Mbit/s, 30
   fps) and 20 ms Opus frames; the composite (`media/composite.py`) decodes them, lays out
   a 1280x720 picture at 30 fps with name plates, mixes the sound, and the encoder
   (`recording/livestream/encoder.py`) makes H.264 and AAC and cuts 2 s MPEG-TS segments.
   It runs on the stream's own clock, as fast as the process goes; process CPU seconds (every
   thread, x264's included) per second of stream is the share of a core a live stream needs.
   In the same run: decoding alone (the floor: the tracks are decoded once, here), decoding
   and composing without encoding, and the encode at x264's `veryfast` (the default) and
   `ultrafast` presets.
2. **HTTP.** The real app serves six of those segments from a delay line, pinned to CPU 0;
   Debian's `wrk` on CPU 1 fetches them in turn (and, separately, the playlist); requests per
   second divided by the server's CPU use gives requests per second per core.

Prints tables, then as its last line a JSON summary.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import json
import math
import os
import pickle
import shutil
import subprocess
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import av
import numpy as np
import psutil

from bench.clip import encode_clip
from media.composite import CompositeCore, CompositeSettings, Tile
from media.composite_inputs import AudioInput, VideoInput
from recording.livestream.encoder import EncodedSegment, EncoderSettings, HlsEncoder

HD = CompositeSettings(width=1280, height=720, fps=30)
NAMES = ["Judge Amara Osei", "Jonas Lind", "Maria Rivera", "Daniel Okafor", "Dr Ilse Berg"]
ROLES = ["Presiding judge", "Clerk", "Plaintiff", "Respondent", "Expert"]


class Discard:
    """A `CompositeOutput` that throws the frames away (the composite without an encode)."""

    def video(self, frame: av.VideoFrame) -> None:
        return None

    def audio(self, frame: av.AudioFrame) -> None:
        return None

    def end(self) -> None:
        return None


class Keep:
    """A `SegmentSink` that keeps the segments."""

    def __init__(self) -> None:
        self.segments: list[EncodedSegment] = []

    def segment(self, segment: EncodedSegment) -> None:
        self.segments.append(segment)

    def ended(self) -> None:
        return None


def opus_frames(count: int = 250) -> list[bytes]:
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = 48000, "mono", "s16"
    out: list[bytes] = []
    for n in range(count):  # a voice-like mix of tones, rising and falling
        t = (np.arange(960) + n * 960) / 48000
        wave = 0.2 * np.sin(2 * math.pi * (180 + 60 * np.sin(t)) * t) * (0.6 + 0.4 * np.sin(3 * t))
        frame = av.AudioFrame.from_ndarray(
            (wave * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts, frame.time_base = 48000, n * 960, Fraction(1, 48000)
        out += [bytes(p) for p in codec.encode(frame)]
    return out


def run_composite(
    mode: str, seconds: float, people: int, video: list[bytes], audio: list[bytes]
) -> tuple[float, float, list[EncodedSegment]]:
    """(CPU seconds, wall seconds, segments) for `seconds` of stream in one of the modes:
    `decode`, `compose`, or an x264 preset."""
    keep = Keep()
    if mode == "decode":
        videos = [VideoInput() for _ in range(people)]
        audios = [AudioInput(48000, 0.12) for _ in range(people)]
    else:
        output = (
            Discard() if mode == "compose" else HlsEncoder(HD, EncoderSettings(preset=mode), keep)
        )
        core = CompositeCore(HD, output)
        core.set_tiles(
            [Tile(f"p{i}", NAMES[i % 5], ROLES[i % 5], f"v{i}", f"a{i}") for i in range(people)]
        )
    cpu, wall = time.process_time(), time.perf_counter()
    frames = round(seconds * 30)
    for n in range(frames):
        t = n / 30
        for i in range(people):
            data = video[(n + 7 * i) % len(video)]
            if mode == "decode":
                videos[i].decode(data)
            else:
                core.video_frame(f"v{i}", data)
        for k in range(round(t * 50), round((n + 1) / 30 * 50)):  # Opus: 50 frames a second
            for i in range(people):
                level = -20.0 if (k // 150) % people == i else -60.0  # speakers take turns
                if mode == "decode":
                    audios[i].decode(audio[k % len(audio)])
                    audios[i].take(960)
                else:
                    core.audio_frame(f"a{i}", audio[k % len(audio)], level, t)
        if mode != "decode":
            core.step(t)
    if mode != "decode":
        core.finish(seconds)
    return time.process_time() - cpu, time.perf_counter() - wall, keep.segments


# -- HTTP ------------------------------------------------------------------------------------------


def serve(segments_file: str, port: int) -> None:
    """The real app, with one hearing's delay line holding the given segments (no delay)."""
    from aiohttp import web

    from hearing import Hearing, HearingType
    from security import AuditLog, MemoryAuditSink, SigningKey
    from web.app import create_app
    from web.keys import LIVESTREAMS
    from web.settings import Settings

    with open(segments_file, "rb") as handle:
        segments: list[EncodedSegment] = pickle.load(handle)
    data_dir = Path(tempfile.mkdtemp(prefix="ecourt-bench-"))
    settings = Settings(
        port=port, data_dir=data_dir, keyring_path=data_dir.parent / "bench-kr.json"
    )
    app = create_app(settings)
    hearing = Hearing(
        id="h_benchmarkhearing",
        type=HearingType.TRIAL,
        case_number="01/2026/BENCH",
        title="Benchmark",
        scheduled_at=datetime.now(UTC),
        public=True,
        profile="default",
    )
    audit = AuditLog(hearing.id, MemoryAuditSink(), SigningKey.generate())
    stream = app[LIVESTREAMS].livestream_for(hearing, audit)
    names = [stream.delay_line.add(s, delayed=False) for s in segments]
    print("READY " + " ".join(f"/live/{hearing.id}/{n}.ts" for n in names), flush=True)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def run_wrk(base: str, paths: list[str], seconds: int, pid: int) -> dict[str, Any]:
    listed = ", ".join(json.dumps(p) for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(  # each connection fetches the paths in turn
            f"local paths = {{{listed}}}\nlocal i = 0\n"
            "request = function()\n  i = i % #paths + 1\n"
            "  return wrk.format('GET', paths[i])\nend\n"
        )
    server = psutil.Process(pid)
    before = server.cpu_times()
    started = time.perf_counter()
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", "-c16", f"-d{seconds}s", "-s", script.name, base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    elapsed = time.perf_counter() - started
    after = server.cpu_times()
    os.unlink(script.name)
    lines = out.splitlines()
    requests = float(next(line for line in lines if "Requests/sec" in line).split()[1])
    transfer = next(line for line in lines if "Transfer/sec" in line).split()[1]
    cores = (after.user + after.system - before.user - before.system) / elapsed
    return {"requests_per_s": requests, "server_cores": cores, "transfer": transfer}


def http_bench(segments: list[EncodedSegment], seconds: int) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as handle:
        pickle.dump(segments[:6], handle)
    port = 18000 + os.getpid() % 1000
    server = subprocess.Popen(
        [
            "taskset",
            "-c",
            "0",
            sys.executable,
            __file__,
            "--serve",
            handle.name,
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        paths = line.split()[1:]
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):  # the app listens a moment after it says it is ready
            try:
                with urllib.request.urlopen(base + paths[0]) as response:
                    response.read()
                break
            except OSError:
                time.sleep(0.1)
        playlist = paths[0].rsplit("/", 1)[0] + "/index.m3u8"
        result = {
            "segment_bytes": round(sum(len(s.data) for s in segments[:6]) / 6),
            "segments": run_wrk(base, paths, seconds, server.pid),
            "playlist": run_wrk(base, [playlist], seconds, server.pid),
        }
    finally:
        server.terminate()
        server.wait(10)
        os.unlink(handle.name)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="stream seconds per mode")
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--serve", metavar="SEGMENTS", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    video = list(encode_clip().frames)
    audio = opus_frames()
    print(f"composite {HD.width}x{HD.height} at {HD.fps} fps, {args.people} people sending")
    print(f"640x480 VP8 at 30 fps and Opus; {args.seconds:.0f} s of stream per mode\n")
    print(f"| {'mode':<38} | cores (CPU s per stream s) | wall s per stream s |")
    print(f"|{'-' * 40}|---------------------------:|--------------------:|")
    rows: dict[str, float] = {}
    segments: list[EncodedSegment] = []
    for mode, title in [
        ("decode", "decode only (VP8 + Opus, no picture)"),
        ("compose", "decode + compose + mix (no encode)"),
        ("veryfast", "whole composite, x264 veryfast"),
        ("superfast", "whole composite, x264 superfast"),
        ("ultrafast", "whole composite, x264 ultrafast"),
    ]:
        cpu, wall, made = run_composite(mode, args.seconds, args.people, video, audio)
        rows[mode] = cpu / args.seconds
        segments = segments or made
        print(f"| {title:<38} | {cpu / args.seconds:>26.3f} | {wall / args.seconds:>19.3f} |")
    size = sum(len(s.data) for s in segments) / max(1, len(segments))
    print(
        f"\nsegments: {len(segments)}, mean {size / 1e3:.0f} kB ({size * 8 / 2 / 1e6:.2f} Mbit/s)"
    )
    http = http_bench(segments, args.wrk_seconds)
    if "skipped" not in http:
        for what in ("segments", "playlist"):
            r = http[what]
            per_core = r["requests_per_s"] / max(r["server_cores"], 1e-3)
            r["requests_per_s_per_core"] = round(per_core)
            print(
                f"wrk {what}: {r['requests_per_s']:.0f} req/s, {r['transfer']}/s, server "
                f"{r['server_cores']:.2f} cores: {per_core:.0f} req/s per core"
            )
    summary = {
        "composite_cores": {k: round(v, 3) for k, v in rows.items()},
        "encode_cores_veryfast": round(rows["veryfast"] - rows["compose"], 3),
        "people": args.people,
        "segment_kb": round(size / 1e3),
        "http": http,
        "machine_cores": os.cpu_count(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
