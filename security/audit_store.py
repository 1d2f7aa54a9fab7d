"""The audit checkpoint store: the latest signed checkpoint of each hearing's audit log, kept
off the node's disk (in this process, or in Redis with `ECOURT_REDIS_URL`).

Whoever can write a log file can read the node's signing key beside it, cut the file back to
an earlier checkpoint or rewrite it, and sign it again: the file alone then verifies. The store
cannot be reached from the disk, so a node opening a log compares the file with the stored
checkpoint (`verify_file(..., anchor=...)`) and refuses one that is behind it or disagrees.

Checkpoints are kept per (hearing, signing key): each key signs one chain, so nodes with data
directories of their own keep one stored checkpoint each. A later put never goes back: one
with a lower seq than the stored one is ignored, and one of an older epoch (the fencing token
of the node that wrote it, `docs/cluster.md`) than the stored one is refused
(`AuditStaleEpoch`). The Redis twin is
`signaling/redis_store.py:RedisAuditCheckpoints`; one contract test runs against both.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from security.audit_errors import AuditStaleEpoch, MalformedAuditLine
from security.audit_record import Checkpoint, parse_line

RETRY_SECONDS = 1.0
log = logging.getLogger(__name__)


class AuditCheckpointStore(Protocol):
    async def put(self, checkpoint: Checkpoint) -> None:
        """Keep it as the latest of its hearing and key, unless a later one is kept; refuse
        it (`AuditStaleEpoch`) if the kept one has a higher epoch."""
        ...

    async def latest(self, hearing_id: str, key_id: str) -> Checkpoint | None:
        """The latest checkpoint kept (`MalformedAuditLine` if what is kept is not one)."""
        ...


def checkpoint_from_line(line: bytes) -> Checkpoint:
    record = parse_line(line.rstrip(b"\n"))
    if not isinstance(record, Checkpoint):
        raise MalformedAuditLine("the stored record is not a checkpoint")
    return record


class MemoryAuditCheckpoints:
    """The embedded default: checkpoints kept in this process (as lines, as Redis keeps them)."""

    def __init__(self) -> None:
        self._latest: dict[tuple[str, str], bytes] = {}

    async def put(self, checkpoint: Checkpoint) -> None:
        key = (checkpoint.hearing_id, checkpoint.key_id)
        kept = None if key not in self._latest else checkpoint_from_line(self._latest[key])
        if kept is not None and kept.epoch > checkpoint.epoch:
            raise AuditStaleEpoch(
                f"checkpoint {checkpoint.seq} of {checkpoint.hearing_id} is of epoch "
                f"{checkpoint.epoch}; the store holds epoch {kept.epoch}"
            )
        if kept is None or kept.seq <= checkpoint.seq:
            self._latest[key] = checkpoint.to_line()

    async def latest(self, hearing_id: str, key_id: str) -> Checkpoint | None:
        kept = self._latest.get((hearing_id, key_id))
        return None if kept is None else checkpoint_from_line(kept)


class CheckpointMirror:
    """Copies every new checkpoint of the logs it watches to the store, from whichever thread
    the log writes in. Writes go one at a time, the newest of each log only; a store that
    fails is tried again every second with the newest, so nothing waits on it and nothing
    is lost when it comes back."""

    def __init__(
        self,
        store: AuditCheckpointStore,
        loop: asyncio.AbstractEventLoop,
        *,
        retry: float = RETRY_SECONDS,
    ) -> None:
        self._store = store
        self._loop = loop
        self._retry = retry
        self._pending: dict[tuple[str, str], Checkpoint] = {}
        self._writer: asyncio.Task[None] | None = None
        self.failures = 0

    def put(self, checkpoint: Checkpoint) -> None:
        """A log's watcher: safe to call from any thread."""
        if self._loop.is_closed():
            log.warning("checkpoint %d of %s not stored: the loop is closed", *_name(checkpoint))
        elif _running_loop() is self._loop:
            self._queue(checkpoint)
        else:
            self._loop.call_soon_threadsafe(self._queue, checkpoint)

    def _queue(self, checkpoint: Checkpoint) -> None:
        key = (checkpoint.hearing_id, checkpoint.key_id)
        waiting = self._pending.get(key)
        if waiting is None or waiting.seq <= checkpoint.seq:
            self._pending[key] = checkpoint
        if self._writer is None or self._writer.done():
            self._writer = self._loop.create_task(self._write())

    async def _write(self) -> None:
        while self._pending:
            key = next(iter(self._pending))
            checkpoint = self._pending.pop(key)
            try:
                await self._store.put(checkpoint)
            except AuditStaleEpoch:
                log.warning(
                    "checkpoint %d of %s refused: another node holds it", *_name(checkpoint)
                )
            except Exception:
                self.failures += 1
                log.warning("checkpoint %d of %s not stored yet", *_name(checkpoint))
                if key not in self._pending:  # nothing newer came meanwhile
                    self._pending[key] = checkpoint
                await asyncio.sleep(self._retry)

    async def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every checkpoint handed over is stored; False if the store did not
        take them within `timeout` seconds."""
        await asyncio.sleep(0)  # checkpoints handed over from other threads arrive first
        writer = self._writer
        if writer is None or writer.done():
            return not self._pending
        done, _ = await asyncio.wait({writer}, timeout=timeout)
        return bool(done) and not self._pending

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _name(checkpoint: Checkpoint) -> tuple[int, str]:
    return checkpoint.seq, checkpoint.hearing_id
