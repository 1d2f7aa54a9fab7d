"""One writer per audit log: entries and checkpoints carry the writer's epoch, a fenced log
writes nothing, a takeover and a handover are reported as such, and a write of a node that had
lost the hearing is found (`audit_stale_epoch`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from security import (
    AuditFenced,
    AuditLog,
    AuditProblem,
    FileAuditSink,
    MemoryAuditSink,
    Secret,
    SigningKey,
    verify,
    verify_file,
)
from security.audit_record import parse_line
from web.cli import main

KEY = SigningKey.from_secret(Secret(bytes(range(32))))
HEARING = "h_epochs1"


def reopen(path: Path) -> AuditLog:
    """The log as a node opening it sees it: the chain continued from the file."""
    head = verify_file(path, KEY.public_key).head
    return AuditLog(HEARING, FileAuditSink(path), KEY, head=head)


def test_entries_and_checkpoints_carry_the_epoch_and_older_lines_still_verify() -> None:
    sink = MemoryAuditSink()
    log = AuditLog(HEARING, sink, KEY)
    log.record("system", "state_restored")  # no epoch: written as before epochs existed
    log.hold(3, lambda: True)
    log.record("system", "phase")
    log.close()
    lines = sink.lines()
    assert b'"epoch"' not in lines[0]
    assert parse_line(lines[1].rstrip(b"\n")).epoch == 3
    assert parse_line(lines[2].rstrip(b"\n")).epoch == 3  # the final checkpoint
    report = verify(lines, KEY.public_key, require_closed=True)
    assert report.ok, report.summary()


def test_a_log_past_its_lease_refuses_every_write_and_closes_without_a_checkpoint() -> None:
    sink = MemoryAuditSink()
    log = AuditLog(HEARING, sink, KEY)
    serving = True
    log.hold(1, lambda: serving)
    log.record("system", "phase")
    serving = False
    with pytest.raises(AuditFenced):
        log.record("p_judge001", "phase")
    with pytest.raises(AuditFenced):
        log.checkpoint()
    assert log.release() is None
    assert len(sink.records) == 1


def test_a_takeover_is_recorded_by_the_new_writer_and_reported_as_such(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    old = AuditLog(HEARING, FileAuditSink(path), KEY, checkpoint_every=2)
    old.hold(1, lambda: True)
    for _ in range(3):
        old.record("system", "phase")  # a checkpoint after entry 2, entry 3 unsigned
    # the old node is stopped here and never closes its chain; the new one takes over
    new = reopen(path)
    new.hold(2, lambda: True)
    new.record("system", "state_restored")
    new.close()
    report = verify_file(path, KEY.public_key, require_closed=True)
    assert report.ok, report.summary()
    assert any(w.startswith("takeover: epoch 1 to 2 at entry 4") for w in report.writers)
    assert "signs entry 2" in report.writers[0]


def test_a_handover_needs_no_takeover_entry_and_is_reported_as_a_handover(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.jsonl"
    old = AuditLog(HEARING, FileAuditSink(path), KEY)
    old.hold(1, lambda: True)
    old.record("system", "phase")
    old.record("system", "handed_over")
    old.release()  # the old node closes its chain with a checkpoint of its epoch
    new = reopen(path)
    new.hold(2, lambda: True)
    new.record("system", "state_restored")
    new.close()
    report = verify_file(path, KEY.public_key, require_closed=True)
    assert report.ok, report.summary()
    assert report.writers == ("handover: epoch 1 to 2 at entry 3",)
    assert b'"takeover"' not in path.read_bytes()


def test_a_write_by_a_node_that_lost_the_hearing_is_found(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    old = AuditLog(HEARING, FileAuditSink(path), KEY)
    old.hold(1, lambda: True)
    old.record("system", "phase")
    new = reopen(path)
    new.hold(2, lambda: True)
    # the old node wakes up and writes without a fence: exactly what the lease prevents
    old.record("p_judge001", "phase")
    report = verify_file(path, KEY.public_key)
    assert AuditProblem.STALE_EPOCH in report.problems, report.summary()


def test_ecourt_audit_verify_reports_a_takeover_and_passes_a_closed_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "log.jsonl"
    old = AuditLog(HEARING, FileAuditSink(path), KEY)
    old.hold(1, lambda: True)
    old.record("system", "phase")
    new = reopen(path)  # the old node died without closing its chain
    new.hold(2, lambda: True)
    new.record("p_judge001", "end_hearing")
    new.close()
    code = main(["audit", "verify", str(path), "--public-key", KEY.public_key.hex()])
    printed = capsys.readouterr().out
    assert code == 0, printed  # closed: verifies without --open
    assert "note: takeover: epoch 1 to 2 at entry 2" in printed
