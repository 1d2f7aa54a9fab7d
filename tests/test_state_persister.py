"""The court's state written through to its store: the newest snapshot, and nothing once the
session has closed its persister (the shutdown's own changes are not the court's state)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from signaling.persistence import StatePersister
from signaling.redis_store import RedisHearingStateStore
from signaling.sqlite_store import FILE_NAME, Database, SqliteHearingStateStore
from signaling.store import MemoryHearingStateStore
from tests.conftest import free_port


async def test_the_newest_snapshot_is_written_after_a_change() -> None:
    store = MemoryHearingStateStore()
    state: dict[str, Any] = {"livestream": "closed"}
    persister = StatePersister(store, "h_1", lambda: dict(state))
    persister.changed()
    state["livestream"] = "live"
    persister.changed()
    await persister.flush()
    assert await store.load("h_1") == {"livestream": "live"}
    await persister.close()


async def test_changes_after_close_are_never_written() -> None:
    store = MemoryHearingStateStore()
    state: dict[str, Any] = {"livestream": "live"}
    persister = StatePersister(store, "h_1", lambda: dict(state))
    persister.changed()
    await persister.flush()
    await persister.close()
    state["livestream"] = "closed"  # the node stopping closes the stream
    persister.changed()
    await persister.flush()
    assert await store.load("h_1") == {"livestream": "live"}


async def test_stored_returns_once_the_newest_state_is_on_disk(tmp_path: Path) -> None:
    """What an order's acknowledgement waits for: read back from the file by another
    connection at once, with nothing awaited in between."""
    database = Database.in_data_dir(tmp_path)
    state: dict[str, Any] = {"court": {"phase": "scheduled"}}
    persister = StatePersister(SqliteHearingStateStore(database), "h_1", lambda: dict(state))
    try:
        for phase in ("in_session", "recess"):
            state["court"] = {"phase": phase}
            persister.changed()
            assert await persister.stored()
            with closing(sqlite3.connect(tmp_path / FILE_NAME)) as db:
                row = db.execute("SELECT snapshot FROM hearing_states").fetchone()
            assert json.loads(row[0]) == {"court": {"phase": phase}}
    finally:
        await persister.close()
        await database.close()


async def test_stored_does_not_hold_the_court_up_while_its_store_is_away() -> None:
    """A store that fails is waited for once, then not: the court keeps working through an
    outage, and the newest state is written when the store returns."""
    away = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    persister = StatePersister(RedisHearingStateStore(away), "h_1", lambda: {"n": 1})
    try:
        persister.changed()
        assert not await persister.stored()  # the first attempt failed
        persister.changed()
        assert not await persister.stored()  # known to be failing: no wait
        assert persister.failures >= 1
    finally:
        await persister.close()
        await away.aclose()


async def test_stored_with_nothing_changed_returns_at_once() -> None:
    persister = StatePersister(MemoryHearingStateStore(), "h_1", dict)
    assert await persister.stored()
    await persister.close()
