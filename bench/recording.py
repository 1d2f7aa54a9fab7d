# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""CPU per recorded track: ecourt's recorder (depacketize, mux with PyAV, seal) against the
way aiortc's `MediaRecorder` records (decode every frame, encode it again), in one run.

    .venv/bin/python bench/recording.py [--seconds 60 --tracks 4]

The media are a pre-encoded 640x480 VP8 clip at about 1.5 Mbit/s (30 fps, a keyframe every
2 s) and Opus at 20 ms, packetized as a browser sends them. The packets are fed to published
tracks as fast as the process can take them, once without a recorder (the forwarding path's
own cost) and once with every track recorded and sealed to files; the difference, in process
CPU seconds per second of media, is the recorder's cost per track. The baseline decodes and
re-encodes the same VP8 frames with libvpx, as `MediaRecorder` does, for a shorter stretch.
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
import json
import tempfile
import time
from collections.abc import Iterator
from fractions import Fraction

import av

from bench.clip import FPS, Clip, encode_clip
from hearing.model import new_hearing_id, new_participant_id
from hearing.phases import Phase
from hearing.profiles import HearingRules
from hearing.rooms import COURTROOM
from media.forwarder import PublishedTrack
from media.rtp import ParsedRtp, build_rtp, parse_rtp
from recording.recorder import Candidate, HearingRecorder
from security import AuditLog, MemoryAuditSink, SigningKey
from security.keyring import KeyRing

MAX_PAYLOAD = 1100
OPUS_SAMPLES = 960


async def _no_keyframe(_ssrc: int) -> None:
    return None


def _track(kind: str, n: int) -> PublishedTrack:
    video = kind == "video"
    return PublishedTrack(
        track_id=f"{kind}{n}",
        source=f"p{n}",
        kind=kind,
        mime_type="video/vp8" if video else "audio/opus",
        clock_rate=90_000 if video else 48_000,
        payload_type=96 if video else 111,
        ssrc=1000 + 2 * n + video,
        extension_ids={},
        request_keyframe=_no_keyframe,
    )


def _video_packets(clip: Clip, seconds: float) -> list[list[ParsedRtp]]:
    """Each frame's packets, for `seconds` of the clip in a loop."""
    out, seq = [], 0
    for index in range(int(seconds * FPS)):
        frame = clip.frames[index % len(clip.frames)]
        pieces = [frame[i : i + MAX_PAYLOAD] for i in range(0, len(frame), MAX_PAYLOAD)]
        packets = []
        for p, piece in enumerate(pieces):
            descriptor = b"\x10" if p == 0 else b"\x00"
            last = int(p == len(pieces) - 1)
            data = build_rtp(last, 96, seq & 0xFFFF, index * 3000, 7, b"", descriptor + piece)
            packets.append(parse_rtp(data))
            seq += 1
        out.append(packets)
    return out


def _opus_frames() -> list[bytes]:
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = 48_000, "stereo", "s16"
    frames: list[bytes] = []
    for index in range(50):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=OPUS_SAMPLES)
        frame.planes[0].update(bytes((i * 7 + index) % 256 for i in range(OPUS_SAMPLES * 4)))
        frame.sample_rate, frame.pts = 48_000, index * OPUS_SAMPLES
        frames += [bytes(p) for p in codec.encode(frame)]
    return frames


def _audio_packets(seconds: float) -> list[list[ParsedRtp]]:
    frames = _opus_frames()
    count = int(seconds * 50)
    return [
        [
            parse_rtp(
                build_rtp(1, 111, i & 0xFFFF, i * OPUS_SAMPLES, 9, b"", frames[i % len(frames)])
            )
        ]
        for i in range(count)
    ]


def _feed(tracks: list[PublishedTrack], packets: list[list[ParsedRtp]]) -> float:
    """Feed every track the same packets, frame by frame; returns process CPU seconds."""
    start = time.process_time()
    for frame in packets:
        for track in tracks:
            for packet in frame:
                track.handle(packet)
    return time.process_time() - start


async def _recorded_cost(
    kind: str, count: int, packets: list[list[ParsedRtp]], root: Path
) -> float:
    """CPU seconds to forward `packets` on `count` tracks with every track recorded."""
    keyring = KeyRing.open(root / "keyring.json")
    hearing_id = new_hearing_id()
    audit = AuditLog(hearing_id, MemoryAuditSink(), SigningKey.generate())
    recorder = HearingRecorder(
        hearing_id=hearing_id,
        rules=HearingRules(),
        recordings_dir=root / "recordings",
        keyring=keyring,
        signing_key=SigningKey.generate(),
        audit=audit,
    )
    recorder.start("system", Phase.IN_SESSION)
    tracks = [_track(kind, n) for n in range(count)]
    recorder.sync(
        [Candidate(t, new_participant_id(), "witness", COURTROOM) for t in tracks], Phase.IN_SESSION
    )
    cpu = _feed(tracks, packets)
    start = time.process_time()
    await recorder.close()
    return cpu + time.process_time() - start


def _transcode_cost(clip: Clip, seconds: float) -> float:
    """CPU seconds to decode and re-encode `seconds` of the clip (what MediaRecorder does)."""
    decoder = av.CodecContext.create("vp8", "r")
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 640, 480, "yuv420p"
    encoder.time_base = Fraction(1, FPS)
    encoder.bit_rate = 1_500_000
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    start = time.process_time()
    for index in range(int(seconds * FPS)):
        for frame in decoder.decode(av.Packet(clip.frames[index % len(clip.frames)])):
            frame.pts = index
            encoder.encode(frame.reformat(format="yuv420p"))
    return time.process_time() - start


def _rows(seconds: float, tracks: int) -> Iterator[tuple[str, float]]:
    clip = encode_clip()
    for kind, packets in (
        ("video", _video_packets(clip, seconds)),
        ("audio", _audio_packets(seconds)),
    ):
        bare = _feed([_track(kind, n) for n in range(tracks)], packets)
        with tempfile.TemporaryDirectory() as directory:
            recorded = asyncio.run(_recorded_cost(kind, tracks, packets, Path(directory)))
        yield f"ecourt {kind}", max(0.0, recorded - bare) / seconds / tracks
    baseline_seconds = min(seconds, 10.0)
    yield "transcode video", _transcode_cost(clip, baseline_seconds) / baseline_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="media per track")
    parser.add_argument("--tracks", type=int, default=4, help="tracks recorded at once")
    args = parser.parse_args()
    rows = dict(_rows(args.seconds, args.tracks))
    print(f"{'recorder':<18} {'core per track':>15}")
    for name, cost in rows.items():
        print(f"{name:<18} {cost:>15.5f}")
    ratio = rows["transcode video"] / max(rows["ecourt video"], 1e-9)
    print(f"ecourt records a 1.5 Mbit/s video track {ratio:.0f} times cheaper than transcoding it")
    print(
        json.dumps(
            {
                "core_per_track": rows,
                "video_ratio": ratio,
                "seconds": args.seconds,
                "tracks": args.tracks,
            }
        )
    )


if __name__ == "__main__":
    main()
