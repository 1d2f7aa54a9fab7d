"""The court's state written through to its store: the newest snapshot, and nothing once the
session has closed its persister (the shutdown's own changes are not the court's state)."""

from __future__ import annotations

from typing import Any

from signaling.persistence import StatePersister
from signaling.store import MemoryHearingStateStore


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
