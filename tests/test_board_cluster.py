"""The supervision board across two nodes on Redis: real `ecourt serve` processes sharing a
redis-server of the test's own, a hearing on each, both live on either node's board (the
`/court` namespace, woken across nodes by the cluster bus); then one node killed: its hearing
shows the `node_lost` alert, and once it has moved to the other node, it shows there without
the alert. Socket clients only (no media)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from signaling.board import BoardStore, MemoryBoardStore, court_board
from signaling.client import BoardClient, HearingClient
from signaling.redis_board import RedisBoardStore
from tests.cluster_support import redis_process, schedule, start_node, token, wait_ready

ADMIN_KEY = "court-admin-key-0123456789"


def by_hearing(board: BoardClient) -> dict[str, tuple[str, list[str]]]:
    return {h: (r["node"], r["alerts"]) for h, r in board.hearings.items()}


async def shows(board: BoardClient, what: str, wanted: dict[str, tuple[str, list[str]]]) -> None:
    await board.wait_for(lambda b: by_hearing(b) == wanted or None, what, within=20.0)


async def test_the_board_shows_both_nodes_hearings_live_and_a_killed_nodes_hearing_moving(
    tmp_path: Path,
) -> None:
    clients: list[HearingClient] = []
    boards: list[BoardClient] = []
    with redis_process() as redis:
        env = {"ECOURT_COURT_ADMIN_KEY": ADMIN_KEY}
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
        a = start_node("node-a", tmp_path / "a" / "data", redis.port, "board:", **env)
        b = start_node("node-b", tmp_path / "b" / "data", redis.port, "board:", **env)
        try:
            await asyncio.gather(wait_ready(a.url), wait_ready(b.url))
            for url in (a.url, b.url):  # watching before anything sits
                boards.append(BoardClient(url, key=ADMIN_KEY))
                await boards[-1].connect()
            on_a_board, on_b_board = boards
            async with aiohttp.ClientSession() as session:
                on_a = await schedule(session, a.url, case_number="11/2026/DS-ST")
                on_b = await schedule(session, a.url, case_number="12/2026/DS-ST")
                for url, hearing in ((a.url, on_a), (b.url, on_b)):
                    judge = HearingClient(
                        url, await token(session, url, hearing, "presiding_judge", "Judge")
                    )
                    clients.append(judge)
                    await judge.connect()
                both: dict[str, tuple[str, list[str]]] = {
                    on_a: ("node-a", []),
                    on_b: ("node-b", []),
                }
                for board in boards:  # the same board on either node, as it happens
                    await shows(board, "both", both)
                    assert {name for name, _ in board.events} == {"board", "board_change"}

                b.kill()
                lost = {on_a: ("node-a", []), on_b: ("node-b", ["node_lost"])}
                await shows(on_a_board, "the alert", lost)
                await on_b_board.wait_for(lambda b: b.disconnected or None, "b's board closed")
                # the hearing moves: its judge comes back, through the node that is left
                again = HearingClient(a.url, await token(session, a.url, on_b, "clerk", "Clerk"))
                clients.append(again)
                await again.connect()
                moved: dict[str, tuple[str, list[str]]] = {
                    on_a: ("node-a", []),
                    on_b: ("node-a", []),
                }
                await shows(on_a_board, "moved", moved)
        finally:
            closing = [*(c.close() for c in clients), *(w.close() for w in boards)]
            await asyncio.gather(*closing, return_exceptions=True)
            for node in (a, b):
                if node.process.poll() is None:
                    node.stop()


def row(hearing_id: str, node: str, alerts: list[str] | None = None) -> dict[str, Any]:
    return {"hearing_id": hearing_id, "case_number": "1", "node": node, "alerts": alerts or []}


def test_a_silent_nodes_hearings_are_lost_until_a_live_node_hosts_them() -> None:
    nodes = {
        "a": (100.0, [row("h_one", "a")]),
        "b": (90.0, [row("h_two", "b", ["reference_monitor"]), row("h_three", "b")]),
    }
    board = court_board(nodes, now=100.0, stale_after=4.0)
    assert sorted((r["hearing_id"], r["alerts"]) for r in board) == [
        ("h_one", []),
        ("h_three", ["node_lost"]),
        ("h_two", ["reference_monitor", "node_lost"]),
    ]
    nodes["a"] = (100.0, [row("h_one", "a"), row("h_two", "a")])  # h_two moved to a
    board = court_board(nodes, now=100.0, stale_after=4.0)
    assert sorted((r["hearing_id"], r["node"], r["alerts"]) for r in board) == [
        ("h_one", "a", []),
        ("h_three", "b", ["node_lost"]),
        ("h_two", "a", []),
    ]
    assert court_board(nodes, now=95.0, stale_after=10.0) == sorted(
        [*nodes["a"][1], *nodes["b"][1]], key=lambda r: (r["case_number"], r["hearing_id"])
    )


@pytest.fixture(params=["memory", "redis"])
async def board_store(request: pytest.FixtureRequest) -> AsyncIterator[BoardStore]:
    if request.param == "memory":
        yield MemoryBoardStore()
        return
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"ecourt-test-{secrets.token_hex(6)}:"
    try:
        yield RedisBoardStore(redis, prefix)
    finally:
        await redis.delete(f"{prefix}board")
        await redis.aclose()


async def test_each_node_keeps_its_own_latest_rows_until_it_is_forgotten(
    board_store: BoardStore,
) -> None:
    await board_store.publish("node-a", 10.0, [row("h_one", "node-a")])
    await board_store.publish("node-b", 11.0, [])
    await board_store.publish("node-a", 12.0, [row("h_two", "node-a")])
    assert await board_store.nodes() == {
        "node-a": (12.0, [row("h_two", "node-a")]),
        "node-b": (11.0, []),
    }
    await board_store.forget("node-a")
    await board_store.forget("node-a")
    assert await board_store.nodes() == {"node-b": (11.0, [])}
