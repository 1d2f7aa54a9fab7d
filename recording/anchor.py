"""What the hearing's audit logs say about one recording: the anchor outside its directory.

The recorder writes each signed manifest's `seq` and digest to the hearing's audit log
(`recording_manifest`) and checkpoints the log, so the checkpoint goes to the audit checkpoint
store too. Each state of `keys.json` goes the same way (`recording_keys`), to the hearing's log
when the recorder writes it and to the custody log when a hold, a shredding or a rotation does.
A verifier compares the directory with the last *signed* of these entries: an older manifest
(a rollback), one with fewer segments, or another one at the same `seq` is invalid, not
incomplete. Only one version past the log is allowed, and only where the log itself shows a
crash (the recorder signs first and logs second).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from recording.keys import KEYS_ACTION
from security import Checkpoint, verify_file

MANIFEST_ACTION = "recording_manifest"
"""The audit action that anchors a signed manifest: details `seq`, `hash`, `segments`,
`state`."""


@dataclass(frozen=True)
class Anchor:
    """One signed entry that fixes a version: its `seq`, digest and the other details."""

    seq: int
    hash: str
    state: str = ""
    held: bool = False
    shredded: bool = False
    epoch: int = 0
    """The epoch of the entry (the writer's lease, `docs/audit.md#epochs`); 0 without one."""


@dataclass
class LogView:
    """What the logs say about one recording."""

    manifest: Anchor | None = None
    keys: Anchor | None = None
    started: bool = False
    stopped: bool = False
    restarted_unstopped: bool = False
    shredded: bool = False

    @property
    def crashed(self) -> bool:
        """The log shows the recording cut short at least once: started again without a
        stop, or started and (still) never stopped."""
        return self.restarted_unstopped or (self.started and not self.stopped)


@dataclass(frozen=True)
class LogFinding:
    code: str
    log: str
    message: str


def read_logs(
    recording_id: str,
    logs: list[Path],
    audit_key: bytes | None,
    anchor: Checkpoint | None = None,
) -> tuple[LogView, list[LogFinding]]:
    """Read each log that exists (the first is the hearing's, which must exist); only
    entries covered by a valid checkpoint anchor anything when `audit_key` is given."""
    view, findings = LogView(), []
    for number, log in enumerate(logs):
        try:
            data = log.read_bytes()
        except OSError:
            if number == 0:
                findings.append(LogFinding("audit_missing", log.name, "cannot be read"))
            continue
        signed_seq: int | None = None
        if audit_key is not None:
            report = verify_file(log, audit_key, anchor=anchor if number == 0 else None)
            for finding in report.findings:
                code = "audit_" + str(finding.problem.value).removeprefix("audit_")
                findings.append(LogFinding(code, log.name, str(finding)))
            signed_seq = report.signed_seq
        _read_entries(view, recording_id, data, signed_seq)
    return view, findings


def _read_entries(view: LogView, recording_id: str, data: bytes, signed_seq: int | None) -> None:
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("type") != "entry":
            continue
        if record.get("target") != recording_id or record.get("result") != "ok":
            continue
        action = record.get("action")
        seq = record.get("seq")
        signed = signed_seq is None or (isinstance(seq, int) and seq <= signed_seq)
        if action == "recording_started":
            view.restarted_unstopped |= view.started and not view.stopped
            view.started, view.stopped = True, False
        elif action == "recording_stopped":
            view.stopped = True
        elif action == "recording_shredded" and signed:
            view.shredded = True
        elif action in (MANIFEST_ACTION, KEYS_ACTION) and signed:
            found = _anchor(record.get("details"), record.get("epoch"))
            if found is None:
                continue
            if action == MANIFEST_ACTION:
                view.manifest = _later(view.manifest, found)
            else:
                view.keys = _later(view.keys, found)
                view.shredded |= found.shredded


def _anchor(details: object, epoch: object = 0) -> Anchor | None:
    if not isinstance(details, dict):
        return None
    seq, digest = details.get("seq"), details.get("hash")
    if type(seq) is not int or not isinstance(digest, str):
        return None
    return Anchor(
        seq,
        digest,
        state=str(details.get("state", "")),
        held=details.get("held") is True,
        shredded=details.get("shredded") is True,
        epoch=epoch if type(epoch) is int and epoch > 0 else 0,
    )


def _later(kept: Anchor | None, found: Anchor) -> Anchor:
    return found if kept is None or found.seq >= kept.seq else kept


def compare(
    what: str, seq: int, digest: str, anchored: Anchor | None, crashed: bool
) -> tuple[str, str] | None:
    """(code, reason) if the version on disk is not the one the log anchored; None if it
    is, or if it is the one version past the log that a crash the log shows explains."""
    if anchored is None:
        return f"{what}_unanchored", f"the audit log holds no signed {what} of this recording"
    if seq < anchored.seq:
        return f"{what}_rolled_back", f"rolled back to seq {seq}; the log says {anchored.seq}"
    if seq == anchored.seq and digest != anchored.hash:
        return f"{what}_diverged", f"seq {seq} is not the version the log signed"
    if seq == anchored.seq or (seq == anchored.seq + 1 and crashed):
        return None
    return f"{what}_unanchored", f"at seq {seq}; the log says {anchored.seq}"
