"""The node's recordings: where they live, the key ring and the manifest key, a recorder for
each hearing in session, and the operations the API and the CLI share (list, export, shred,
legal hold, key rotation). Every access is written to the hearing's audit log."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hearing import Hearing, HearingRules
from recording.errors import RecordingNotFound
from recording.export import TrackExport, export
from recording.keys import RecordingKeys
from recording.layout import RecordingPaths, check_id
from recording.manifest import Manifest, read_signed
from recording.recorder import HearingRecorder, RecordingSettings
from security import AuditLog, SigningKey
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
            if path.exists():
                self._signing_key = SigningKey.load(path)
            else:
                self._signing_key = SigningKey.generate()
                self._signing_key.save(path)
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

    def export_bytes(
        self, root: Path, track_id: str | None, audit: AuditLog, actor: str
    ) -> tuple[bytes, list[TrackExport]]:
        """Decrypt and remux in memory; the export is audited before anything is returned."""
        if track_id is not None:
            check_id(track_id, "track")
        out = io.BytesIO()
        tracks = export(root, self.keyring, out, track_id)
        details = {"track": track_id or "all"}
        audit.record(actor, "recording_exported", target=root.name, details=details)
        return out.getvalue(), tracks

    def shred(self, root: Path, audit: AuditLog, actor: str) -> int:
        destroyed = RecordingKeys(RecordingPaths(root), self.keyring).shred()
        audit.record(actor, "recording_shredded", target=root.name, details={"keys": destroyed})
        return destroyed

    def hold(self, root: Path, held: bool, audit: AuditLog, actor: str) -> None:
        RecordingKeys(RecordingPaths(root), self.keyring).set_legal_hold(held)
        audit.record(actor, "legal_hold", target=root.name, details={"held": held})

    def rotate(self) -> tuple[int, int]:
        """A new KEK version, then every recording's DEKs re-wrapped under it (media are not
        touched). Returns (new version, keys re-wrapped)."""
        version = self.keyring.rotate()
        rewrapped = 0
        for root, manifest in self._manifests():
            keys = RecordingKeys(RecordingPaths(root), self.keyring)
            if keys.load().shredded_at_ms is not None:
                continue
            count = keys.rewrap()
            rewrapped += count
            with self.audit_log(manifest.hearing_id) as audit:
                audit.record("cli", "keys_rewrapped", target=root.name, details={"keys": count})
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
