"""The SQLite twin of the webhook outbox (`signaling/webhook_store.py`), in the records file
of the data directory (`signaling/sqlite_store.py`), schema version 4:

- `webhook_endpoints`: one row per endpoint, its secret, and per endpoint the count of
  deliveries given up and the latest failure;
- `webhook_outbox`: one row per delivery waiting (endpoint, event id); a queue is the rows of
  one endpoint and hearing, by `seq` (`webhook_queues`, unique: one event per place);
- `webhook_queued`: per hearing, the highest seq of its audit log whose event was queued.

Delivered and abandoned rows are deleted: the outbox holds only what is still owed.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Final

from security import Secret
from signaling.sqlite_store import Database
from signaling.webhook_store import Backlog, Delivery, WebhookEndpoint

_COLUMNS: Final = (
    "endpoint_id, event_id, hearing_id, seq, event_type, body, first_at, next_at, attempts,"
    " last_error"
)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        endpoint_id=row[0],
        event_id=row[1],
        hearing_id=row[2],
        seq=row[3],
        event_type=row[4],
        body=row[5],
        first_at=row[6],
        next_at=row[7],
        attempts=row[8],
        last_error=row[9],
    )


class SqliteWebhookStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        values = (
            endpoint.id,
            endpoint.url,
            endpoint.secret.value,
            json.dumps(sorted(endpoint.events)),
            endpoint.created_at,
        )

        def insert(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "INSERT INTO webhook_endpoints (id, url, secret, events, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                values,
            )
            return cursor.rowcount == 1

        if not await self._db.run(insert):
            raise KeyError(f"endpoint {endpoint.id} exists")

    async def endpoints(self) -> list[WebhookEndpoint]:
        def select(db: sqlite3.Connection) -> list[Any]:
            return db.execute(
                "SELECT id, url, secret, events, created_at FROM webhook_endpoints ORDER BY rowid"
            ).fetchall()

        return [
            WebhookEndpoint(
                row[0], row[1], Secret(bytes(row[2])), frozenset(json.loads(row[3])), row[4]
            )
            for row in await self._db.run(select)
        ]

    async def remove_endpoint(self, endpoint_id: str) -> bool:
        def delete(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM webhook_outbox WHERE endpoint_id = ?", (endpoint_id,))
            cursor = db.execute("DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,))
            return cursor.rowcount == 1

        return await self._db.run(delete)

    async def enqueue(self, deliveries: list[Delivery]) -> None:
        rows = [
            (
                d.endpoint_id,
                d.event_id,
                d.hearing_id,
                d.seq,
                d.event_type,
                d.body,
                d.first_at,
                d.next_at,
                d.attempts,
                d.last_error,
                d.endpoint_id,
            )
            for d in deliveries
        ]

        def insert(db: sqlite3.Connection) -> None:
            db.executemany(
                f"INSERT INTO webhook_outbox ({_COLUMNS})"
                " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
                " WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?)"
                " ON CONFLICT DO NOTHING",
                rows,
            )
            db.executemany(
                "INSERT INTO webhook_queued (hearing_id, seq) VALUES (?, ?) ON CONFLICT"
                " (hearing_id) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                [(d.hearing_id, d.seq) for d in deliveries],
            )

        await self._db.run(insert)

    async def queued_through(self, hearing_id: str) -> int:
        def select(db: sqlite3.Connection) -> Any:
            return db.execute(
                "SELECT seq FROM webhook_queued WHERE hearing_id = ?", (hearing_id,)
            ).fetchone()

        row = await self._db.run(select)
        return 0 if row is None else int(row[0])

    async def claim(self, now: float, lease: float, limit: int) -> list[Delivery]:
        def take(db: sqlite3.Connection) -> list[Delivery]:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM webhook_outbox d WHERE next_at <= ? AND seq = ("
                " SELECT MIN(seq) FROM webhook_outbox q"
                " WHERE q.endpoint_id = d.endpoint_id AND q.hearing_id = d.hearing_id)"
                " ORDER BY next_at LIMIT ?",
                (now, limit),
            ).fetchall()
            db.executemany(
                "UPDATE webhook_outbox SET next_at = ? WHERE endpoint_id = ? AND event_id = ?",
                [(now + lease, row[0], row[1]) for row in rows],
            )
            return [_delivery(row) for row in rows]

        return await self._db.run(take)

    async def delivered(self, delivery: Delivery) -> None:
        def delete(db: sqlite3.Connection) -> None:
            db.execute(
                "DELETE FROM webhook_outbox WHERE endpoint_id = ? AND event_id = ?",
                (delivery.endpoint_id, delivery.event_id),
            )

        await self._db.run(delete)

    async def retry(self, delivery: Delivery) -> None:
        d = delivery

        def update(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE webhook_outbox SET next_at = ?, attempts = ?, last_error = ?"
                " WHERE endpoint_id = ? AND event_id = ?",
                (d.next_at, d.attempts, d.last_error, d.endpoint_id, d.event_id),
            )
            _note(db, d, abandoned=False)

        await self._db.run(update)

    async def abandon(self, delivery: Delivery) -> None:
        d = delivery

        def delete(db: sqlite3.Connection) -> None:
            cursor = db.execute(
                "DELETE FROM webhook_outbox WHERE endpoint_id = ? AND event_id = ?",
                (d.endpoint_id, d.event_id),
            )
            _note(db, d, abandoned=cursor.rowcount == 1)

        await self._db.run(delete)

    async def backlog(self) -> list[Backlog]:
        def select(db: sqlite3.Connection) -> list[Any]:
            return db.execute(
                "SELECT e.id, (SELECT COUNT(*) FROM webhook_outbox o WHERE o.endpoint_id = e.id),"
                " e.abandoned, e.last_error FROM webhook_endpoints e ORDER BY e.rowid"
            ).fetchall()

        return [Backlog(row[0], row[1], row[2], row[3]) for row in await self._db.run(select)]


def _note(db: sqlite3.Connection, delivery: Delivery, *, abandoned: bool) -> None:
    db.execute(
        "UPDATE webhook_endpoints SET abandoned = abandoned + ?,"
        " last_error = COALESCE(?, last_error) WHERE id = ?",
        (1 if abandoned else 0, delivery.last_error, delivery.endpoint_id),
    )
