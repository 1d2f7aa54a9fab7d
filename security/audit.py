"""The hearing's audit log: append-only, hash-chained, checkpointed with Ed25519 signatures.

`AuditLog` builds entries from ids only (never a token, a key or a display name), chains them,
and every `checkpoint_every` entries (and on `checkpoint()` and `close()`) signs the latest
(seq, hash). Records go to an `AuditSink`: `MemoryAuditSink` for tests and the embedded
default, `FileAuditSink` for one JSON line per record. `security.audit_verify` checks a log.
The format is described in `docs/audit.md`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, TypeVar

from security.audit_errors import AuditError, AuditFenced, AuditLogClosed, AuditWriteFailed
from security.audit_record import (
    GENESIS,
    AuditEntry,
    AuditRecord,
    Checkpoint,
    check_details,
    check_pseudonym,
)
from security.ed25519 import SigningKey, fsync_directory

DEFAULT_CHECKPOINT_EVERY = 100
log = logging.getLogger(__name__)
_T = TypeVar("_T")


class AuditSink(Protocol):
    """Where a log's records go, in order. A checkpoint must be durable when `append` returns."""

    def append(self, record: AuditRecord) -> None: ...

    def close(self) -> None: ...


class MemoryAuditSink:
    """Keeps the records in a list."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []
        self.closed = False

    def append(self, record: AuditRecord) -> None:
        if self.closed:
            raise AuditLogClosed("the sink is closed")
        self.records.append(record)

    def close(self) -> None:
        self.closed = True

    def lines(self) -> list[bytes]:
        return [record.to_line() for record in self.records]


class FileAuditSink:
    """Appends one line per record to a file (mode 0600); flushes each, fsyncs on checkpoints."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        existed = self.path.exists()
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        self._fd: int | None = os.open(self.path, flags, 0o600)
        if not existed:
            os.fsync(self._fd)
            fsync_directory(self.path.parent)

    def append(self, record: AuditRecord) -> None:
        if self._fd is None:
            raise AuditLogClosed("the sink is closed")
        view = memoryview(record.to_line())
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if isinstance(record, Checkpoint):
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where a chain stands: the last entry's seq and hash (0 and `GENESIS` when empty)."""

    seq: int = 0
    hash: str = GENESIS
    checkpointed_seq: int = 0
    epoch: int = 0
    """The epoch of the last entry (0: none, or written without one)."""
    handed_over: bool = False
    """The last entry is a `handed_over` and a checkpoint signs it: its writer closed its
    chain, so the next one continues it without a takeover."""


TAKEOVER = "takeover"
"""The first entry of a node that took a hearing over from one that did not hand it over."""
HANDED_OVER = "handed_over"


def _always() -> bool:
    return True


class AuditLog:
    """One hearing's audit log. `record` appends; `close` writes the final checkpoint."""

    def __init__(
        self,
        hearing_id: str,
        sink: AuditSink,
        signing_key: SigningKey,
        *,
        clock: Callable[[], float] = time.time,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        head: ChainHead | None = None,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        if not isinstance(signing_key, SigningKey):
            raise TypeError("signing_key must be a SigningKey")
        self.hearing_id = check_pseudonym(hearing_id, "hearing")
        self._sink = sink
        self._key = signing_key
        self._clock = clock
        self._every = checkpoint_every
        self._head = head or ChainHead()
        self._epoch = 0
        self._serving: Callable[[], bool] = _always
        self._closed = False
        self._lock = threading.Lock()
        self._watchers: list[Callable[[AuditEntry], None]] = []
        self._checkpoint_watchers: list[Callable[[Checkpoint], None]] = []
        self.failures = 0
        """Entries and checkpoints the sink could not write (`AuditWriteFailed`)."""

    def watch(self, watcher: Callable[[AuditEntry], None]) -> None:
        """Call `watcher` with every entry written from now on, in the writer's thread, after
        it is written. A watcher's failure never undoes or refuses the entry."""
        self._watchers.append(watcher)

    def watch_checkpoints(self, watcher: Callable[[Checkpoint], None]) -> None:
        """Call `watcher` with every checkpoint from now on, once it is durable in the sink
        (outside the log's lock). A watcher's failure never undoes the checkpoint."""
        self._checkpoint_watchers.append(watcher)

    @property
    def epoch(self) -> int:
        return self._epoch

    def hold(self, epoch: int, serving: Callable[[], bool]) -> None:
        """From now on this log is written under `epoch` (the hearing's lease) and only while
        `serving()` holds: once it does not (the lease's local deadline passed), every write
        is refused `AuditFenced` and closing writes no checkpoint. If the chain's last writer
        did not hand it over (it died, or was stopped), the first entry under the new epoch
        records the takeover: the epochs and the last checkpoint this writer saw."""
        if epoch < 1:
            raise ValueError("an epoch is at least 1")
        with self._lock:
            if epoch < self._head.epoch:
                raise AuditFenced(f"epoch {epoch} is older than the log's {self._head.epoch}")
            self._epoch, self._serving = epoch, serving
            taken = self._head.seq > 0 and self._head.epoch != epoch and not self._head.handed_over
        if taken:
            details = {
                "epoch": epoch,
                "previous_epoch": self._head.epoch,
                "checkpoint_seq": self._head.checkpointed_seq,
            }
            self.record("system", TAKEOVER, details=details)

    def serving(self) -> bool:
        """Whether this log may be written now: open, and its writer still holds the hearing."""
        return not self._closed and self._serving()

    def under_lease(self, write: Callable[[int], _T]) -> _T:
        """Run `write(epoch)` under the log's lock, only if the log may be written: a file
        beside the log (a recording's manifest) that must have one writer is written with the
        same check, right before the write, as an entry is (`docs/cluster.md#leases`)."""
        with self._lock:
            if self._closed:
                raise AuditLogClosed("the audit log is closed")
            if not self._serving():
                raise AuditFenced("this node no longer holds the hearing")
            return write(self._epoch)

    @property
    def head(self) -> ChainHead:
        return self._head

    @property
    def closed(self) -> bool:
        return self._closed

    def record(
        self,
        actor: str,
        action: str,
        *,
        target: str | None = None,
        result: str = "ok",
        details: Mapping[str, object] | None = None,
    ) -> AuditEntry:
        """Append one action or refusal. Takes ids, never names; refuses unsafe details."""
        with self._lock:
            if self._closed:
                raise AuditLogClosed("the audit log is closed")
            if not self._serving():
                raise AuditFenced("this node no longer holds the hearing")
            body = AuditEntry(
                seq=self._head.seq + 1,
                time_ms=self._now_ms(),
                hearing_id=self.hearing_id,
                actor=str(actor),
                action=str(action),
                target=None if target is None else str(target),
                result=str(result),
                details=check_details(details),
                prev=self._head.hash,
                hash=GENESIS,
                epoch=self._epoch,
            )
            entry = replace(body, hash=body.computed_hash())
            self._append(entry)
            self._head = ChainHead(
                entry.seq, entry.hash, self._head.checkpointed_seq, entry.epoch, False
            )
            signed = None
            if entry.seq - self._head.checkpointed_seq >= self._every:
                signed = self._checkpoint(final=False)
        for watcher in self._watchers:
            try:
                watcher(entry)
            except Exception:
                log.exception("a watcher of the audit log of %s failed", self.hearing_id)
        self._tell(signed)
        return entry

    def _tell(self, checkpoint: Checkpoint | None) -> Checkpoint | None:
        """Hand a new checkpoint to the checkpoint watchers; returns it."""
        if checkpoint is not None:
            for watcher in self._checkpoint_watchers:
                try:
                    watcher(checkpoint)
                except Exception:
                    log.exception("a checkpoint watcher of %s failed", self.hearing_id)
        return checkpoint

    def checkpoint(self) -> Checkpoint:
        """Sign the latest entry now."""
        with self._lock:
            if self._closed:
                raise AuditLogClosed("the audit log is closed")
            if not self._serving():
                raise AuditFenced("this node no longer holds the hearing")
            signed = self._checkpoint(final=False)
        self._tell(signed)
        return signed

    def abandon(self) -> None:
        """Close the sink and write nothing: the log was opened by a node that then did not
        get to hold the hearing. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._sink.close()

    def release(self) -> Checkpoint | None:
        """Sign what is unsigned and close the sink, without closing the log for good: a
        later writer continues the chain (a custody log, written one operation at a time).
        Idempotent, like `close`."""
        with self._lock:
            if self._closed:
                return None
            self._closed = True
            try:
                signed = None
                if self._head.seq > self._head.checkpointed_seq and self._serving():
                    signed = self._checkpoint(final=False)
            finally:
                self._sink.close()
        return self._tell(signed)

    def close(self) -> Checkpoint | None:
        """Write the final checkpoint and close the sink. Idempotent: later calls return None."""
        with self._lock:
            if self._closed:
                return None
            self._closed = True
            try:
                signed = self._checkpoint(final=True) if self._serving() else None
            finally:
                self._sink.close()
        return self._tell(signed)

    def _checkpoint(self, *, final: bool) -> Checkpoint:
        unsigned = Checkpoint(
            hearing_id=self.hearing_id,
            seq=self._head.seq,
            hash=self._head.hash,
            time_ms=self._now_ms(),
            final=final,
            key_id=self._key.key_id,
            sig="0" * 128,
            epoch=self._epoch,
        )
        signed = replace(unsigned, sig=self._key.sign(unsigned.signed_message()).hex())
        self._append(signed)
        self._head = replace(self._head, checkpointed_seq=self._head.seq)
        return signed

    def _append(self, record: AuditRecord) -> None:
        """Write to the sink; a disk that refuses is counted and raised as an audit error (the
        chain's head does not move: the next entry follows the last one written)."""
        try:
            self._sink.append(record)
        except OSError as exc:
            self.failures += 1
            reason = exc.strerror or type(exc).__name__
            raise AuditWriteFailed(f"the audit log could not be written: {reason}") from exc

    def _now_ms(self) -> int:
        now = self._clock()
        if not now >= 0:
            raise AuditError("the audit clock went before 1970")
        return int(now * 1000)
