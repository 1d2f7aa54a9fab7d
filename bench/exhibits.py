# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""What an exhibit upload costs the server: memory and time for a large upload through the
real app, and the time its checks take on the bad inputs that cost the most.

    .venv/bin/python bench/exhibits.py [--mib 50]

One server in this process (SQLite records, a temporary data dir); the client sends the file
in 256 KiB pieces without a Content-Length. Memory is Python's traced peak (tracemalloc, over
client and server together, from the first byte sent to the answer) and the process's RSS
growth over the same span (psutil: RSS after the answer less RSS before the first byte, not
the peak between). The file is a valid PDF of `--mib` MiB with one
incompressible stream, so every check runs over all of it. Prints a table, then as its last
line a JSON summary.
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
import tracemalloc
from collections.abc import AsyncIterator

import psutil

from recording.exhibits.content import inspect_bytes
from recording.exhibits.errors import ExhibitRefused
from tests import exhibit_samples as samples
from tests.conftest import running_server

PIECE = 256 * 1024


async def upload_once(mib: int, work: Path) -> dict[str, float]:
    document = samples.big_pdf(mib * 1024 * 1024 - 4096)
    async with running_server(work / "data") as server:
        hearing = (await server.create_hearing())["id"]
        issued = await server.issue_token(hearing, "plaintiff", "A plaintiff")

        async def pieces() -> AsyncIterator[bytes]:
            view = memoryview(document)
            for start in range(0, len(document), PIECE):
                yield bytes(view[start : start + PIECE])

        process = psutil.Process()
        rss_before = process.memory_info().rss
        tracemalloc.start()
        started = time.perf_counter()
        async with server.session.post(
            f"{server.base_url}/api/hearings/{hearing}/exhibits",
            params={"participant_id": issued["participant_id"], "title": "Bench"},
            data=pieces(),
            headers=server.headers,
        ) as response:
            assert response.status == 201, await response.text()
        elapsed = time.perf_counter() - started
        _now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_growth = process.memory_info().rss - rss_before
    return {
        "bytes": float(len(document)),
        "seconds": elapsed,
        "traced_peak_mib": peak / 2**20,
        "rss_growth_mib": rss_growth / 2**20,
    }


def check_seconds(data: bytes, work: Path) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        inspect_bytes(data, work / "check.part")
        verdict = "accepted"
    except ExhibitRefused as refused:
        verdict = refused.code
    return time.perf_counter() - started, verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        upload = asyncio.run(upload_once(args.mib, work))
        checks = {
            "pdf_bomb_300mib": check_seconds(samples.pdf_bomb(), work),
            "png_bomb_30000x30000": check_seconds(samples.png_bomb(), work),
            "zip_bomb_named_png": check_seconds(samples.zip_file(), work),
        }
    size = upload["bytes"] / 2**20
    rate = size / upload["seconds"]
    print(f"upload of {size:.1f} MiB: {upload['seconds']:.2f} s ({rate:.0f} MiB/s)")
    print(f"  traced Python peak  {upload['traced_peak_mib']:.1f} MiB")
    print(f"  RSS growth          {upload['rss_growth_mib']:.1f} MiB")
    for name, (seconds, verdict) in checks.items():
        print(f"check {name:<22} {seconds * 1000:8.1f} ms  {verdict}")
    summary = {
        "upload_mib": round(upload["bytes"] / 2**20, 1),
        "upload_seconds": round(upload["seconds"], 3),
        "traced_peak_mib": round(upload["traced_peak_mib"], 2),
        "rss_growth_mib": round(upload["rss_growth_mib"], 1),
        "checks_ms": {name: round(s * 1000, 1) for name, (s, _v) in checks.items()},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
