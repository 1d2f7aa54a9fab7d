"""Where each hearing's audit log lives on this node: one JSON-lines file per hearing under
`<data dir>/audit/`, signed with the node's Ed25519 audit key (created on first run, mode 0600).
"""

from __future__ import annotations

import os
from pathlib import Path

from security import AuditLog, FileAuditSink, SigningKey, verify_file


class AuditLogs:
    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "audit"
        self._key_file = data_dir / "audit-signing.key"
        self._key: SigningKey | None = None

    @property
    def key(self) -> SigningKey:
        """The checkpoint key, loaded or created the first time a log is opened."""
        if self._key is None:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self._key_file.exists():
                self._key = SigningKey.load(self._key_file)
            else:
                self._key = SigningKey.generate()
                self._key.save(self._key_file)
        return self._key

    def path(self, hearing_id: str) -> Path:
        return self.directory / f"{hearing_id}.jsonl"

    def custody_path(self, hearing_id: str) -> Path:
        return self.directory / f"{hearing_id}.custody.jsonl"

    def open_custody(self, hearing_id: str) -> AuditLog:
        """The chain of custody of the hearing's recordings: every export, hold, shredding and
        key rotation, for as long as the recordings exist (it is released, never closed)."""
        return self._open(hearing_id, self.custody_path(hearing_id))

    def open(self, hearing_id: str) -> AuditLog:
        """The hearing's log, continuing its chain if this node wrote it before."""
        return self._open(hearing_id, self.path(hearing_id))

    def _open(self, hearing_id: str, path: Path) -> AuditLog:
        key = self.key
        head = None
        if path.exists() and os.path.getsize(path) > 0:
            head = verify_file(path, key.public_key).head
        return AuditLog(hearing_id, FileAuditSink(path), key, head=head)
