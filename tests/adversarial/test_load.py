"""Floods and idle sockets against one hearing while another hearing is timed.

The attacker runs in its own process (tests/adversarial/attacker.py): five admitted
parties' links send 1,000 messages a second for 10 s (coming straight back whenever they
are closed), and 500 engine.io connections never present a token. Meanwhile a bystander
hearing on the same server keeps giving orders, each timed until its ack and until the other
side's roster shows it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from signaling.server import AUTH_TIMEOUT
from tests.adversarial.support import (
    admit,
    assert_unharmed,
    bystander_running,
    raise_fd_limit,
    wire_person,
)
from tests.adversarial.wire import WireSocket
from tests.conftest import RunningServer
from web.keys import AUDIT

FLOOD_RATE = 1000
FLOOD_SECONDS = 10.0
FLOODERS = 5
LINKS = 100
IDLE_SOCKETS = 500
ROOT = Path(__file__).resolve().parents[2]


async def run_attacker(plan: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
    """Run the attacker process with `plan`; return its report."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.adversarial.attacker",
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(json.dumps(plan).encode()), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, err.decode()[-3000:]
    report: dict[str, Any] = json.loads(out)
    return report


async def admitted_links(server: RunningServer, hearing_id: str, count: int) -> list[str]:
    """Tokens of parties admitted once (admission outlives a connection). A judge admits at
    most 40 (the burst of the rate limit); then a fresh clerk takes over."""
    tokens: list[str] = []
    while len(tokens) < count:
        clerk, _ = await wire_person(server, hearing_id, "clerk", "Clerk Pham")
        try:
            for _ in range(min(40, count - len(tokens))):
                issued = await server.issue_token(hearing_id, "plaintiff", "Flooder")
                party = await WireSocket.open(server.session, server.base_url)
                await party.opened()
                await party.authenticate(issued["token"])
                await party.call("join", {})
                await admit(clerk, issued["participant_id"])
                await party.close()
                tokens.append(issued["token"])
        finally:
            await clerk.close()
    return tokens


async def test_a_flood_and_500_idle_sockets_leave_another_hearing_unharmed(
    server: RunningServer,
) -> None:
    raise_fd_limit(4 * IDLE_SOCKETS + 1024)  # the server's end of every idle socket
    abused = await server.create_hearing(case_number="13/2026/DS-ST", title="Abused")
    hid = abused["id"]
    plan = {
        "base_url": server.base_url,
        "tokens": await admitted_links(server, hid, LINKS),
        "flooders": FLOODERS,
        "rate": FLOOD_RATE,
        "seconds": FLOOD_SECONDS,
        "idle": IDLE_SOCKETS,
        "idle_wait": AUTH_TIMEOUT + 10,
    }
    async with bystander_running(server) as bystander:
        await asyncio.sleep(0.5)  # the bystander's rhythm before the abuse
        report = await run_attacker(plan)
    assert_unharmed(bystander, "flood + 500 idle sockets", minimum=50)

    lifetimes = report.pop("idle_lifetimes")
    print(f"[attacker] {report}")
    print(f"[idle] closed by the server after {min(lifetimes):.1f}-{max(lifetimes):.1f} s")
    sent = report["sent"]
    assert sent >= 0.95 * FLOOD_RATE * FLOOD_SECONDS, report
    assert report["closed_as_abuse"] >= FLOODERS, report
    acks = report["acks"]
    # what got through is what the limits allow: a burst of 50 per connection, then 20/s
    allowed = 50 * report["connections"] + 20 * FLOODERS * FLOOD_SECONDS
    assert acks.get("ok", 0) <= allowed, report
    assert acks.get("rate_limited", 0) > 0, report
    assert set(acks) <= {"ok", "rate_limited", "bad_request"}, report  # never internal
    assert report["idle_opened"] == report["idle_closed_by_server"] == IDLE_SOCKETS, report
    assert min(lifetimes) >= AUTH_TIMEOUT - 1.0, lifetimes

    entries = [json.loads(e) for e in server.app[AUDIT].path(hid).read_text().splitlines()]
    abuse = [e for e in entries if (e.get("action"), e.get("result")) == ("leave", "abuse")]
    assert len(abuse) == report["closed_as_abuse"]
