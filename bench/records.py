# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""What a durable write of the court's state costs in the embedded store (SQLite, WAL,
synchronous=FULL, its own writer thread), as an order waits for it before its acknowledgement.

    .venv/bin/python bench/records.py [--writes 300] [--dir PATH]

Each write is one `SqliteHearingStateStore.save` of a snapshot the size of a ten-person
hearing's, awaited from the event loop, one after the other (as one hearing's orders are); then
the same number of writes from eight hearings at once. `--dir` puts the file on the disk to
measure (default: a temporary directory). Prints the figures, then as its last line a JSON
summary.
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
import tempfile
import time
from typing import Any

from signaling.sqlite_store import Database, SqliteHearingStateStore


def snapshot(n: int) -> dict[str, Any]:
    people = [f"p_{i:08d}" for i in range(10)]
    return {
        "lobby": {"admissions": dict.fromkeys(people, "admitted"), "order": []},
        "court": {
            "phase": "in_session",
            "rooms": {p: ["courtroom", "courtroom"] for p in people},
            "linked": [],
            "forced_mute": {},
            "floor": people[:1],
            "hands": [],
            "screen_grants": [],
            "n": n,
        },
        "livestream": "off",
    }


async def one_hearing(store: SqliteHearingStateStore, writes: int) -> list[float]:
    took = []
    for n in range(writes):
        start = time.perf_counter()
        await store.save("h_bench0001", snapshot(n))
        took.append(time.perf_counter() - start)
    return took


async def main(writes: int, directory: Path) -> dict[str, Any]:
    database = Database.in_data_dir(directory)
    store = SqliteHearingStateStore(database)
    try:
        alone = await one_hearing(store, writes)
        start = time.perf_counter()
        await asyncio.gather(
            *(
                store.save(f"h_bench{h:04d}", snapshot(n))
                for n in range(writes // 8)
                for h in range(8)
            )
        )
        together = time.perf_counter() - start
    finally:
        await database.close()
    ms = sorted(t * 1000 for t in alone)
    return {
        "writes": writes,
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[int(0.95 * len(ms)) - 1], 2),
        "max_ms": round(ms[-1], 2),
        "eight_hearings_writes_per_s": round((writes // 8) * 8 / together),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecourt-records-") as scratch:
        summary = asyncio.run(main(args.writes, args.dir or Path(scratch)))
    print(
        f"one hearing, one write after another: median {summary['median_ms']} ms,"
        f" p95 {summary['p95_ms']} ms, max {summary['max_ms']} ms"
    )
    print(f"eight hearings at once: {summary['eight_hearings_writes_per_s']} writes a second")
    print(json.dumps(summary))
