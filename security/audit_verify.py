"""Offline verification of an audit log: the hash chain, the order and the signed checkpoints.

`verify(lines, public_key)` never raises on bad input: every malformed or tampered line becomes
a `Finding` with one `AuditProblem`. Entries after the last signed checkpoint are not an error,
but the report counts them (`unsigned_tail`). A log without its final checkpoint is not closed;
`require_closed=True` makes that a `TRUNCATED` problem, which is how a finished hearing's log
should be checked.

`anchor` is a checkpoint kept outside the file (the audit checkpoint store,
`security/audit_store.py`): someone who can write the file, and so read the node's key, can
cut it back or rewrite it and sign it again so that it verifies on its own; it cannot also
reach the store. A file that ends before the anchor is `ROLLED_BACK`, one whose entry at the
anchor's seq is another is `DIVERGED`, and an anchor that is not this log's `ANCHOR_INVALID`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import BinaryIO

from security.audit import HANDED_OVER, TAKEOVER, ChainHead
from security.audit_errors import AuditTampered, MalformedAuditLine
from security.audit_record import (
    GENESIS,
    MAX_LINE_BYTES,
    AuditEntry,
    Checkpoint,
    parse_line,
)
from security.ed25519 import check_public_key, key_id, verify_signature

MAX_FINDINGS = 200
"""Findings kept in a report; `finding_count` and `problems` still count every one."""


class AuditProblem(StrEnum):
    """Why a log fails verification. The same value goes to the CLI, the logs and the API."""

    EDITED = "audit_edited"
    DELETED = "audit_deleted"
    REORDERED = "audit_reordered"
    INSERTED = "audit_inserted"
    BAD_SIGNATURE = "audit_bad_signature"
    TRUNCATED = "audit_truncated"
    MALFORMED = "audit_malformed"
    ROLLED_BACK = "audit_rolled_back"
    """The file ends before the checkpoint kept in the store (cut, rolled back or deleted)."""
    DIVERGED = "audit_diverged"
    """The file's entry at the stored checkpoint's seq is not the one that was signed."""
    ANCHOR_INVALID = "audit_anchor_invalid"
    """The checkpoint kept in the store is not this log's, or its signature is bad."""
    STALE_EPOCH = "audit_stale_epoch"
    """A record written under an older epoch after one of a newer epoch: a node wrote after
    it had lost the hearing to another (`docs/cluster.md`)."""


ANCHOR_PROBLEMS = frozenset(
    {AuditProblem.ROLLED_BACK, AuditProblem.DIVERGED, AuditProblem.ANCHOR_INVALID}
)
"""What only the stored checkpoint can show: a node refuses to continue such a log."""


@dataclass(frozen=True, slots=True)
class Finding:
    problem: AuditProblem
    line: int | None
    message: str

    def __str__(self) -> str:
        where = "log" if self.line is None else f"line {self.line}"
        return f"{where}: {self.problem.value}: {self.message}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What `verify` found. `ok` means no problem; read `notes` for what is visible but fine."""

    findings: tuple[Finding, ...]
    problems: frozenset[AuditProblem]
    finding_count: int
    hearing_id: str | None
    entries: int
    checkpoints: int
    last_seq: int
    last_hash: str
    signed_seq: int
    unsigned_tail: int
    closed: bool
    epoch: int = 0
    """The last entry's epoch (0: written without one)."""
    handed_over: bool = False
    """The last entry is a signed `handed_over`: its writer closed its chain."""
    writers: tuple[str, ...] = ()
    """Every change of writer (epoch), in order: a handover or a takeover, and where."""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def head(self) -> ChainHead:
        """Where the chain stands, to resume an unclosed log after a crash."""
        return ChainHead(
            self.last_seq, self.last_hash, self.signed_seq, self.epoch, self.handed_over
        )

    @property
    def notes(self) -> tuple[str, ...]:
        notes = list(self.writers)
        if self.unsigned_tail:
            notes.append(f"unsigned tail: {self.unsigned_tail} entries")
        if not self.closed:
            notes.append("not closed: no final checkpoint")
        return tuple(notes)

    def summary(self) -> str:
        head = (
            f"{self.entries} entries, {self.checkpoints} signed checkpoints, "
            f"signed through entry {self.signed_seq}"
        )
        lines = [f"audit log {'OK' if self.ok else 'FAILED'}: {head}"]
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  {finding}" for finding in self.findings]
        if self.finding_count > len(self.findings):
            lines.append(f"  ... and {self.finding_count - len(self.findings)} more problems")
        return "\n".join(lines)

    def raise_if_tampered(self) -> None:
        if not self.ok:
            raise AuditTampered(self)


def verify(
    lines: Iterable[bytes | str],
    public_key: bytes,
    *,
    require_closed: bool = False,
    anchor: Checkpoint | None = None,
) -> VerifyReport:
    """Check a log given as lines (each with or without its trailing newline)."""
    verifier = _Verifier(check_public_key(public_key), anchor)
    for number, item in enumerate(lines, start=1):
        verifier.feed(number, *_as_line(item), cut=False)
    return verifier.finish(require_closed)


def verify_file(
    path: str | os.PathLike[str],
    public_key_bytes: bytes,
    *,
    require_closed: bool = False,
    anchor: Checkpoint | None = None,
) -> VerifyReport:
    """Check a log file. A last line cut mid-record is reported as `TRUNCATED`."""
    verifier = _Verifier(check_public_key(public_key_bytes), anchor)
    with open(path, "rb") as handle:
        for number, (line, ended, too_long) in enumerate(_file_lines(handle), start=1):
            if too_long:
                verifier.add(AuditProblem.MALFORMED, number, "the line is too long")
            else:
                verifier.feed(number, line, well_formed=True, cut=not ended)
    return verifier.finish(require_closed)


def _as_line(item: bytes | str) -> tuple[bytes, bool]:
    """The line without its newline, and whether it could be a line at all."""
    if isinstance(item, str):
        try:
            item = item.encode("utf-8")
        except UnicodeEncodeError:
            return b"", False
    if item.endswith(b"\n"):
        item = item[:-1]
    return item, b"\n" not in item


def _file_lines(handle: BinaryIO) -> Iterator[tuple[bytes, bool, bool]]:
    """(line without newline, ended with a newline, was too long), reading at most a line."""
    read = handle.readline
    while chunk := read(MAX_LINE_BYTES + 2):
        if chunk.endswith(b"\n"):
            yield chunk[:-1], True, False
        elif len(chunk) <= MAX_LINE_BYTES + 1:
            yield chunk, False, False
        else:
            while (more := read(MAX_LINE_BYTES)) and not more.endswith(b"\n"):
                pass
            yield b"", bool(more), True


@dataclass
class _Seen:
    """A checkpoint and what came before it in the file."""

    line: int
    checkpoint: Checkpoint
    max_seq_before: int
    signs_an_earlier_line: bool
    max_epoch_before: int = 0


@dataclass
class _Verifier:
    public_key: bytes
    anchor: Checkpoint | None = None
    findings: list[Finding] = field(default_factory=list)
    problems: set[AuditProblem] = field(default_factory=set)
    count: int = 0
    hearing_id: str | None = None
    entries: list[tuple[int, AuditEntry]] = field(default_factory=list)
    checkpoints: list[_Seen] = field(default_factory=list)
    seen_seqs: set[int] = field(default_factory=set)
    max_seq: int = 0
    max_epoch: int = 0
    writers: list[str] = field(default_factory=list)

    def add(self, problem: AuditProblem, line: int | None, message: str) -> None:
        self.problems.add(problem)
        self.count += 1
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(Finding(problem, line, message))

    def feed(self, number: int, line: bytes, well_formed: bool = True, *, cut: bool) -> None:
        try:
            if not well_formed:
                raise MalformedAuditLine("the item is not one line of UTF-8")
            record = parse_line(line)
        except MalformedAuditLine as exc:
            if cut:
                self.add(AuditProblem.TRUNCATED, number, "the file ends in the middle of a line")
            else:
                self.add(AuditProblem.MALFORMED, number, exc.message)
            return
        if self.hearing_id is None:
            self.hearing_id = record.hearing_id
        elif record.hearing_id != self.hearing_id:
            self.add(AuditProblem.INSERTED, number, f"a record of hearing {record.hearing_id}")
            return
        if isinstance(record, Checkpoint):
            earlier = record.seq in self.seen_seqs or record.seq == 0
            self.checkpoints.append(_Seen(number, record, self.max_seq, earlier, self.max_epoch))
            if record.epoch and record.epoch < self.max_epoch:
                self.add(
                    AuditProblem.STALE_EPOCH,
                    number,
                    f"a checkpoint of epoch {record.epoch} after entries of epoch "
                    f"{self.max_epoch}: written by a node that had lost the hearing",
                )
            return
        if record.computed_hash() != record.hash:
            self.add(AuditProblem.EDITED, number, f"entry {record.seq} does not match its hash")
        if record.epoch < self.max_epoch:
            self.add(
                AuditProblem.STALE_EPOCH,
                number,
                f"entry {record.seq} of epoch {record.epoch} after entries of epoch "
                f"{self.max_epoch}: written by a node that had lost the hearing",
            )
        self.entries.append((number, record))
        self.seen_seqs.add(record.seq)
        self.max_seq = max(self.max_seq, record.seq)
        self.max_epoch = max(self.max_epoch, record.epoch)

    def finish(self, require_closed: bool) -> VerifyReport:
        by_seq = self._check_order()
        self._check_chain(by_seq)
        signed_seq, valid, final_line = self._check_checkpoints(by_seq)
        if final_line is not None:
            for number, entry in self.entries:
                if number > final_line:
                    self.add(
                        AuditProblem.INSERTED, number, f"entry {entry.seq} after the final one"
                    )
        elif require_closed:
            self.add(
                AuditProblem.TRUNCATED,
                None,
                "no final checkpoint: the log was cut, or its writer stopped before closing it",
            )
        self._check_anchor(by_seq, closed=final_line is not None)
        self._name_writers(by_seq)
        last = by_seq[self.max_seq][0] if by_seq else None
        return VerifyReport(
            findings=tuple(self.findings),
            problems=frozenset(self.problems),
            finding_count=self.count,
            hearing_id=self.hearing_id,
            entries=len(self.entries),
            checkpoints=valid,
            last_seq=self.max_seq,
            last_hash=by_seq[self.max_seq][0].hash if by_seq else GENESIS,
            signed_seq=signed_seq,
            unsigned_tail=sum(1 for seq in by_seq if seq > signed_seq),
            closed=final_line is not None,
            epoch=0 if last is None else last.epoch,
            handed_over=last is not None and last.action == HANDED_OVER and signed_seq >= last.seq,
            writers=tuple(self.writers),
        )

    def _name_writers(self, by_seq: dict[int, list[AuditEntry]]) -> None:
        """Each rise of the epoch along the chain: a handover (the previous writer's last
        entry is a signed `handed_over`), a takeover (the new writer's first entry says so),
        or neither (a log written before epochs, or a writer that said nothing)."""
        signed = {seen.checkpoint.seq for seen in self.checkpoints}
        previous: AuditEntry | None = None
        for seq in sorted(by_seq):
            entry = by_seq[seq][0]
            if previous is not None and entry.epoch > previous.epoch:
                change = f"epoch {previous.epoch} to {entry.epoch} at entry {seq}"
                if entry.action == TAKEOVER:
                    seen = dict(entry.details).get("checkpoint_seq", "?")
                    self.writers.append(
                        f"takeover: {change} (the previous writer did not hand over; "
                        f"the last checkpoint the new one saw signs entry {seen})"
                    )
                elif previous.action == HANDED_OVER and previous.seq in signed:
                    self.writers.append(f"handover: {change}")
                else:
                    self.writers.append(f"new writer: {change}, without a handover entry")
            previous = entry

    def _check_order(self) -> dict[int, list[AuditEntry]]:
        by_seq: dict[int, list[AuditEntry]] = {}
        first_line: dict[int, int] = {}
        highest = 0
        for number, entry in self.entries:
            if entry.seq in by_seq:
                self.add(
                    AuditProblem.INSERTED,
                    number,
                    f"a second entry {entry.seq} (the first is on line {first_line[entry.seq]})",
                )
            elif entry.seq < highest:
                self.add(
                    AuditProblem.REORDERED, number, f"entry {entry.seq} comes after entry {highest}"
                )
            highest = max(highest, entry.seq)
            by_seq.setdefault(entry.seq, []).append(entry)
            first_line.setdefault(entry.seq, number)
        missing_from: int | None = None
        for seq in range(1, highest + 2):
            if seq not in by_seq and seq <= highest:
                missing_from = seq if missing_from is None else missing_from
            elif missing_from is not None:
                span = f"{missing_from}" if missing_from == seq - 1 else f"{missing_from}-{seq - 1}"
                self.add(AuditProblem.DELETED, first_line[seq], f"entries {span} are missing")
                missing_from = None
        return by_seq

    def _check_chain(self, by_seq: dict[int, list[AuditEntry]]) -> None:
        line_of = {id(entry): number for number, entry in self.entries}
        for seq, group in sorted(by_seq.items()):
            if len(group) > 1 or (seq > 1 and seq - 1 not in by_seq):
                continue
            before = {GENESIS} if seq == 1 else {entry.hash for entry in by_seq[seq - 1]}
            if group[0].prev not in before:
                self.add(
                    AuditProblem.EDITED,
                    line_of[id(group[0])],
                    f"entry {seq} does not chain to entry {seq - 1}: one of them was rewritten",
                )

    def _check_checkpoints(
        self, by_seq: dict[int, list[AuditEntry]]
    ) -> tuple[int, int, int | None]:
        signed_seq, valid, final_line = 0, 0, None
        expected_key = key_id(self.public_key)
        for seen in self.checkpoints:
            cp, number = seen.checkpoint, seen.line
            if not verify_signature(self.public_key, bytes.fromhex(cp.sig), cp.signed_message()):
                other = "" if cp.key_id == expected_key else f" (it names key {cp.key_id})"
                self.add(
                    AuditProblem.BAD_SIGNATURE,
                    number,
                    f"the checkpoint of entry {cp.seq} has a bad signature{other}",
                )
                continue
            hashes = {GENESIS} if cp.seq == 0 else {entry.hash for entry in by_seq.get(cp.seq, [])}
            if not hashes:
                if cp.seq > self.max_seq:
                    self.add(
                        AuditProblem.TRUNCATED,
                        number,
                        f"truncated after checkpoint: it signs entry {cp.seq}, "
                        f"but the entries end at {self.max_seq}",
                    )
                continue
            if cp.hash not in hashes:
                self.add(
                    AuditProblem.EDITED, number, f"entry {cp.seq} is not the entry that was signed"
                )
                continue
            if not seen.signs_an_earlier_line:
                self.add(AuditProblem.REORDERED, number, f"the checkpoint precedes entry {cp.seq}")
            elif seen.max_seq_before > cp.seq:
                self.add(
                    AuditProblem.REORDERED,
                    number,
                    f"the checkpoint of entry {cp.seq} comes after entry {seen.max_seq_before}",
                )
            valid += 1
            signed_seq = max(signed_seq, cp.seq)
            if cp.final and final_line is None:
                final_line = number
        return signed_seq, valid, final_line

    def _check_anchor(self, by_seq: dict[int, list[AuditEntry]], *, closed: bool) -> None:
        """Compare the file with the checkpoint kept outside it, in the store."""
        cp = self.anchor
        if cp is None:
            return
        ours = self.hearing_id is None or cp.hearing_id == self.hearing_id
        if not ours or not verify_signature(
            self.public_key, bytes.fromhex(cp.sig), cp.signed_message()
        ):
            self.add(
                AuditProblem.ANCHOR_INVALID,
                None,
                f"the stored checkpoint of entry {cp.seq} is not this log's or is not signed "
                "by this key",
            )
        elif cp.seq > self.max_seq:
            self.add(
                AuditProblem.ROLLED_BACK,
                None,
                f"the store holds a checkpoint of entry {cp.seq}, but the file's entries end "
                f"at {self.max_seq}: it was cut back or replaced",
            )
        elif cp.seq > 0 and cp.hash not in {entry.hash for entry in by_seq.get(cp.seq, [])}:
            self.add(
                AuditProblem.DIVERGED,
                None,
                f"entry {cp.seq} is not the entry whose checkpoint the store holds: "
                "the file was rewritten",
            )
        elif cp.final and not closed:
            self.add(
                AuditProblem.ROLLED_BACK,
                None,
                "the store holds the log's final checkpoint, but the file has none",
            )
