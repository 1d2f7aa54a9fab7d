"""The node's recordings: where they live, the key ring and the manifest key, a recorder for
each hearing in session, and the operations the API and the CLI share (list, export, shred,
legal hold, key rotation). Every access, and every refusal, is written to the hearing's
custody log. An export verifies first, against what this node trusts (`trust`)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hearing import Hearing, HearingRules
from recording.errors import (
    AnchorUnavailable,
    KeysRotationRefused,
    RecordingError,
    RecordingInvalid,
    RecordingNotFound,
)
from recording.export import Exported, export
from recording.keys import KeysFile, RecordingKeys
from recording.layout import RecordingPaths, check_id
from recording.manifest import Manifest, read_signed
from recording.recorder import HearingRecorder, RecordingSettings
from recording.verify import Trust, keys_state_problems
from security import AuditLog, Checkpoint, SecurityError, SigningKey
from security.keyring import KeyRing
from web.audit import AuditLogs
from web.settings import Settings

RECORDING_KEY_FILE = "recording-signing.key"
"""The node's manifest key, in the data directory."""


class Recordings:
    def __init__(self, settings: Settings, audit_logs: AuditLogs) -> None:
        self.directory = settings.data_dir / "recordings"
        self._keyring_path = settings.keyring_path
        self._signing_key_path = settings.data_dir / RECORDING_KEY_FILE
        self._settings = RecordingSettings(segment_seconds=float(settings.record_segment_seconds))
        self._audit_logs = audit_logs
        self._keyring: KeyRing | None = None
        self._signing_key: SigningKey | None = None

    @property
    def keyring(self) -> KeyRing:
        """The key ring, created (mode 0600) on first use."""
        if self._keyring is None:
            self._keyring = KeyRing.open(self._keyring_path)
        return self._keyring

    @property
    def signing_key(self) -> SigningKey:
        """The manifest key (apart from the key ring and the audit key), created on first use."""
        if self._signing_key is None:
            path = self._signing_key_path
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._signing_key = SigningKey.load_or_create(path)
        return self._signing_key

    def recorder_for(self, hearing: Hearing, audit: AuditLog) -> HearingRecorder:
        return HearingRecorder(
            hearing_id=hearing.id,
            rules=HearingRules.of(hearing),
            recordings_dir=self.directory,
            keyring=self.keyring,
            signing_key=self.signing_key,
            audit=audit,
            settings=self._settings,
        )

    def _manifests(self) -> Iterator[tuple[Path, Manifest]]:
        if not self.directory.is_dir():
            return
        for root in sorted(self.directory.iterdir()):
            try:
                yield root, read_signed(RecordingPaths(root).manifest).manifest
            except Exception:
                continue

    def of_hearing(self, hearing_id: str) -> list[dict[str, Any]]:
        return [summary_json(m) for _root, m in self._manifests() if m.hearing_id == hearing_id]

    def find(self, hearing_id: str, recording_id: str) -> Path:
        """The recording's directory, only if it belongs to this hearing (else not found)."""
        root = RecordingPaths.of(self.directory, check_id(recording_id)).root
        try:
            manifest = read_signed(RecordingPaths(root).manifest).manifest
        except Exception as exc:
            raise RecordingNotFound("no such recording") from exc
        if manifest.hearing_id != hearing_id:
            raise RecordingNotFound("no such recording")
        return root

    def trust(self, hearing_id: str, anchor: Checkpoint | None = None) -> Trust:
        """What this node vouches for: its manifest key, the hearing's audit and custody logs
        with the node's audit key, and `anchor`, the checkpoint the store keeps."""
        return Trust(
            manifest_keys=frozenset({self.signing_key.public_key}),
            audit_log=self._audit_logs.path(hearing_id),
            audit_key=self._audit_logs.key.public_key,
            custody_log=self._audit_logs.custody_path(hearing_id),
            audit_anchor=anchor,
        )

    @property
    def audit_key(self) -> SigningKey:
        return self._audit_logs.key

    @property
    def audit_key_id(self) -> str:
        return self._audit_logs.key.key_id

    async def stored_anchor(self, hearing_id: str) -> Checkpoint | None:
        """The latest checkpoint of the hearing's log that the checkpoint store keeps; a store
        that does not answer refuses (`AnchorUnavailable`): no export without the anchor."""
        try:
            return await self._audit_logs.checkpoints.latest(hearing_id, self.audit_key_id)
        except Exception as exc:
            raise AnchorUnavailable(f"the audit checkpoint store failed: {exc}") from exc

    def export_bytes(
        self,
        root: Path,
        track_id: str | None,
        audit: AuditLog,
        actor: str,
        trust: Trust,
        *,
        allow_incomplete: bool = False,
    ) -> tuple[bytes, Exported]:
        """Verify, decrypt and remux in memory; the export (or its refusal, with the code) is
        audited before anything is returned."""
        if track_id is not None:
            check_id(track_id, "track")
        out = io.BytesIO()
        details = {"track": track_id or "all", "allow_incomplete": allow_incomplete}
        try:
            exported = export(
                root, self.keyring, out, track_id, trust=trust, allow_incomplete=allow_incomplete
            )
        except RecordingError as exc:
            audit.record(actor, "recording_exported", target=root.name, result=exc.code)
            raise
        details["status"] = exported.status
        audit.record(actor, "recording_exported", target=root.name, details=details)
        return out.getvalue(), exported

    def _keys(self, root: Path, audit: AuditLog, actor: str) -> RecordingKeys:
        return RecordingKeys(RecordingPaths(root), self.keyring, self.signing_key, audit, actor)

    def _checked(self, root: Path, keys: RecordingKeys, trust: Trust) -> KeysFile:
        """keys.json, signed by this node and the version the logs anchor; else refused."""
        stored = keys.load()
        problems = keys_state_problems(root, trust, self.keyring)
        if problems:
            raise RecordingInvalid("; ".join(str(p) for p in problems))
        return stored

    def shred(self, root: Path, audit: AuditLog, actor: str, trust: Trust) -> int:
        keys = self._keys(root, audit, actor)
        try:
            self._checked(root, keys, trust)
            destroyed = keys.shred()
        except RecordingError as exc:
            audit.record(actor, "recording_shredded", target=root.name, result=exc.code)
            raise
        audit.record(actor, "recording_shredded", target=root.name, details={"keys": destroyed})
        return destroyed

    def hold(self, root: Path, held: bool, audit: AuditLog, actor: str, trust: Trust) -> None:
        keys = self._keys(root, audit, actor)
        try:
            self._checked(root, keys, trust)
            keys.set_legal_hold(held)
        except RecordingError as exc:
            audit.record(actor, "legal_hold", target=root.name, result=exc.code)
            raise
        audit.record(actor, "legal_hold", target=root.name, details={"held": held})

    def rotate(self) -> tuple[int, int]:
        """A new KEK version, then every recording's DEKs re-wrapped under it (media are not
        touched), all or nothing: if any data key of any recording that is not shredded
        cannot be unwrapped, nothing changes and the refusal names each such recording.
        Returns (new version, keys re-wrapped)."""
        plan: list[tuple[RecordingKeys, KeysFile, str]] = []
        failed: list[str] = []
        for root, manifest in self._manifests():
            keys = RecordingKeys(RecordingPaths(root), self.keyring, self.signing_key)
            try:
                stored = keys.load()
                if stored.shredded_at_ms is not None or self.keyring.shredded_at(root.name):
                    continue
                keys.unwrap_all(stored)
            except (RecordingError, SecurityError) as exc:
                failed.append(f"{root.name} ({getattr(exc, 'code', 'error')}: {exc})")
                continue
            plan.append((keys, stored, manifest.hearing_id))
        if failed:
            raise KeysRotationRefused(
                f"no data key was re-wrapped: {len(failed)} recording(s) could not be "
                f"unwrapped: {'; '.join(failed)}"
            )
        version = self.keyring.rotate()
        try:
            staged = [(keys, keys.rewrapped(stored), hid) for keys, stored, hid in plan]
        except (RecordingError, SecurityError) as exc:  # the old versions still unwrap all
            raise KeysRotationRefused(f"no data key was re-wrapped: {exc}") from exc
        rewrapped = 0
        for keys, new, hearing_id in staged:
            count = sum(1 for k in new.keys if k.kek_version == version)
            with self.audit_log(hearing_id) as audit:
                keys.audit, keys.actor = audit, "cli"
                keys.save(new, "rewrapped")
                details = {"keys": count, "kek_version": version}
                audit.record(
                    "cli", "keys_rewrapped", target=keys.paths.recording_id, details=details
                )
            rewrapped += count
        return version, rewrapped

    def audit_log(self, hearing_id: str) -> _Custody:
        """The hearing's chain-of-custody log, opened for one operation."""
        return _Custody(self._audit_logs, hearing_id)


class _Custody:
    """A custody log opened for one operation and released (not closed for good) after it."""

    def __init__(self, logs: AuditLogs, hearing_id: str) -> None:
        self._log = logs.open_custody(hearing_id)

    def __enter__(self) -> AuditLog:
        return self._log

    def __exit__(self, *_exc: object) -> None:
        self._log.release()


def summary_json(manifest: Manifest) -> dict[str, Any]:
    return {
        "id": manifest.recording_id,
        "hearing_id": manifest.hearing_id,
        "state": manifest.state,
        "started_at_ms": manifest.started_at_ms,
        "segments": len(manifest.segments),
        "tracks": [
            {
                "id": t.id,
                "participant_id": t.participant,
                "role": t.role,
                "kind": t.kind,
                "label": t.label,
            }
            for t in manifest.tracks
        ],
    }
