"""A recorder process for the crash test: records one participant in real time and prints,
after every frame, the last pts written per track, until it is killed with SIGKILL.

    python -m tests.crash_recorder ROOT HEARING_ID
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from hearing.phases import Phase
from security import SigningKey
from tests.media_samples import FPS, OPUS_SAMPLES, opus_frames, vp8_frames
from tests.recording_support import Bench, participant_tracks


async def main(root: Path, hearing_id: str) -> None:
    bench = Bench(root, hearing_id=hearing_id)
    bench.signing_key = SigningKey.load(root / "manifest.key")
    bench.audit_key = SigningKey.load(root / "audit.key")
    recorder = bench.recorder(segment_seconds=1)
    recorder.start("p-judge", Phase.IN_SESSION)
    tracks = participant_tracks(1)
    recorder.sync([c for c, _ in tracks], Phase.IN_SESSION)
    video, audio = vp8_frames(), opus_frames()
    (_, video_out), (_, audio_out) = tracks
    start = time.monotonic()
    print("ready", flush=True)
    audio_sent = 0
    for index in range(10**6):
        video_out.send(video[index % len(video)][0])
        while audio_sent * OPUS_SAMPLES / 48000 <= index / FPS:
            audio_out.send(audio[audio_sent % len(audio)])
            audio_sent += 1
        written = {
            r.entry.kind: r._segment.last_pts_ms
            for r in recorder._tracks.values()
            if r._segment is not None and r._segment.last_pts_ms is not None
        }
        print(" ".join(f"{k}={v}" for k, v in sorted(written.items())), flush=True)
        await asyncio.sleep(max(0.0, start + (index + 1) / FPS - time.monotonic()))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
