"""The schema of the embedded store (`<data dir>/ecourt.sqlite3`) and its versioned migrations.

`schema_version` holds one row: the version the file is at. Opening a file runs every
migration after that version, each in its own transaction with the new version number, so a
start on an old data directory brings it up to date and a migration that fails leaves the file
at the version before it. A file at a version newer than this code knows is refused: an older
ecourt never writes records it does not understand.

Versions:
1. hearings (the REST record as JSON, and the scheduled time for ordering) and revoked links;
2. the court's state of hearings in session, and the latest audit checkpoint per hearing and
   signing key;
3. the participants whose links were issued, with the links' ids (never the tokens);
4. webhook endpoints and the outbox of their deliveries (`signaling/sqlite_webhooks.py`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from signaling.errors import StoreUnusable

MIGRATIONS: Sequence[Sequence[str]] = (
    (  # 1
        "CREATE TABLE hearings (id TEXT PRIMARY KEY, scheduled_at REAL NOT NULL,"
        " record TEXT NOT NULL)",
        "CREATE INDEX hearings_by_time ON hearings (scheduled_at)",
        "CREATE TABLE revoked (hearing_id TEXT NOT NULL, participant_id TEXT NOT NULL,"
        " PRIMARY KEY (hearing_id, participant_id)) WITHOUT ROWID",
    ),
    (  # 2
        "CREATE TABLE hearing_states (hearing_id TEXT PRIMARY KEY, snapshot TEXT NOT NULL)",
        "CREATE TABLE audit_checkpoints (hearing_id TEXT NOT NULL, key_id TEXT NOT NULL,"
        " seq INTEGER NOT NULL, line BLOB NOT NULL, PRIMARY KEY (hearing_id, key_id))"
        " WITHOUT ROWID",
    ),
    (  # 3
        "CREATE TABLE issued_links (hearing_id TEXT NOT NULL, participant_id TEXT NOT NULL,"
        " record TEXT NOT NULL, PRIMARY KEY (hearing_id, participant_id))",
    ),
    (  # 4: the fencing epoch of the court state's writer (docs/cluster.md#leases)
        "ALTER TABLE hearing_states ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE audit_checkpoints ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0",
    ),
    (  # 5: the webhooks' endpoints and durable outbox (docs/webhooks.md)
        "CREATE TABLE webhook_endpoints (id TEXT PRIMARY KEY, url TEXT NOT NULL,"
        " secret BLOB NOT NULL, events TEXT NOT NULL, created_at INTEGER NOT NULL,"
        " last_error TEXT, abandoned INTEGER NOT NULL DEFAULT 0)",
        "CREATE TABLE webhook_outbox (endpoint_id TEXT NOT NULL, event_id TEXT NOT NULL,"
        " hearing_id TEXT NOT NULL, seq INTEGER NOT NULL, event_type TEXT NOT NULL,"
        " body TEXT NOT NULL, first_at REAL NOT NULL, next_at REAL NOT NULL,"
        " attempts INTEGER NOT NULL, last_error TEXT, PRIMARY KEY (endpoint_id, event_id))",
        "CREATE UNIQUE INDEX webhook_queues ON webhook_outbox (endpoint_id, hearing_id, seq)",
        "CREATE TABLE webhook_queued (hearing_id TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(connection: sqlite3.Connection) -> int:
    """The version a file is at: 0 for a new (empty) file."""
    has_table = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if has_table is None:
        return 0
    row = connection.execute("SELECT version FROM schema_version").fetchone()
    if row is None or not isinstance(row[0], int):
        raise StoreUnusable("the records' schema_version table holds no version")
    return row[0]


def migrate(connection: sqlite3.Connection) -> int:
    """Bring the file up to `SCHEMA_VERSION`; returns the version it was at."""
    found = schema_version(connection)
    if found > SCHEMA_VERSION:
        raise StoreUnusable(
            f"the records are at schema version {found}, newer than this ecourt's"
            f" {SCHEMA_VERSION}: refusing to touch them"
        )
    for version in range(found + 1, SCHEMA_VERSION + 1):
        connection.execute("BEGIN IMMEDIATE")
        try:
            if version == 1:
                connection.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                connection.execute("INSERT INTO schema_version (version) VALUES (0)")
            for statement in MIGRATIONS[version - 1]:
                connection.execute(statement)
            connection.execute("UPDATE schema_version SET version = ?", (version,))
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    return found
