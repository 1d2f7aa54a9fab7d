"""A recorder killed with SIGKILL at 20 random moments: every prefix verifies as incomplete
(never invalid), decrypts up to its last whole chunk, and loses at most a second per track."""

from __future__ import annotations

import asyncio
import io
import os
import random
import signal
import sys
from pathlib import Path

import av

from hearing.model import new_hearing_id
from recording.keys import RecordingKeys
from recording.layout import RecordingPaths
from security import SigningKey
from security.sealing import open_sealed
from tests.media_samples import SAMPLES_ENV, save_samples
from tests.recording_support import Bench

KILLS = 20
AT_ONCE = 4
MAX_LOSS_MS = 1000
REPO = Path(__file__).resolve().parents[1]


async def _run_and_kill(root: Path, hearing_id: str, delay: float) -> dict[str, int]:
    env = dict(os.environ, PYTHONPATH=str(REPO), **{SAMPLES_ENV: str(root.parent / "samples")})
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.crash_recorder",
        str(root),
        hearing_id,
        stdout=asyncio.subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    assert child.stdout is not None
    last: dict[str, int] = {}
    try:
        assert (await asyncio.wait_for(child.stdout.readline(), 60)).strip() == b"ready"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        while loop.time() < deadline:
            try:
                line = await asyncio.wait_for(child.stdout.readline(), deadline - loop.time())
            except TimeoutError:
                break
            for field in line.decode().split():
                kind, _, pts = field.partition("=")
                last[kind] = int(pts)
        child.send_signal(signal.SIGKILL)
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()
    return last


def _recovered(bench: Bench, recording_id: str) -> dict[str, int]:
    """The last pts per track kind that the surviving whole chunks give back."""
    paths = RecordingPaths(bench.recordings / recording_id)
    keys = RecordingKeys(paths, bench.keyring)
    best: dict[str, int] = {}
    for segment_id in paths.segment_ids_on_disk():
        opened = open_sealed(
            paths.segment(segment_id).read_bytes(), keys.key_for, allow_incomplete=True
        )
        try:
            container = av.open(io.BytesIO(opened.plaintext), "r")
        except av.FFmpegError:
            continue
        with container:
            kind = container.streams[0].type
            try:
                for packet in container.demux(container.streams[0]):
                    if packet.pts is not None and packet.size:
                        best[kind] = max(best.get(kind, 0), int(packet.pts))
            except av.FFmpegError:
                pass
    return best


async def test_a_recorder_killed_at_random_moments_loses_at_most_a_second_per_track(
    tmp_path: Path,
) -> None:
    rng = random.Random(29112026)
    save_samples(str(tmp_path / "samples"))
    runs = []
    for n in range(KILLS):
        root = tmp_path / f"run{n}"
        root.mkdir()
        SigningKey.generate().save(root / "manifest.key")
        SigningKey.generate().save(root / "audit.key")
        runs.append((root, new_hearing_id(), rng.uniform(0.3, 2.5)))
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(root: Path, hearing_id: str, delay: float) -> dict[str, int]:
        async with gate:
            return await _run_and_kill(root, hearing_id, delay)

    written = await asyncio.gather(*(one(*run) for run in runs))
    for (root, hearing_id, delay), last in zip(runs, written, strict=True):
        bench = Bench(root, hearing_id=hearing_id)
        bench.signing_key = SigningKey.load(root / "manifest.key")
        bench.audit_key = SigningKey.load(root / "audit.key")
        [recording_id] = [p.name for p in bench.recordings.iterdir()]
        report = bench.verify(recording_id)
        assert report.status == "incomplete", (delay, report.summary())
        assert report.crashed is True
        recovered = _recovered(bench, recording_id)
        for kind, pts in last.items():
            lost = pts - recovered.get(kind, 0)  # nothing recovered: all of it was lost
            assert lost <= MAX_LOSS_MS, (kind, delay, lost, report.summary())
