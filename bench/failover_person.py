# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""One person of `bench/failover.py` in a process of their own, as each person of a hearing
has a computer of their own: an aiortc client that joins, publishes a small camera and a
microphone, and rejoins whichever node hosts the hearing after a failure.

It writes one JSON line to stdout per event, with `at` on the machine's monotonic clock
(CLOCK_MONOTONIC, the same in every process): `placed` (the node it is connected to),
`ready` (it receives media), `rejoined` (connected again, with `dropped_at` and why earlier
attempts were refused), `back` (it receives media again on its new connection).

    python bench/failover_person.py ENTRY OTHER TOKEN [--admit ID,ID --sit]
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
import time

from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from av import VideoFrame

from signaling.client import HearingClient

LOOK_EVERY = 0.05


class SmallVideo(VideoStreamTrack):
    """A 160x120 blank picture: the person's own encoder stays cheap."""

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=160, height=120)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.pts = pts
        frame.time_base = time_base
        return frame


def say(event: str, **details: object) -> None:
    print(json.dumps({"event": event, "at": time.monotonic(), **details}), flush=True)


async def receiving(client: HearingClient) -> bool:
    counts = await client.packets_received()
    return any(n > 0 for who, n in counts.items() if who != "unlabelled")


async def attend(entry: str, other: str, token: str, admit: list[str], sit: bool) -> None:
    client = HearingClient(entry, token, rejoin_within=60, other_nodes=[other])
    await client.connect()
    try:
        for participant_id in admit:  # the judge lets the parties in
            await client.wait_for_waiting(participant_id, timeout=60)
            await client.admit(participant_id)
        if not admit:
            await client.wait_admitted(timeout=120)
        if sit:
            await client.request("phase", {"phase": "in_session"})
        await client.publish(SmallVideo(), AudioStreamTrack())
        while True:
            if await receiving(client):
                break
            await asyncio.sleep(LOOK_EVERY)
        say("placed", url=client.base_url)
        say("ready")
        rejoins, url = client.rejoins, client.base_url
        while True:
            await asyncio.sleep(LOOK_EVERY)
            if client.base_url != url:
                url = client.base_url
                say("placed", url=url)
            if client.rejoins == rejoins:
                continue
            rejoins = client.rejoins
            say(
                "rejoined",
                dropped_at=client.dropped_at,
                rejoined_at=client.rejoined_at,
                refusals=dict(client.rejoin_refusals),
            )
            client.rejoin_refusals.clear()
            while client.rejoins == rejoins:
                if await receiving(client):
                    say("back", rejoins=rejoins)
                    break
                await asyncio.sleep(LOOK_EVERY)
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("entry")
    parser.add_argument("other")
    parser.add_argument("token")
    parser.add_argument("--admit", default="", help="participant ids to admit (the judge)")
    parser.add_argument("--sit", action="store_true", help="open the session (the judge)")
    args = parser.parse_args()
    admit = [p for p in args.admit.split(",") if p]
    asyncio.run(attend(args.entry, args.other, args.token, admit, args.sit))


if __name__ == "__main__":
    main()
