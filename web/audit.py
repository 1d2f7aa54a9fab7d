"""Where each hearing's audit log lives on this node: one JSON-lines file per hearing under
`<data dir>/audit/`, signed with the node's Ed25519 audit key (created on first run, mode 0600).
Every checkpoint of a hearing's log is also kept in the audit checkpoint store (in memory, or
in Redis), and a log is only continued if its file agrees with that checkpoint.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from security import (
    ANCHOR_PROBLEMS,
    AuditBehindStore,
    AuditCheckpointStore,
    AuditEntry,
    AuditLog,
    AuditProblem,
    AuditStoreUnavailable,
    ChainHead,
    Checkpoint,
    CheckpointMirror,
    FileAuditSink,
    MalformedAuditLine,
    MemoryAuditCheckpoints,
    SigningKey,
    verify,
    verify_file,
)
from security.audit_record import parse_line

COURT_LOG = "court-supervision"
"""The id of the court's own log, beside the hearings' ones."""
AUDIT_KEY_FILE = "audit-signing.key"
"""The node's checkpoint key, in the data directory."""


class AuditLogs:
    def __init__(self, data_dir: Path, checkpoints: AuditCheckpointStore | None = None) -> None:
        self.directory = data_dir / "audit"
        self._key_file = data_dir / AUDIT_KEY_FILE
        self._key: SigningKey | None = None
        self.checkpoints: AuditCheckpointStore = checkpoints or MemoryAuditCheckpoints()
        self._mirror: CheckpointMirror | None = None
        self.writes: Counter[str] = Counter()
        """Entries written to every log opened here, by action (web/metrics.py reads it)."""
        self._watchers: list[Callable[[AuditEntry], None]] = []

    def watch(self, watcher: Callable[[AuditEntry], None]) -> None:
        """Call `watcher` with every entry of every hearing's log opened from now on (the
        webhooks read their events there), in the writer's thread: it must not wait."""
        self._watchers.append(watcher)

    @property
    def key(self) -> SigningKey:
        """The checkpoint key, loaded or created the first time a log is opened."""
        if self._key is None:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._key = SigningKey.load_or_create(self._key_file)
        return self._key

    def path(self, hearing_id: str) -> Path:
        return self.directory / f"{hearing_id}.jsonl"

    def custody_path(self, hearing_id: str) -> Path:
        return self.directory / f"{hearing_id}.custody.jsonl"

    def open_custody(self, hearing_id: str) -> AuditLog:
        """The chain of custody of the hearing's recordings: every export, hold, shredding and
        key rotation, for as long as the recordings exist (it is released, never closed)."""
        path = self.custody_path(hearing_id)
        log = AuditLog(hearing_id, FileAuditSink(path), self.key, head=_head(path, self.key))
        log.watch(self._count)
        return log

    def open_court(self) -> AuditLog:
        """The court's own log (`court-supervision.court.jsonl`): who logged in to the
        supervision board, and every report made. Written one operation at a time: release
        it after each."""
        path = self.directory / f"{COURT_LOG}.court.jsonl"
        return AuditLog(COURT_LOG, FileAuditSink(path), self.key, head=_head(path, self.key))

    async def open(self, hearing_id: str) -> AuditLog:
        """The hearing's log, continuing its chain if a node wrote it before. Refused
        (`AuditBehindStore`) when the file is shorter than, or disagrees with, the checkpoint
        kept in the store; `AuditStoreUnavailable` when the store does not answer. Every
        checkpoint the log writes from now on is kept in the store too."""
        key = self.key
        try:
            anchor = await self.checkpoints.latest(hearing_id, key.key_id)
        except MalformedAuditLine as exc:
            message = f"the stored checkpoint of {hearing_id} is not one: {exc.message}"
            raise AuditBehindStore(AuditProblem.ANCHOR_INVALID.value, message) from exc
        except Exception as exc:
            raise AuditStoreUnavailable(f"the audit checkpoint store failed: {exc}") from exc
        path = self.path(hearing_id)
        log = AuditLog(hearing_id, FileAuditSink(path), key, head=_head(path, key, anchor))
        if self._mirror is None:
            self._mirror = CheckpointMirror(self.checkpoints, asyncio.get_running_loop())
        log.watch_checkpoints(self._mirror.put)
        log.watch(self._count)
        for watcher in self._watchers:
            log.watch(watcher)
        return log

    def recent(self, since: float) -> Iterator[tuple[str, list[AuditEntry]]]:
        """Each hearing's log written to since `since` (a Unix time), with its entries, as
        the file holds them (a malformed line ends what is read of that file). Custody and
        court logs (`<id>.custody.jsonl`, `<id>.court.jsonl`) are not hearings' logs."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.jsonl")):
            if "." in path.name.removesuffix(".jsonl") or path.stat().st_mtime < since:
                continue
            entries = []
            with path.open("rb") as lines:
                for line in lines:
                    try:
                        record = parse_line(line.rstrip(b"\n"))
                    except MalformedAuditLine:
                        break
                    if isinstance(record, AuditEntry):
                        entries.append(record)
            yield path.name.removesuffix(".jsonl"), entries

    def _count(self, entry: AuditEntry) -> None:
        self.writes[entry.action] += 1

    async def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every checkpoint written so far is in the store (False if it did not
        take them within `timeout` seconds)."""
        return True if self._mirror is None else await self._mirror.flush(timeout)

    async def close(self) -> None:
        if self._mirror is not None:
            await self._mirror.close()


def _head(path: Path, key: SigningKey, anchor: Checkpoint | None = None) -> ChainHead | None:
    """Where the file's chain stands (None when there is no file), checked against `anchor`."""
    exists = path.exists() and os.path.getsize(path) > 0
    if not exists and anchor is None:
        return None
    if exists:
        report = verify_file(path, key.public_key, anchor=anchor)
    else:
        report = verify([], key.public_key, anchor=anchor)
    found = report.problems & ANCHOR_PROBLEMS
    if found:
        raise AuditBehindStore(min(found).value, report.summary(), report)
    return report.head if exists else None
