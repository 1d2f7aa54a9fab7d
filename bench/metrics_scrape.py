# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""What a Prometheus scrape of `/metrics` costs a node in a hearing, and what it answers.

    bash tools/in-netns .venv/bin/python bench/metrics_scrape.py [--parties 4 --scrapes 200]

A real server in this process, a presiding judge and PARTIES parties (aiortc clients, test
pattern video and tone) publishing to each other in session; then SCRAPES scrapes over HTTP,
one after the other. Prints the time per scrape (wall and this process's CPU, which carries
the forwarding too), the collector's own time per collect, the body's size, and the media
counters, then as its last line a JSON summary. Figures, not assertions.
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

import aiohttp
from aiohttp import web
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from prometheus_client import generate_latest

from security import Secret
from signaling.client import HearingClient
from web.app import create_app
from web.cli import new_event_loop
from web.keys import ENGINE, METRICS
from web.settings import Settings

API_KEY = "bench-api-key-0123456789"
METRICS_KEY = "bench-metrics-key-0123456789"


async def run(parties: int, scrapes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            host="127.0.0.1",
            port=18181,
            api_key=Secret(API_KEY.encode()),
            api_key_generated=False,
            token_key=Secret(b"b" * 32),
            data_dir=Path(tmp) / "data",
            keyring_path=Path(tmp) / "keyring.json",
            metrics_key=Secret(METRICS_KEY.encode()),
        )
        app = create_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", settings.port).start()
        clients: list[HearingClient] = []
        base = settings.base_url
        auth = {"Authorization": f"Bearer {API_KEY}"}
        try:
            async with aiohttp.ClientSession() as http:
                body = {
                    "type": "trial",
                    "case_number": "01/2026/DS-ST",
                    "title": "Bench v. Scrape",
                    "scheduled_at": "2026-11-29T09:00:00+07:00",
                    "public": False,
                }
                async with http.post(f"{base}/api/hearings", json=body, headers=auth) as r:
                    hearing = await r.json()
                roles = ("plaintiff", "respondent", "party_lawyer", "interpreter", "expert")
                cast = [("presiding_judge", "Judge")]
                cast += [(roles[i % len(roles)], f"Party {i}") for i in range(parties)]
                url = f"{base}/api/hearings/{hearing['id']}/tokens"
                for role, name in cast:
                    issue = {"role": role, "display_name": name}
                    async with http.post(url, json=issue, headers=auth) as r:
                        token = (await r.json())["token"]
                    client = HearingClient(base, token)
                    clients.append(client)
                    await client.connect()
                judge = clients[0]
                for party in clients[1:]:
                    await judge.wait_for_waiting(party.participant["id"])
                    await judge.admit(party.participant["id"])
                    await party.wait_admitted()
                await judge.request("phase", {"phase": "in_session"})
                for client in clients:
                    await client.publish(VideoStreamTrack(), AudioStreamTrack())
                await judge.wait_for_track(clients[-1].participant["id"], "video")
                await asyncio.sleep(3)

                headers = {"Authorization": f"Bearer {METRICS_KEY}"}
                walls, size = [], 0
                cpu0 = time.process_time()
                for _ in range(scrapes):
                    started = time.perf_counter()
                    async with http.get(f"{base}/metrics", headers=headers) as r:
                        size = len(await r.read())
                    walls.append(time.perf_counter() - started)
                cpu = (time.process_time() - cpu0) / scrapes
                registry = app[METRICS].registry
                collect0 = time.perf_counter()
                for _ in range(scrapes):
                    generate_latest(registry)
                collect = (time.perf_counter() - collect0) / scrapes
                totals = app[ENGINE].totals()
                streams = app[ENGINE].forwarded_streams
        finally:
            await asyncio.gather(*(c.close() for c in clients))
            await runner.cleanup()
    return {
        "participants": float(parties + 1),
        "scrape_wall_ms_median": statistics.median(walls) * 1000,
        "scrape_wall_ms_p95": sorted(walls)[int(0.95 * len(walls))] * 1000,
        "process_cpu_ms_per_scrape": cpu * 1000,
        "collect_and_render_ms": collect * 1000,
        "body_bytes": float(size),
        "forwarded_packets": float(totals.packets_forwarded),
        "forwarded_streams_now": float(streams),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=4)
    parser.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args()
    loop = new_event_loop("uvloop")
    result = loop.run_until_complete(run(args.parties, args.scrapes))
    loop.close()
    for name, value in result.items():
        print(f"{name:28} {value:12.3f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
