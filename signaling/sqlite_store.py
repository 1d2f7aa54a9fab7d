"""The SQLite twins of the stores: the embedded default, one file in the data directory
(`ecourt.sqlite3`), so that hearings, revoked links, the court's state of hearings in session
and audit checkpoints survive a restart or a crash of the process.

One connection, used by one thread of its own: the only writer, and the event loop never
waits on the disk (every call runs there and is awaited). One process at a time: it holds a
lock on `ecourt.sqlite3.lock` while the file is open, and a second node started on the same
data dir is refused (both would host the same hearings). The file is in WAL mode with
`synchronous=FULL`: a write has reached the disk when its call returns, so an order is
acknowledged only once it would survive a power cut. The schema is versioned
(`signaling/sqlite_schema.py`).

Tables (version 4): `hearings`, `revoked`, `hearing_states`, `audit_checkpoints`,
`issued_links`; and `webhook_endpoints`, `webhook_outbox` (`signaling/sqlite_webhooks.py`).
A fencing epoch (docs/cluster.md) would be one more column of `hearing_states` and
`audit_checkpoints`, compared in the `WHERE` of their upserts, as the checkpoint's `seq` is.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from hearing import Hearing
from security import AuditStaleEpoch, Checkpoint, checkpoint_from_line
from signaling.errors import StaleEpoch, StoreUnusable
from signaling.sqlite_schema import migrate
from signaling.store import (
    IssuedLink,
    hearing_from_record,
    hearing_record,
    link_from_record,
    link_record,
)

FILE_NAME = "ecourt.sqlite3"
BUSY_TIMEOUT_MS = 5000
T = TypeVar("T")


class Database:
    """The open file: `run` does one transaction in the database's own thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = _only_writer(path)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ecourt-sqlite")
        try:
            self._connection = self._thread.submit(_open, path).result()
        except BaseException:
            self._thread.shutdown()
            os.close(self._lock)
            raise
        self._closed = False

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> Database:
        return cls(data_dir / FILE_NAME)

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StoreUnusable("the records are closed")
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._commit, work)

    def _commit(self, work: Callable[[sqlite3.Connection], T]) -> T:
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            result = work(self._connection)
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")
        return result

    async def close(self) -> None:
        """Idempotent; waits for the writes already handed over."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._thread, self._connection.close)
        self._thread.shutdown()
        os.close(self._lock)  # the lock goes with it


def _only_writer(path: Path) -> int:
    """An exclusive lock on `<file>.lock`, held while the records are open (the kernel lets it
    go when the process ends, however it ends)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreUnusable(f"cannot open the records at {path}: {exc.strerror}") from exc
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(lock)
        raise StoreUnusable(
            f"another ecourt process keeps its records in {path.parent}: one node per data dir"
            " (many nodes share ECOURT_REDIS_URL)"
        ) from exc
    return lock


def _open(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # made private before SQLite sees it: its -wal and -shm files take the same mode
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise StoreUnusable(f"cannot open the records at {path}: {exc}") from exc
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if connection.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
            raise StoreUnusable(f"the records at {path} cannot use a write-ahead log")
        connection.execute("PRAGMA synchronous = FULL")
        migrate(connection)
    except sqlite3.Error as exc:
        connection.close()
        raise StoreUnusable(f"cannot use the records at {path}: {exc}") from exc
    except BaseException:
        connection.close()
        raise
    return connection


def read_checkpoint(path: Path, hearing_id: str, key_id: str) -> Checkpoint | None:
    """The latest audit checkpoint kept in the records file at `path`, read without writing
    (for `ecourt audit verify --against-store`, beside a running server, which is the writer)."""
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreUnusable(f"cannot open the records at {path}: {exc}") from exc
    try:
        row = connection.execute(
            "SELECT line FROM audit_checkpoints WHERE hearing_id = ? AND key_id = ?",
            (hearing_id, key_id),
        ).fetchone()
    except sqlite3.Error as exc:
        raise StoreUnusable(f"cannot read the records at {path}: {exc}") from exc
    finally:
        connection.close()
    return None if row is None else checkpoint_from_line(bytes(row[0]))


class SqliteHearingStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, hearing: Hearing) -> None:
        record = json.dumps(hearing_record(hearing))
        when = hearing.scheduled_at.timestamp()

        def insert(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "INSERT INTO hearings (id, scheduled_at, record) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING",
                (hearing.id, when, record),
            )
            return cursor.rowcount == 1

        if not await self._db.run(insert):
            raise KeyError(f"hearing {hearing.id} exists")

    async def get(self, hearing_id: str) -> Hearing | None:
        def select(db: sqlite3.Connection) -> Any:
            return db.execute("SELECT record FROM hearings WHERE id = ?", (hearing_id,)).fetchone()

        row = await self._db.run(select)
        return None if row is None else hearing_from_record(json.loads(row[0]))

    async def all(self) -> list[Hearing]:
        def select(db: sqlite3.Connection) -> list[Any]:
            return db.execute("SELECT record FROM hearings ORDER BY scheduled_at, rowid").fetchall()

        return [hearing_from_record(json.loads(row[0])) for row in await self._db.run(select)]


class SqliteIssuedLinks:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, link: IssuedLink) -> None:
        p = link.participant
        values = (p.hearing_id, p.id, json.dumps(link_record(link)))

        def insert(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "INSERT INTO issued_links (hearing_id, participant_id, record) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                values,
            )
            return cursor.rowcount == 1

        if not await self._db.run(insert):
            raise KeyError(f"participant {p.id} has a link")

    async def of_hearing(self, hearing_id: str) -> list[IssuedLink]:
        def select(db: sqlite3.Connection) -> list[Any]:
            return db.execute(
                "SELECT record FROM issued_links WHERE hearing_id = ? ORDER BY rowid",
                (hearing_id,),
            ).fetchall()

        return [link_from_record(json.loads(row[0])) for row in await self._db.run(select)]


class SqliteRevokedTokens:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def revoke(self, hearing_id: str, participant_id: str) -> None:
        def insert(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO revoked (hearing_id, participant_id) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (hearing_id, participant_id),
            )

        await self._db.run(insert)

    async def is_revoked(self, hearing_id: str, participant_id: str) -> bool:
        def select(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT 1 FROM revoked WHERE hearing_id = ? AND participant_id = ?",
                (hearing_id, participant_id),
            ).fetchone()
            return row is not None

        return await self._db.run(select)


class SqliteHearingStateStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def save(self, hearing_id: str, snapshot: dict[str, Any], epoch: int = 0) -> None:
        """Keep the snapshot, unless the store holds one of a newer epoch (`StaleEpoch`, and
        nothing changes): a node that lost the hearing writes no more."""
        stored = json.dumps(snapshot)

        def upsert(db: sqlite3.Connection) -> int | None:
            row = db.execute(
                "SELECT epoch FROM hearing_states WHERE hearing_id = ?", (hearing_id,)
            ).fetchone()
            if row is not None and int(row[0]) > epoch:
                return int(row[0])
            db.execute(
                "INSERT INTO hearing_states (hearing_id, snapshot, epoch) VALUES (?, ?, ?)"
                " ON CONFLICT (hearing_id) DO UPDATE"
                " SET snapshot = excluded.snapshot, epoch = excluded.epoch",
                (hearing_id, stored, epoch),
            )
            return None

        kept = await self._db.run(upsert)
        if kept is not None:
            raise StaleEpoch(f"the state of {hearing_id} is held by epoch {kept}, not {epoch}")

    async def load(self, hearing_id: str) -> dict[str, Any] | None:
        def select(db: sqlite3.Connection) -> Any:
            return db.execute(
                "SELECT snapshot FROM hearing_states WHERE hearing_id = ?", (hearing_id,)
            ).fetchone()

        row = await self._db.run(select)
        return None if row is None else dict(json.loads(row[0]))


class SqliteAuditCheckpoints:
    """A later put never goes back: a checkpoint with a lower seq than the kept one is ignored."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def put(self, checkpoint: Checkpoint) -> None:
        """Keep the checkpoint unless the kept one is of a newer epoch (`AuditStaleEpoch`) or
        of a higher seq (then it stays: a late write never takes the store back)."""
        values = (
            checkpoint.hearing_id,
            checkpoint.key_id,
            checkpoint.seq,
            checkpoint.to_line(),
            checkpoint.epoch,
        )

        def upsert(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT epoch FROM audit_checkpoints WHERE hearing_id = ? AND key_id = ?",
                values[:2],
            ).fetchone()
            if row is not None and int(row[0]) > checkpoint.epoch:
                return False
            db.execute(
                "INSERT INTO audit_checkpoints (hearing_id, key_id, seq, line, epoch)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (hearing_id, key_id) DO UPDATE"
                " SET seq = excluded.seq, line = excluded.line, epoch = excluded.epoch"
                " WHERE excluded.seq >= audit_checkpoints.seq",
                values,
            )
            return True

        if not await self._db.run(upsert):
            raise AuditStaleEpoch(
                f"checkpoint {checkpoint.seq} of {checkpoint.hearing_id} is of epoch "
                f"{checkpoint.epoch}; the store holds a newer one"
            )

    async def latest(self, hearing_id: str, key_id: str) -> Checkpoint | None:
        def select(db: sqlite3.Connection) -> Any:
            return db.execute(
                "SELECT line FROM audit_checkpoints WHERE hearing_id = ? AND key_id = ?",
                (hearing_id, key_id),
            ).fetchone()

        row = await self._db.run(select)
        return None if row is None else checkpoint_from_line(bytes(row[0]))
