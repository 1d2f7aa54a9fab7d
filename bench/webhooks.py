# ruff: noqa: E402  (the project root goes on sys.path before the project's imports)
"""Does a dead webhook endpoint slow a hearing? One hearing's signalling round trips (a
party raising and lowering a hand, acknowledged by the server) are timed with the outbox
empty, then with 200 deliveries queued to a dead endpoint, in two ways:

- `hang`: the endpoint accepts connections and never answers (every attempt runs into the
  timeout; the default policy: 10 s timeout, 16 in flight, 4 to one endpoint, retries from
  5 s);
- `refuse`: nothing listens on its port, and retries are made as fast as the policy allows
  (from 50 ms, at most 200 ms apart): the outbox is written to all the time.

    .venv/bin/python bench/webhooks.py [--requests 200 --rate 15 --deliveries 200]

The server runs in this process (the embedded SQLite records in a temporary data dir), with
the real socket client; no media, so no network namespace is needed. Prints the figures, then
as its last line a JSON summary.
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
import socket
import statistics
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
from aiohttp import web

from security import AuditLog, MemoryAuditSink, Secret, SigningKey
from signaling.client import HearingClient
from signaling.webhook_events import event_for
from signaling.webhooks import WebhookPolicy
from web.app import create_app
from web.cli import new_event_loop
from web.keys import WEBHOOKS
from web.settings import Settings

API_KEY = "bench-api-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
FAST_RETRIES = WebhookPolicy(timeout=10.0, first_retry=0.05, max_retry=0.2, poll=0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def hanging_endpoint() -> tuple[asyncio.Server, str]:
    """Accepts, reads nothing, answers nothing."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/hooks"


async def post(session: aiohttp.ClientSession, url: str, body: Any) -> Any:
    async with session.post(url, json=body, headers=AUTH) as response:
        assert response.status == 201, await response.text()
        return await response.json()


async def seated_hearing(base: str, session: aiohttp.ClientSession) -> list[HearingClient]:
    hearing = await post(
        session,
        f"{base}/api/hearings",
        {
            "type": "trial",
            "case_number": "01/2026/DS-ST",
            "title": "Bench v. Webhooks",
            "scheduled_at": "2026-12-07T09:00:00+07:00",
            "public": False,
        },
    )
    clients = []
    for role, name in (("presiding_judge", "Judge"), ("plaintiff", "Party")):
        issued = await post(
            session,
            f"{base}/api/hearings/{hearing['id']}/tokens",
            {"role": role, "display_name": name},
        )
        client = HearingClient(base, issued["token"])
        await client.connect()
        clients.append(client)
    judge, party = clients
    await judge.wait_for_waiting(party.participant["id"])
    await judge.admit(party.participant["id"])
    await party.wait_admitted()
    await judge.request("phase", {"phase": "in_session"})
    return clients


async def round_trips(party: HearingClient, requests: int, rate: float) -> list[float]:
    took = []
    for n in range(requests):
        start = time.perf_counter()
        await party.request("raise_hand", {"raised": n % 2 == 0})
        took.append(time.perf_counter() - start)
        await asyncio.sleep(max(0.0, 1 / rate - took[-1]))
    return took


def figures(took: list[float]) -> dict[str, float]:
    ms = sorted(t * 1000 for t in took)
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[int(len(ms) * 0.95) - 1], 2),
        "max_ms": round(ms[-1], 2),
    }


async def queue_dead(app: web.Application, url: str, deliveries: int) -> None:
    """`deliveries` events of 20 hearings, queued for a registered dead endpoint."""
    dispatcher = app[WEBHOOKS]
    key = SigningKey.from_secret(Secret(bytes(32)))
    logs = [AuditLog(f"h_benchdead{h:03d}", MemoryAuditSink(), key) for h in range(20)]
    for n in range(deliveries):
        event = event_for(logs[n % 20].record("p_bench0001", "phase", details={"phase": "recess"}))
        if event is None:  # the first entry of each log opens its hearing
            event = event_for(logs[n % 20].record("p_bench0001", "end_hearing"))
        assert event is not None
        await dispatcher.queue(event)
    del url


async def run(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            host="127.0.0.1",
            port=port,
            api_key=Secret(API_KEY.encode()),
            api_key_generated=False,
            token_key=Secret(b"k" * 32),
            data_dir=Path(tmp) / "data",
            keyring_path=Path(tmp) / "keyring.json",
        )
        app = create_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        base = f"http://127.0.0.1:{port}"
        hang, hang_url = await hanging_endpoint()
        results: dict[str, Any] = {}
        try:
            async with aiohttp.ClientSession() as session:
                clients = await seated_hearing(base, session)
                party = clients[1]
                results["empty"] = figures(await round_trips(party, args.requests, args.rate))

                made = await post(session, f"{base}/api/webhooks", {"url": hang_url})
                await queue_dead(app, hang_url, args.deliveries)
                results["hang"] = figures(await round_trips(party, args.requests, args.rate))
                await app[WEBHOOKS].store.remove_endpoint(made["id"])

                app[WEBHOOKS].policy = FAST_RETRIES
                refused_url = f"http://127.0.0.1:{free_port()}/hooks"
                made = await post(session, f"{base}/api/webhooks", {"url": refused_url})
                await queue_dead(app, refused_url, args.deliveries)
                attempts = app[WEBHOOKS].attempts
                results["refuse"] = figures(await round_trips(party, args.requests, args.rate))
                results["refuse"]["attempts"] = app[WEBHOOKS].attempts - attempts
                (backlog,) = await app[WEBHOOKS].store.backlog()
                results["refuse"]["pending_after"] = backlog.pending
                for client in clients:
                    await client.close()
                await asyncio.sleep(0.5)  # the server sees them go
        finally:
            hang.close()
            await runner.cleanup()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rate", type=float, default=15.0, help="requests a second")
    parser.add_argument("--deliveries", type=int, default=200)
    args = parser.parse_args(argv)
    loop = new_event_loop("uvloop")
    try:
        results = loop.run_until_complete(run(args))
    finally:
        loop.close()
    for name, row in results.items():
        print(f"{name:>7}: " + "  ".join(f"{k} {v}" for k, v in row.items()))
    print(json.dumps({"requests": args.requests, "deliveries": args.deliveries, **results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
