"""A recording's data keys: each one generated here, wrapped by the key ring's current KEK and
saved (atomically) before a byte is sealed with it. Rotation re-wraps them without touching
media; shredding destroys them, which makes the media unreadable for ever."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace

from recording.errors import LegalHold, RecordingInvalid, RecordingShredded
from recording.layout import RecordingPaths, write_atomically
from security.keyring import KeyRing, WrappedKey
from security.sealing import DataKey

FORMAT = 1


@dataclass(frozen=True)
class KeysFile:
    recording_id: str
    hearing_id: str
    keys: tuple[WrappedKey, ...] = ()
    legal_hold: bool = False
    shredded_at_ms: int | None = None

    def to_bytes(self) -> bytes:
        body = {
            "format": FORMAT,
            "recording_id": self.recording_id,
            "hearing_id": self.hearing_id,
            "keys": [k.to_json() for k in self.keys],
            "legal_hold": self.legal_hold,
            "shredded_at_ms": self.shredded_at_ms,
        }
        return json.dumps(body, indent=1, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> KeysFile:
        try:
            body = json.loads(data)
            if body["format"] != FORMAT:
                raise RecordingInvalid(f"keys.json format {body['format']!r} is not {FORMAT}")
            shredded = body["shredded_at_ms"]
            return cls(
                recording_id=str(body["recording_id"]),
                hearing_id=str(body["hearing_id"]),
                keys=tuple(WrappedKey.from_json(k) for k in body["keys"]),
                legal_hold=body["legal_hold"] is True,
                shredded_at_ms=None if shredded is None else int(shredded),
            )
        except RecordingInvalid:
            raise
        except Exception as exc:
            raise RecordingInvalid("keys.json is malformed") from exc


@dataclass
class RecordingKeys:
    paths: RecordingPaths
    keyring: KeyRing
    _unwrapped: dict[str, DataKey] = field(default_factory=dict)

    def create(self, hearing_id: str) -> None:
        self._save(KeysFile(self.paths.recording_id, hearing_id))

    def load(self) -> KeysFile:
        try:
            data = self.paths.keys.read_bytes()
        except FileNotFoundError as exc:
            raise RecordingInvalid("keys.json is missing") from exc
        keys = KeysFile.from_bytes(data)
        if keys.recording_id != self.paths.recording_id:
            raise RecordingInvalid("keys.json belongs to another recording")
        return keys

    def new_data_key(self) -> DataKey:
        """A fresh DEK, wrapped and saved before it is used (a restart gets a new one)."""
        keys = self._live()
        dek = DataKey.generate(f"k{len(keys.keys) + 1}")
        wrapped = self.keyring.wrap(dek, self.paths.recording_id)
        self._save(replace(keys, keys=(*keys.keys, wrapped)))
        self._unwrapped[dek.key_id] = dek
        return dek

    def key_for(self, key_id: str) -> DataKey:
        """The named DEK, unwrapped with the KEK version it was wrapped under."""
        known = self._unwrapped.get(key_id)
        if known is not None:
            return known
        wrapped = next((k for k in self._live().keys if k.key_id == key_id), None)
        if wrapped is None:
            raise RecordingInvalid(f"the recording has no data key {key_id!r}")
        dek = self.keyring.unwrap(wrapped, self.paths.recording_id)
        self._unwrapped[key_id] = dek
        return dek

    def rewrap(self) -> int:
        """Re-wrap every DEK under the key ring's current KEK; returns how many changed."""
        keys = self.load()
        current = self.keyring.current_version
        stale = [k for k in keys.keys if k.kek_version != current]
        if stale:
            rewrapped = tuple(
                self.keyring.rewrap(k, self.paths.recording_id) if k.kek_version != current else k
                for k in keys.keys
            )
            self._save(replace(keys, keys=rewrapped))
        return len(stale)

    def set_legal_hold(self, held: bool) -> None:
        self._save(replace(self.load(), legal_hold=held))

    def shred(self) -> int:
        """Destroy every wrapped DEK (unless a legal hold applies); returns how many."""
        keys = self.load()
        if keys.legal_hold:
            raise LegalHold("the recording is under a legal hold")
        self._unwrapped.clear()
        self._save(replace(keys, keys=(), shredded_at_ms=int(time.time() * 1000)))
        return len(keys.keys)

    def _live(self) -> KeysFile:
        keys = self.load()
        if keys.shredded_at_ms is not None:
            raise RecordingShredded("the recording's data keys were destroyed")
        return keys

    def _save(self, keys: KeysFile) -> None:
        write_atomically(self.paths.keys, keys.to_bytes())
