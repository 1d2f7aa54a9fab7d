"""Offline verification of a recording directory: the manifest's and keys.json's signatures,
the manifest's hash chain, every segment's hash and header, (given the key ring) every chunk's
authentication tag and the completeness of each segment, and (given the hearing's audit log)
the anchor outside the directory: the manifest and keys.json must be the versions the log
signed, so a rollback, a dropped tail or a duplicated segment is invalid, and only a crash the
log shows is incomplete.

Nothing here writes. Every finding carries a stable code and says where it is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from recording.anchor import LogView, compare, read_logs
from recording.errors import RecordingError
from recording.keys import KeysFile, RecordingKeys, read_keys
from recording.layout import RecordingPaths
from recording.manifest import Manifest, SegmentEntry, chain_problems, read_signed
from security import Checkpoint, SecurityError
from security.ed25519 import key_id
from security.keyring import KeyRing
from security.sealing import SealHeader, open_sealed


@dataclass(frozen=True)
class Problem:
    code: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.code} at {self.where}: {self.reason}"


@dataclass(frozen=True)
class Trust:
    """What a verifier trusts, from outside the recording's directory: the manifest key, and
    the hearing's audit logs with their key and the checkpoint the store keeps."""

    manifest_keys: frozenset[bytes]
    audit_log: Path | None = None
    audit_key: bytes | None = None
    custody_log: Path | None = None
    audit_anchor: Checkpoint | None = None


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
    signer: str | None = None
    """The id of the key that signed the manifest, when no trusted key was given."""
    shredded: bool = False
    notes: tuple[str, ...] = ()
    manifest_digest: str = ""
    """The digest of the manifest that was verified (an export reads that one only)."""
    anchored: bool = False
    """The manifest is exactly the version the audit log signed last."""

    @property
    def status(self) -> str:
        """`invalid`, `unverified` (signed by a key nobody vouched for), `shredded`,
        `incomplete` or `valid`."""
        if self.problems:
            return "invalid"
        if self.signer is not None:
            return "unverified"
        if self.shredded:
            return "shredded"
        return "incomplete" if self.incomplete else "valid"

    def headline(self) -> str:
        if self.status == "unverified":
            return f"unverified: signature by an unknown key ({self.signer})"
        if self.status == "shredded":
            return "shredded: the data keys were destroyed; the media can never be read"
        return self.status

    def summary(self) -> str:
        lines = [
            f"recording {self.recording_id}: {self.headline()}",
            f"  {self.segments} segments, {self.chunks_authenticated} chunks authenticated"
            + ("" if self.tags_checked else " (no key ring: chunk tags not checked)"),
        ]
        if self.crashed is not None:
            lines.append("  the audit log shows " + ("a crash" if self.crashed else "no crash"))
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  incomplete: {why}" for why in self.incomplete]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


@dataclass
class _Check:
    paths: RecordingPaths
    problems: list[Problem] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chunks: int = 0
    hearing_id: str = ""
    shredded: bool = False

    def problem(self, code: str, where: str, reason: str) -> None:
        self.problems.append(Problem(code, where, reason))


def verify_recording(
    root: Path,
    *,
    keyring: KeyRing | None = None,
    trusted_keys: frozenset[bytes] | None = None,
    audit_log: Path | None = None,
    audit_key: bytes | None = None,
    custody_log: Path | None = None,
    audit_anchor: Checkpoint | None = None,
) -> RecordingReport:
    paths = RecordingPaths(root)
    check = _Check(paths)
    try:
        signed = read_signed(paths.manifest)
    except RecordingError as exc:
        check.problem("manifest_invalid", "manifest.json", str(exc))
        return RecordingReport(root.name, tuple(check.problems), (), 0, 0, False, None)
    manifest = signed.manifest
    check.hearing_id = manifest.hearing_id
    signer = None
    if not signed.signature_valid:
        check.problem("manifest_signature", "manifest.json", "the signature does not match")
    if trusted_keys is None:
        signer = key_id(signed.public_key)
    elif signed.public_key not in trusted_keys:
        check.problem("manifest_untrusted", "manifest.json", "signed by a key you do not trust")
    if manifest.recording_id != root.name:
        check.problem("manifest_misplaced", "manifest.json", "it names another recording")
    for reason in chain_problems(manifest):
        check.problem("chain_broken", "manifest.json", reason)
    stored = _keys_file(check, manifest, signed.public_key, keyring)
    crashed = None
    view = LogView()
    if audit_log is not None:
        logs = [audit_log] + ([custody_log] if custody_log is not None else [])
        view, findings = read_logs(manifest.recording_id, logs, audit_key, audit_anchor)
        for finding in findings:
            check.problem(finding.code, finding.log, finding.message)
        crashed = _check_anchors(check, manifest, stored, view)
    else:
        check.notes.append("no audit log given: a rollback to an earlier version cannot show")
    if view.shredded:
        check.shredded = True
    keys = None
    if keyring is not None and stored is not None and not check.shredded:
        keys = RecordingKeys(paths, keyring)
    _check_segments(check, manifest, keys, stopped=_stopped(manifest, view))
    if manifest.state != "stopped":
        check.incomplete.append(f"the recording was never stopped (state {manifest.state})")
    return RecordingReport(
        manifest.recording_id,
        tuple(check.problems),
        tuple(check.incomplete),
        len(manifest.segments),
        check.chunks,
        keys is not None,
        crashed,
        signer=signer,
        shredded=check.shredded,
        notes=tuple(check.notes),
        manifest_digest=manifest.digest,
        anchored=view.manifest is not None and view.manifest.hash == manifest.digest,
    )


def verify_trusted(root: Path, trust: Trust, keyring: KeyRing | None) -> RecordingReport:
    """The strong form: every check, against what `trust` vouches for."""
    return verify_recording(
        root,
        keyring=keyring,
        trusted_keys=trust.manifest_keys,
        audit_log=trust.audit_log,
        audit_key=trust.audit_key,
        custody_log=trust.custody_log,
        audit_anchor=trust.audit_anchor,
    )


def _stopped(manifest: Manifest, view: LogView) -> bool:
    anchored = view.manifest
    return manifest.state == "stopped" or (anchored is not None and anchored.state == "stopped")


def _keys_file(
    check: _Check, manifest: Manifest, manifest_key: bytes, keyring: KeyRing | None
) -> KeysFile | None:
    """keys.json, checked: signed by the manifest's key, for this recording and hearing."""
    try:
        signed = read_keys(check.paths)
    except RecordingError as exc:
        check.problem("keys_invalid", "keys.json", str(exc))
        return None
    keys = signed.keys
    if not signed.signature_valid:
        check.problem("keys_altered", "keys.json", "it does not match its signature: edited")
    elif signed.public_key != manifest_key:
        check.problem("keys_untrusted", "keys.json", "signed by another key than the manifest")
    if (keys.recording_id, keys.hearing_id) != (manifest.recording_id, manifest.hearing_id):
        check.problem("keys_misplaced", "keys.json", "it names another recording or hearing")
    ring_shredded = keyring is not None and keyring.shredded_at(check.paths.recording_id)
    if keys.shredded_at_ms is not None or ring_shredded:
        check.shredded = True
    return keys


def _check_anchors(check: _Check, manifest: Manifest, keys: KeysFile | None, view: LogView) -> bool:
    crashed = view.crashed
    if not view.started:
        check.problem("audit_unaware", "audit log", "the audit log never saw this recording start")
    stopped = view.manifest is not None and view.manifest.state == "stopped"
    found = compare(
        "manifest", manifest.seq, manifest.digest, view.manifest, crashed and not stopped
    )
    if found is not None:
        check.problem(found[0], "manifest.json", found[1])
    elif view.manifest is not None and 0 < manifest.epoch < view.manifest.epoch:
        check.problem(
            "manifest_stale_epoch",
            "manifest.json",
            f"written under epoch {manifest.epoch} after the log's epoch "
            f"{view.manifest.epoch} anchored the recording: a node that no longer held it",
        )
    elif view.manifest is not None and manifest.seq > view.manifest.seq:
        check.incomplete.append(
            f"the manifest's last version (seq {manifest.seq}) was signed as the recorder "
            f"crashed; the log says {view.manifest.seq}"
        )
    if keys is not None:
        _check_keys_anchor(check, keys, view, crashed)
    return crashed


def _check_keys_anchor(check: _Check, keys: KeysFile, view: LogView, crashed: bool) -> None:
    found = compare("keys", keys.seq, keys.digest, view.keys, crashed)
    if found is not None:
        check.problem(found[0], "keys.json", found[1])
    elif view.keys is not None and view.keys.held != keys.legal_hold:
        check.problem("keys_diverged", "keys.json", "the legal hold differs from the log's")
    if view.shredded and keys.shredded_at_ms is None:
        check.problem("keys_rolled_back", "keys.json", "the log says it was shredded")


def keys_state_problems(root: Path, trust: Trust, keyring: KeyRing | None) -> list[Problem]:
    """Whether keys.json (its legal hold, its shredding, its data keys) is signed by a key
    `trust` vouches for and is the state the logs anchor; the media are not read."""
    check = _Check(RecordingPaths(root))
    try:
        signed = read_signed(check.paths.manifest)
    except RecordingError as exc:
        return [Problem("manifest_invalid", "manifest.json", str(exc))]
    if not signed.signature_valid or signed.public_key not in trust.manifest_keys:
        check.problem("manifest_untrusted", "manifest.json", "not signed by a trusted key")
    keys = _keys_file(check, signed.manifest, signed.public_key, keyring)
    if trust.audit_log is not None:
        logs = [trust.audit_log] + ([trust.custody_log] if trust.custody_log else [])
        view, findings = read_logs(check.paths.recording_id, logs, trust.audit_key, None)
        for finding in findings:
            check.problem(finding.code, finding.log, finding.message)
        if keys is not None:
            _check_keys_anchor(check, keys, view, view.crashed)
    return check.problems


def _check_segments(
    check: _Check, manifest: Manifest, keys: RecordingKeys | None, *, stopped: bool
) -> None:
    listed: set[str] = set()
    seen_hashes: dict[str, str] = {}
    seen_headers: dict[tuple[str, str], str] = {}
    tracks = {t.id for t in manifest.tracks}
    for entry in manifest.segments:
        where = f"segment {entry.id}"
        if entry.id in listed or entry.sha256 in seen_hashes:
            check.problem("segment_duplicated", where, "the manifest lists it twice")
        listed.add(entry.id)
        seen_hashes[entry.sha256] = entry.id
        try:
            data = check.paths.segment(entry.id).read_bytes()
        except (OSError, RecordingError):
            check.problem("segment_missing", where, "the file is gone")
            continue
        if hashlib.sha256(data).hexdigest() != entry.sha256 or len(data) != entry.sealed_bytes:
            check.problem("segment_altered", where, "its bytes differ from the manifest's hash")
        if entry.cause == "closed" and entry.track not in tracks:
            check.problem("segment_unknown_track", where, "the manifest lists no such track")
        _check_header(check, entry.id, data, seen_headers, entry)
        if keys is not None:
            _open(check, entry.id, data, keys, entry.complete, entry.track, entry.chunks)
        if not entry.complete:
            how = "by a crash" if entry.cause == "crash" else f"({entry.cause})"
            check.incomplete.append(f"{where} was cut short {how}")
    for segment_id in check.paths.segment_ids_on_disk():
        if segment_id in listed:
            continue
        where = f"segment {segment_id}"
        try:
            data = check.paths.segment(segment_id).read_bytes()
        except OSError:
            check.problem("segment_unreadable", where, "a file the manifest does not list")
            continue
        if stopped:
            check.problem("segment_unlisted", where, "the recording was stopped without it")
        if hashlib.sha256(data).hexdigest() in seen_hashes:
            check.problem("segment_duplicated", where, "a copy of a listed segment")
        _check_header(check, segment_id, data, seen_headers, None)
        if keys is not None:
            _open(check, segment_id, data, keys)
        check.incomplete.append(f"{where} is not in the manifest yet")


def _check_header(
    check: _Check,
    segment_id: str,
    data: bytes,
    seen: dict[tuple[str, str], str],
    entry: SegmentEntry | None,
) -> None:
    """The header alone (no key needed): this recording and hearing, its track, and a
    segment number and nonce prefix no other segment has."""
    where = f"segment {segment_id}"
    try:
        header, _size = SealHeader.decode(data)
    except SecurityError as exc:
        check.problem(getattr(exc, "code", "seal_header_invalid"), where, str(exc))
        return
    if (header.recording_id, header.hearing_id) != (check.paths.recording_id, check.hearing_id):
        check.problem("segment_misplaced", where, "its header names another recording")
    named = (header.track, header.key_id)
    if entry is not None and entry.cause == "closed" and named != (entry.track, entry.key_id):
        check.problem("segment_misplaced", where, "its header names another track or key")
    nonce = header.key_id + "/" + header.nonce_prefix.hex()
    marks = (("number", str(header.segment)), ("nonce", nonce))
    for mark in marks:
        other = seen.setdefault(mark, segment_id)
        if other != segment_id:
            check.problem("segment_duplicated", where, f"its header repeats segment {other}'s")


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
    if track is not None and opened.header.track != track:
        check.problem("segment_misplaced", where, "its header names another track")
    if chunks is not None and complete and len(opened.chunks) != chunks:
        check.problem("segment_altered", where, "it holds a different number of chunks")
    if opened.torn_tail_bytes:
        check.incomplete.append(f"{where} ends in a chunk cut by a crash")
