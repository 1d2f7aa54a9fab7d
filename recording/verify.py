"""Offline verification of a recording directory: the manifest's signature, its hash chain,
every segment's hash, and (given the key ring) every chunk's authentication tag and the
completeness of each segment; with the hearing's audit log, whether an unfinished recording
was cut by a crash or is still running.

Nothing here writes. Every finding carries a stable code and says where it is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from recording.errors import RecordingError
from recording.keys import RecordingKeys
from recording.layout import RecordingPaths
from recording.manifest import Manifest, chain_problems, read_signed
from security import SecurityError, verify_file
from security.keyring import KeyRing
from security.sealing import open_sealed


@dataclass(frozen=True)
class Problem:
    code: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.code} at {self.where}: {self.reason}"


@dataclass(frozen=True)
class RecordingReport:
    recording_id: str
    problems: tuple[Problem, ...]
    incomplete: tuple[str, ...]
    """Why the recording is not whole, though nothing in it was altered."""
    segments: int
    chunks_authenticated: int
    tags_checked: bool
    crashed: bool | None
    """True if the audit log shows the recording was cut short; None without the log."""

    @property
    def status(self) -> str:
        if self.problems:
            return "invalid"
        return "incomplete" if self.incomplete else "valid"

    def summary(self) -> str:
        lines = [
            f"recording {self.recording_id}: {self.status}",
            f"  {self.segments} segments, {self.chunks_authenticated} chunks authenticated"
            + ("" if self.tags_checked else " (no key ring: chunk tags not checked)"),
        ]
        if self.crashed is not None:
            lines.append("  the audit log shows " + ("a crash" if self.crashed else "no crash"))
        lines += [f"  incomplete: {why}" for why in self.incomplete]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


class _Check:
    def __init__(self, paths: RecordingPaths) -> None:
        self.paths = paths
        self.problems: list[Problem] = []
        self.incomplete: list[str] = []
        self.chunks = 0

    def problem(self, code: str, where: str, reason: str) -> None:
        self.problems.append(Problem(code, where, reason))


def verify_recording(
    root: Path,
    *,
    keyring: KeyRing | None = None,
    trusted_keys: frozenset[bytes] | None = None,
    audit_log: Path | None = None,
    audit_key: bytes | None = None,
) -> RecordingReport:
    paths = RecordingPaths(root)
    check = _Check(paths)
    try:
        signed = read_signed(paths.manifest)
    except RecordingError as exc:
        check.problem("manifest_invalid", "manifest.json", str(exc))
        return RecordingReport(root.name, tuple(check.problems), (), 0, 0, False, None)
    manifest = signed.manifest
    if not signed.signature_valid:
        check.problem("manifest_signature", "manifest.json", "the signature does not match")
    if trusted_keys is not None and signed.public_key not in trusted_keys:
        check.problem("manifest_untrusted", "manifest.json", "signed by a key you do not trust")
    if manifest.recording_id != root.name:
        check.problem("manifest_misplaced", "manifest.json", "it names another recording")
    for reason in chain_problems(manifest):
        check.problem("chain_broken", "manifest.json", reason)
    keys = _keys(check, keyring)
    _check_segments(check, manifest, keys)
    if manifest.state != "stopped":
        check.incomplete.append(f"the recording was never stopped (state {manifest.state})")
    crashed = None
    if audit_log is not None:
        crashed = _check_audit(check, manifest, audit_log, audit_key)
    return RecordingReport(
        manifest.recording_id,
        tuple(check.problems),
        tuple(check.incomplete),
        len(manifest.segments),
        check.chunks,
        keys is not None,
        crashed,
    )


def _keys(check: _Check, keyring: KeyRing | None) -> RecordingKeys | None:
    if keyring is None:
        return None
    keys = RecordingKeys(check.paths, keyring)
    try:
        stored = keys.load()
    except RecordingError as exc:
        check.problem("keys_invalid", "keys.json", str(exc))
        return None
    if stored.shredded_at_ms is not None:
        check.incomplete.append("the data keys were destroyed (shredded): media unreadable")
        return None
    return keys


def _check_segments(check: _Check, manifest: Manifest, keys: RecordingKeys | None) -> None:
    listed = set()
    tracks = {t.id for t in manifest.tracks}
    for entry in manifest.segments:
        listed.add(entry.id)
        where = f"segment {entry.id}"
        try:
            data = check.paths.segment(entry.id).read_bytes()
        except (OSError, RecordingError):
            check.problem("segment_missing", where, "the file is gone")
            continue
        if hashlib.sha256(data).hexdigest() != entry.sha256 or len(data) != entry.sealed_bytes:
            check.problem("segment_altered", where, "its bytes differ from the manifest's hash")
        if entry.cause == "closed" and entry.track not in tracks:
            check.problem("segment_unknown_track", where, "the manifest lists no such track")
        if keys is not None:
            _open(check, entry.id, data, keys, entry.complete, entry.track, entry.chunks)
        if not entry.complete:
            check.incomplete.append(f"{where} was cut short by a crash")
    for segment_id in check.paths.segment_ids_on_disk():
        if segment_id not in listed:
            if keys is not None:
                _open(check, segment_id, check.paths.segment(segment_id).read_bytes(), keys)
            check.incomplete.append(f"segment {segment_id} is not in the manifest yet")


def _open(
    check: _Check,
    segment_id: str,
    data: bytes,
    keys: RecordingKeys,
    complete: bool = False,
    track: str | None = None,
    chunks: int | None = None,
) -> None:
    where = f"segment {segment_id}"
    try:
        opened = open_sealed(data, keys.key_for, allow_incomplete=not complete)
    except (SecurityError, RecordingError) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        check.problem(getattr(exc, "code", "segment_invalid"), where, str(reason))
        return
    check.chunks += len(opened.chunks)
    header = opened.header
    ids = (header.recording_id, header.hearing_id)
    if ids != (check.paths.recording_id, _hearing_of(check)):
        check.problem("segment_misplaced", where, "its header names another recording")
    if track is not None and header.track != track:
        check.problem("segment_misplaced", where, "its header names another track")
    if chunks is not None and complete and len(opened.chunks) != chunks:
        check.problem("segment_altered", where, "it holds a different number of chunks")
    if opened.torn_tail_bytes:
        check.incomplete.append(f"{where} ends in a chunk cut by a crash")


def _hearing_of(check: _Check) -> str:
    try:
        return str(json.loads(check.paths.keys.read_bytes())["hearing_id"])
    except Exception:
        return ""


def _check_audit(check: _Check, manifest: Manifest, log: Path, key: bytes | None) -> bool | None:
    """Whether the audit log shows this recording cut short (started, never stopped)."""
    try:
        lines = log.read_bytes().splitlines()
    except OSError:
        check.problem("audit_missing", str(log.name), "the hearing's audit log cannot be read")
        return None
    if key is not None:
        report = verify_file(log, key)
        for finding in report.findings:
            check.problem("audit_" + str(finding.problem.value), log.name, str(finding))
    started = stopped = crashed = False
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("target") != manifest.recording_id:
            continue
        if record.get("action") == "recording_started":
            crashed = crashed or (started and not stopped)  # started again without a stop
            started, stopped = True, False
        elif record.get("action") == "recording_stopped":
            stopped = True
    if not started:
        check.problem("audit_unaware", log.name, "the audit log never saw this recording start")
    return crashed or (started and not stopped)
