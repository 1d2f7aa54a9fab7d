"""A crash loses at most the chunk in progress, and what was written verifies as incomplete.

A child process seals a deterministic stream through `SealedWriter` (fsync off, every chunk
flushed to the OS) in small writes, and reports after each write how many bytes it has handed
over and when. The test kills it with SIGKILL at several points. Then:

- the file opens with `allow_incomplete=True`: every chunk authenticates, `complete` is False;
- the plaintext is exactly the first bytes of the stream;
- nothing older than `chunk_seconds` before the child's last report is lost: the writer seals
  the buffer once its oldest byte is that old, so only what came in the last `chunk_seconds`
  may still have been in memory.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from security import DataKey, open_sealed, verify_sealed

CHUNK_BYTES = 64 * 1024
CHUNK_SECONDS = 0.05
STREAM_BYTES = 8 * 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import io, random, sys, time
from security import DataKey, SealedWriter, SealHeader

path, seed, chunk_bytes, chunk_seconds, size = sys.argv[1:]
stream = random.Random(int(seed)).randbytes(int(size))
pieces = random.Random(int(seed) + 1)
key = DataKey.generate("k1")
sys.stdout.write(key.secret.value.hex() + "\\n")
sys.stdout.flush()
header = SealHeader("rec-crash", "h_hearing1", "p_judge001/audio", 0, "k1",
                    key.new_nonce_prefix())
with open(path, "wb") as sink:
    writer = SealedWriter(sink, key, header, chunk_bytes=int(chunk_bytes),
                          chunk_seconds=float(chunk_seconds), fsync=False)
    total = 0
    while total < len(stream):
        size = pieces.randint(1, 600)
        writer.write(stream[total : total + size])
        total = min(total + size, len(stream))
        sys.stdout.write(f"{total} {time.monotonic()!r}\\n")
        sys.stdout.flush()
        time.sleep(0.0005)
    writer.close()
"""


def run_and_kill(path: Path, seed: int, kill_after: int) -> tuple[bytes, list[tuple[int, float]]]:
    """Start the child, SIGKILL it once it reports `kill_after` bytes; its key and reports."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(path),
            str(seed),
            str(CHUNK_BYTES),
            str(CHUNK_SECONDS),
            str(STREAM_BYTES),
        ],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    try:
        assert child.stdout is not None
        key = bytes.fromhex(child.stdout.readline().strip())
        reports: list[tuple[int, float]] = []
        for line in child.stdout:
            total, when = line.split()
            reports.append((int(total), float(when)))
            if reports[-1][0] >= kill_after:
                os.kill(child.pid, signal.SIGKILL)
                break
        rest = child.stdout.read()  # reports written before the kill landed
        for line in rest.splitlines(keepends=True):
            if line.endswith("\n"):
                total, when = line.split()
                reports.append((int(total), float(when)))
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, "the child finished before it was killed"
    return key, reports


# A handful of kill points, drawn once at random between 0.1 MB and 0.5 MB of stream.
_DRAW = random.Random(2026)
KILL_POINTS = sorted(_DRAW.randint(100_000, 500_000) for _ in range(5))


@pytest.mark.parametrize("kill_after", KILL_POINTS)
def test_a_killed_writer_leaves_an_authenticated_prefix_missing_only_the_last_moments(
    tmp_path: Path, kill_after: int
) -> None:
    seed = kill_after
    path = tmp_path / "seg-0.sealed"
    raw_key, reports = run_and_kill(path, seed, kill_after)
    key = DataKey.from_bytes("k1", raw_key)
    stream = random.Random(seed).randbytes(STREAM_BYTES)

    sealed = path.read_bytes()
    opened = open_sealed(sealed, {"k1": key}.__getitem__, allow_incomplete=True)
    assert not opened.complete
    recovered = opened.plaintext
    assert recovered == stream[: len(recovered)]
    verified = verify_sealed(path, {"k1": key}.__getitem__, allow_incomplete=True)
    assert verified.plaintext_bytes == len(recovered)
    assert verified.torn_tail_bytes == opened.torn_tail_bytes

    _, last_time = reports[-1]
    settled = [total for total, when in reports if when <= last_time - CHUNK_SECONDS]
    must_have = settled[-1] if settled else 0
    assert len(recovered) >= must_have, (
        f"lost {must_have - len(recovered)} bytes that were more than {CHUNK_SECONDS}s old"
    )
    assert must_have > 0, "the child was killed too early for the bound to say anything"
