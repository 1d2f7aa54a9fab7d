"""The embedded store's file: what survives reopening it, its versioned migrations, and the files
it refuses. The contract every store keeps is in `tests/test_stores.py`."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest

from hearing.model import new_hearing_id, new_participant_id
from security import MalformedAuditLine
from signaling.errors import StoreUnusable
from signaling.sqlite_schema import SCHEMA_VERSION, schema_version
from signaling.sqlite_store import FILE_NAME, Database, SqliteAuditCheckpoints
from signaling.store import hearing_record
from tests.test_redis_persistence import serve
from tests.test_stores import KEY, checkpoints, hearing, link, sqlite_stores

# The schema as version 1 of ecourt wrote it, by hand: hearings and revoked links only.
VERSION_1 = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version (version) VALUES (1)",
    "CREATE TABLE hearings (id TEXT PRIMARY KEY, scheduled_at REAL NOT NULL, record TEXT NOT NULL)",
    "CREATE INDEX hearings_by_time ON hearings (scheduled_at)",
    "CREATE TABLE revoked (hearing_id TEXT NOT NULL, participant_id TEXT NOT NULL,"
    " PRIMARY KEY (hearing_id, participant_id)) WITHOUT ROWID",
)


async def test_every_record_is_there_after_the_file_is_opened_again(tmp_path: Path) -> None:
    scheduled, revoked = hearing(), new_participant_id()
    signed = checkpoints(scheduled.id)[-1]
    database = Database.in_data_dir(tmp_path)
    stores = sqlite_stores(database)
    await stores.hearings.add(scheduled)
    await stores.revoked.revoke(scheduled.id, revoked)
    await stores.state.save(scheduled.id, {"court": {"phase": "in_session"}})
    await stores.checkpoints.put(signed)
    issued = link(scheduled.id)
    await stores.links.add(issued)
    await database.close()

    again = Database.in_data_dir(tmp_path)
    try:
        stores = sqlite_stores(again)
        assert await stores.hearings.get(scheduled.id) == scheduled
        assert await stores.revoked.is_revoked(scheduled.id, revoked)
        assert await stores.state.load(scheduled.id) == {"court": {"phase": "in_session"}}
        assert await stores.checkpoints.latest(scheduled.id, KEY.key_id) == signed
        assert await stores.links.of_hearing(scheduled.id) == [issued]
    finally:
        await again.close()


async def test_the_file_keeps_a_write_ahead_log_and_syncs_every_commit(tmp_path: Path) -> None:
    database = Database.in_data_dir(tmp_path)
    try:
        await database.run(lambda db: db.execute("DELETE FROM revoked"))  # the log exists
        for name in (FILE_NAME, f"{FILE_NAME}-wal", f"{FILE_NAME}-shm"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name  # names inside
        modes = await database.run(
            lambda db: (
                db.execute("PRAGMA journal_mode").fetchone()[0],
                db.execute("PRAGMA synchronous").fetchone()[0],
            )
        )
    finally:
        await database.close()
    assert modes == ("wal", 2)  # 2 is FULL


async def test_a_data_dir_of_schema_version_1_is_migrated_and_keeps_its_records(
    tmp_path: Path,
) -> None:
    old, revoked = hearing(), new_participant_id()  # what version 1 held
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        for statement in VERSION_1:
            db.execute(statement)
        db.execute(
            "INSERT INTO hearings VALUES (?, ?, ?)",
            (old.id, old.scheduled_at.timestamp(), json.dumps(hearing_record(old))),
        )
        db.execute("INSERT INTO revoked VALUES (?, ?)", (old.id, revoked))
    db.close()

    database = Database.in_data_dir(tmp_path)
    try:
        assert await database.run(schema_version) == SCHEMA_VERSION > 1
        stores = sqlite_stores(database)
        assert await stores.hearings.get(old.id) == old
        assert await stores.revoked.is_revoked(old.id, revoked)
        await stores.state.save(old.id, {"n": 1})  # what version 2 added works
        assert await stores.state.load(old.id) == {"n": 1}
        signed = checkpoints(old.id)[0]
        await stores.checkpoints.put(signed)
        assert await stores.checkpoints.latest(old.id, KEY.key_id) == signed
        issued = link(old.id)  # and what version 3 added
        await stores.links.add(issued)
        assert await stores.links.of_hearing(old.id) == [issued]
    finally:
        await database.close()


async def test_a_new_data_dir_starts_at_the_latest_schema_version(tmp_path: Path) -> None:
    database = Database.in_data_dir(tmp_path / "new" / "data")
    try:
        assert await database.run(schema_version) == SCHEMA_VERSION
    finally:
        await database.close()


def test_records_of_a_newer_schema_version_are_refused_and_left_alone(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
        db.execute("CREATE TABLE from_the_future (x)")
    db.close()
    with pytest.raises(StoreUnusable, match="newer than this ecourt"):
        Database.in_data_dir(tmp_path)
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        assert db.execute("SELECT version FROM schema_version").fetchone() == (SCHEMA_VERSION + 1,)
    db.close()


def test_a_file_that_is_not_a_database_is_refused_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"these are not the records you are looking for" * 100)
    with pytest.raises(StoreUnusable, match="cannot use the records") as refused:
        Database.in_data_dir(tmp_path)
    assert refused.value.code == "store_unusable"


async def test_a_stored_audit_checkpoint_that_is_not_one_is_refused_when_read(
    tmp_path: Path,
) -> None:
    database = Database.in_data_dir(tmp_path)
    hid = new_hearing_id()
    try:
        await database.run(
            lambda db: db.execute(
                "INSERT INTO audit_checkpoints (hearing_id, key_id, seq, line) VALUES (?, ?, 1, ?)",
                (hid, KEY.key_id, b'{"type":"checkpoint","v":1}'),
            )
        )
        with pytest.raises(MalformedAuditLine):
            await SqliteAuditCheckpoints(database).latest(hid, KEY.key_id)
    finally:
        await database.close()


async def test_a_closed_store_refuses_work_and_closes_once(tmp_path: Path) -> None:
    database = Database.in_data_dir(tmp_path)
    await database.close()
    await database.close()
    with pytest.raises(StoreUnusable):
        await database.run(schema_version)


def test_ecourt_serve_on_records_it_cannot_use_exits_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / FILE_NAME) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    db.close()
    refused = serve(tmp_path, "--port", "0")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith(
        "ecourt: error: store_unusable: the records are at schema version"
    )


async def test_a_second_process_on_the_same_data_dir_is_refused_until_the_first_closes(
    tmp_path: Path,
) -> None:
    first = Database.in_data_dir(tmp_path / "data")  # where serve() keeps its records
    try:
        second = serve(tmp_path, "--port", "0")
        assert second.returncode == 2 and second.stderr.count("\n") == 1, second.stderr
        assert "another ecourt process keeps its records" in second.stderr
    finally:
        await first.close()
    again = Database.in_data_dir(tmp_path / "data")  # the lock went with the first
    await again.close()
