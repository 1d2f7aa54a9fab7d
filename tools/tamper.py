"""`make test-tamper`: record a hearing (three participants, video and audio, through the real
recorder, sealing and manifest), then apply MUTATIONS random alterations of its directory
(every class in `tests/tamper_mutations.py`), ask the strong verifier and the export about each,
and print the tally. Exit 1 if any mutation was accepted by verify, exported, or raised anything
but a refusal with a code."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.tamper_mutations import record_hearing
from tests.tamper_runner import draw, run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mutations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the hearing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecourt-tamper-") as tmp:
        recorded = asyncio.run(record_hearing(Path(tmp), seconds=args.seconds))
        segments = len(recorded.paths.segment_ids_on_disk())
        pristine = recorded.bench.verify(recorded.recording_id)
        print(
            f"recorded {recorded.recording_id}: {segments} segments, 6 tracks, "
            f"{args.seconds:.0f} s; pristine verify: {pristine.status}"
        )
        if pristine.status != "valid":
            print(pristine.summary())
            return 1
        started = time.monotonic()
        tally = run(recorded, draw(recorded, args.mutations, args.seed))
        print(tally.summary())
        print(f"took {time.monotonic() - started:.0f} s (seed {args.seed})")
        return 1 if tally.escaped or tally.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
