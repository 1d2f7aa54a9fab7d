"""The exhibits of every hearing on this node: submitted (streamed to disk within a bound,
checked, numbered, sealed), admitted or refused, listed, and opened again for an export or a
page. Every step and every refusal is written to the audit log the caller hands in, with the
exhibit's SHA-256.

```
<data dir>/exhibits/<hearing id>/
    numbers/P-1               taken with O_EXCL: two nodes sharing the directory never give
                              the same number twice
    x-<16 hex>/record.json    the record (recording/exhibits/record.py)
    x-<16 hex>/content.seal   the content, sealed with its own data key (docs/recording-format.md)
    incoming/                 plaintext being checked (0700), removed once sealed or refused
```
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Final

from hearing.errors import InvalidHearing
from hearing.exhibits import (
    ExhibitSide,
    ExhibitState,
    check_may_decide,
    exhibit_number,
    exhibit_side,
)
from hearing.model import Role, check_id
from recording.exhibits.content import MAX_PIXELS, Inspected, inspect_file
from recording.exhibits.errors import (
    ExhibitDecided,
    ExhibitNotAdmitted,
    ExhibitNotFound,
    ExhibitRefusal,
    ExhibitRefused,
    ExhibitTampered,
)
from recording.exhibits.record import (
    Decision,
    ExhibitRecord,
    check_exhibit_id,
    check_title,
    new_exhibit_id,
)
from recording.layout import write_atomically
from security import AuditLog
from security.keyring import KeyRing
from security.sealing import DataKey, SealBroken, SealedWriter, SealHeader, open_sealed_into

DEFAULT_MAX_BYTES: Final = 50 * 1024 * 1024
PIECE: Final = 1024 * 1024
"""Bytes sealed per chunk and read per step when sealing or opening an exhibit."""
CHECKS_AT_ONCE: Final = 2
"""Uploads checked at the same time (in threads); more wait their turn."""
TRACK: Final = "exhibit"
AuditOpener = Callable[[], contextlib.AbstractContextManager[AuditLog]]
"""Opens the audit log an operation writes to, for that entry only (a custody log is never
held open across an await)."""


@dataclass(frozen=True, slots=True)
class Submitter:
    participant_id: str
    role: Role


class ExhibitLedger:
    """Not a long-lived service: it holds no task; its methods run one operation each."""

    def __init__(
        self, directory: Path, keyring: KeyRing, *, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.directory = directory
        self._keyring = keyring
        self.max_bytes = max_bytes
        self.max_pixels = MAX_PIXELS
        self._checks = asyncio.Semaphore(CHECKS_AT_ONCE)
        self._lock = threading.Lock()

    def hearing_dir(self, hearing_id: str) -> Path:
        try:
            check_id(hearing_id, "hearing_id")
        except InvalidHearing:
            raise ExhibitNotFound("no such exhibit") from None
        return self.directory / hearing_id

    def sweep_incoming(self, older_than: float = 600.0) -> int:
        """Delete uploads a crash left half-checked (plaintext) in every hearing's `incoming/`,
        once they are `older_than` seconds old (another node sharing the directory may be
        checking a younger one). Returns how many were deleted."""
        if not self.directory.is_dir():
            return 0
        deadline = time.time() - older_than
        swept = 0
        for part in self.directory.glob("*/incoming/*.part"):
            with contextlib.suppress(OSError):
                if part.stat().st_mtime < deadline:
                    part.unlink()
                    swept += 1
        return swept

    # -- submission ------------------------------------------------------------------------------

    async def submit(
        self,
        hearing_id: str,
        body: AsyncIterator[bytes],
        submitter: Submitter,
        audit: AuditOpener,
        *,
        title: str,
        side: ExhibitSide | None = None,
        restricted: bool = False,
    ) -> ExhibitRecord:
        """Stream `body` to disk (refused past `max_bytes`), check it, number and seal it.
        The submitter's role and side are checked before a byte is read."""
        sided = exhibit_side(submitter.role, side)
        try:
            check_title(title)
        except ValueError as exc:
            raise InvalidHearing(str(exc), field="title") from exc
        root = self.hearing_dir(hearing_id)
        incoming = root / "incoming"
        incoming.mkdir(mode=0o700, parents=True, exist_ok=True)
        scratch = incoming / f"{secrets.token_hex(8)}.part"
        digest = hashlib.sha256()
        try:
            try:
                await self._receive(body, scratch, digest)
                async with self._checks:
                    inspected = await asyncio.to_thread(inspect_file, scratch, self.max_pixels)
            except ExhibitRefused as refused:
                with audit() as log:  # the hash of what was received, whole or up to the bound
                    log.record(
                        submitter.participant_id,
                        "exhibit_submitted",
                        result=refused.code,
                        details={"sha256": digest.hexdigest(), "size": scratch.stat().st_size},
                    )
                raise
            exhibit_id = new_exhibit_id()
            record = await asyncio.to_thread(
                self._seal_and_number,
                hearing_id,
                exhibit_id,
                scratch,
                inspected,
                digest.hexdigest(),
                submitter,
                sided,
                title,
                restricted,
            )
        finally:
            scratch.unlink(missing_ok=True)
        with audit() as log:
            log.record(
                submitter.participant_id,
                "exhibit_submitted",
                target=record.id,
                details={
                    "number": record.number,
                    "sha256": record.sha256,
                    "size": record.size,
                    "kind": record.kind.value,
                    "restricted": record.restricted,
                },
            )
        return record

    async def _receive(
        self, body: AsyncIterator[bytes], scratch: Path, digest: hashlib._Hash
    ) -> int:
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        size = 0
        with os.fdopen(fd, "wb") as out:
            async for piece in body:
                size += len(piece)
                if size > self.max_bytes:
                    raise ExhibitRefused(
                        ExhibitRefusal.TOO_LARGE,
                        f"an exhibit is at most {self.max_bytes} bytes",
                    )
                digest.update(piece)
                out.write(piece)
        if size == 0:
            raise ExhibitRefused(ExhibitRefusal.EMPTY, "the upload is empty")
        return size

    def _seal_and_number(
        self,
        hearing_id: str,
        exhibit_id: str,
        scratch: Path,
        inspected: Inspected,
        sha256: str,
        submitter: Submitter,
        side: ExhibitSide,
        title: str,
        restricted: bool,
    ) -> ExhibitRecord:
        folder = self.hearing_dir(hearing_id) / exhibit_id
        folder.mkdir(mode=0o700)
        key = DataKey.generate("k-" + secrets.token_hex(8))
        wrapped = self._keyring.wrap(key, _context(hearing_id, exhibit_id))
        header = SealHeader(exhibit_id, hearing_id, TRACK, 0, key.key_id, key.new_nonce_prefix())
        sealed = folder / "content.seal"
        fd = os.open(sealed, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as sink, scratch.open("rb") as source:
            writer = SealedWriter(sink, key, header, chunk_bytes=PIECE, chunk_seconds=3600.0)
            while piece := source.read(PIECE):
                writer.write(piece)
            writer.close()
            sink.flush()
            os.fsync(sink.fileno())
        record = ExhibitRecord(
            id=exhibit_id,
            hearing_id=hearing_id,
            number=self._take_number(hearing_id, side),
            side=side,
            kind=inspected.kind,
            size=inspected.size,
            sha256=sha256,
            pages=inspected.pages,
            title=title,
            submitted_by=submitter.participant_id,
            submitter_role=submitter.role.value,
            submitted_at_ms=int(time.time() * 1000),
            restricted=restricted,
            key=wrapped,
        )
        write_atomically(folder / "record.json", record.to_bytes())
        return record

    def _take_number(self, hearing_id: str, side: ExhibitSide) -> str:
        numbers = self.hearing_dir(hearing_id) / "numbers"
        numbers.mkdir(mode=0o700, exist_ok=True)
        ordinal = 1 + sum(1 for p in numbers.iterdir() if p.name.startswith(f"{side.value}-"))
        while True:
            number = exhibit_number(side, ordinal)
            try:
                os.close(os.open(numbers / number, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                ordinal += 1
                continue
            return number

    # -- decisions -------------------------------------------------------------------------------

    def decide(
        self,
        hearing_id: str,
        exhibit_id: str,
        actor: Submitter,
        admitted: bool,
        audit: AuditOpener,
    ) -> ExhibitRecord:
        """Admit or refuse a submitted exhibit; audited with its hash. A decision is final."""
        check_may_decide(actor.role)
        action = "exhibit_admitted" if admitted else "exhibit_refused"
        with self._lock, audit() as log:
            record = self.get(hearing_id, exhibit_id)
            if record.state is not ExhibitState.SUBMITTED:
                log.record(
                    actor.participant_id,
                    action,
                    target=record.id,
                    result=ExhibitDecided.code,
                    details={"number": record.number, "sha256": record.sha256},
                )
                raise ExhibitDecided(f"{record.number} was already {record.state.value}")
            entry = log.record(
                actor.participant_id,
                action,
                target=record.id,
                details={
                    "number": record.number,
                    "sha256": record.sha256,
                    "restricted": record.restricted,
                },
            )
            state = ExhibitState.ADMITTED if admitted else ExhibitState.REFUSED
            decision = Decision(
                state, actor.participant_id, actor.role.value, entry.time_ms, entry.hash
            )
            record = replace(record, decisions=(*record.decisions, decision))
            path = self.hearing_dir(hearing_id) / record.id / "record.json"
            write_atomically(path, record.to_bytes())
        return record

    # -- reading ---------------------------------------------------------------------------------

    def get(self, hearing_id: str, exhibit_id: str) -> ExhibitRecord:
        checked = check_exhibit_id(exhibit_id)
        if checked is None:
            raise ExhibitNotFound("no such exhibit")
        path = self.hearing_dir(hearing_id) / checked / "record.json"
        try:
            record = ExhibitRecord.from_bytes(path.read_bytes())
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ExhibitNotFound("no such exhibit") from exc
        if record.hearing_id != hearing_id or record.id != checked:
            raise ExhibitNotFound("no such exhibit")
        return record

    def of_hearing(self, hearing_id: str) -> list[ExhibitRecord]:
        """The hearing's exhibits, P before D before C, each side in number order."""
        root = self.hearing_dir(hearing_id)
        records = []
        if root.is_dir():
            for folder in root.iterdir():
                if check_exhibit_id(folder.name) is None:
                    continue
                with contextlib.suppress(ExhibitNotFound):
                    records.append(self.get(hearing_id, folder.name))
        order = {side: i for i, side in enumerate(ExhibitSide)}
        return sorted(records, key=lambda r: (order[r.side], r.ordinal))

    def admitted(self, hearing_id: str) -> Iterator[ExhibitRecord]:
        return (r for r in self.of_hearing(hearing_id) if r.state is ExhibitState.ADMITTED)

    def open_into(self, record: ExhibitRecord, sink: BinaryIO) -> None:
        """Decrypt an admitted exhibit into `sink` and check its SHA-256 on the way; on
        any error `sink` holds a prefix to discard."""
        if record.state is not ExhibitState.ADMITTED:
            raise ExhibitNotAdmitted(f"{record.number} is not admitted")
        key = self._keyring.unwrap(record.key, _context(record.hearing_id, record.id))
        digest = _HashingSink(sink)
        sealed = self.hearing_dir(record.hearing_id) / record.id / "content.seal"
        try:
            opened = open_sealed_into(sealed, lambda _key_id: key, digest)
        except SealBroken as exc:
            raise ExhibitTampered(f"{record.number}'s sealed content does not open: {exc}") from exc
        header = opened.header
        if (header.recording_id, header.hearing_id, header.track) != (
            record.id,
            record.hearing_id,
            TRACK,
        ) or digest.hexdigest() != record.sha256:
            raise ExhibitTampered(f"{record.number}'s sealed content is not the one submitted")


def read_content(ledger: ExhibitLedger, record: ExhibitRecord) -> bytes:
    """An admitted exhibit's content in memory (a page to render), checked against its hash."""
    out = io.BytesIO()
    ledger.open_into(record, out)
    return out.getvalue()


def _context(hearing_id: str, exhibit_id: str) -> str:
    """What the data key is bound to when wrapped: this exhibit of this hearing."""
    return f"exhibit|{hearing_id}|{exhibit_id}"


class _HashingSink:
    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self._hash = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self._sink.write(data)
        return len(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
