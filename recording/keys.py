"""A recording's data keys and its state (legal hold, shredding), in `keys.json`.

Each data key is generated here, wrapped by the key ring (under the current KEK and the
recording's own key, which lives only in the key ring) and saved before a byte is sealed with
it. Rotation re-wraps them without touching media; shredding destroys the recording's own key
in the key ring, so no copy of `keys.json` ever unwraps again.

`keys.json` is signed with the manifest's Ed25519 key, and every field in it counts: the data
keys, the legal hold, the shredding time, its state number (`seq`) and its history. Each new
state is also written to an audit log (`recording_keys`, with its `seq` and hash), so an edit
shows as a bad signature, and a restored older copy as a state behind the log.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace

from recording.errors import LegalHold, RecordingInvalid, RecordingShredded
from recording.layout import RecordingPaths, write_atomically
from recording.manifest import canonical, parse_signature_block, signature_block
from security import AuditLog, SecurityError, SigningKey
from security.ed25519 import verify_signature
from security.keyring import KeyRing, WrappedKey
from security.sealing import DataKey

FORMAT = 2
SIGNED_DOMAIN = b"ecourt-recording-keys/2\x00"
ACTOR = "recorder"
KEYS_ACTION = "recording_keys"
"""The audit action that anchors a state of keys.json: details `seq`, `hash`, `held`,
`shredded`."""


@dataclass(frozen=True)
class KeysFile:
    recording_id: str
    hearing_id: str
    keys: tuple[WrappedKey, ...] = ()
    legal_hold: bool = False
    shredded_at_ms: int | None = None
    seq: int = 0
    """Counts the states this file has been in (1 for the first one written)."""
    history: tuple[tuple[int, str], ...] = field(default=())
    """(time in ms, what changed): `created`, `key_added`, `hold_set`, `hold_lifted`,
    `rewrapped`, `shredded`."""

    def body(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "recording_id": self.recording_id,
            "hearing_id": self.hearing_id,
            "keys": [k.to_json() for k in self.keys],
            "legal_hold": self.legal_hold,
            "shredded_at_ms": self.shredded_at_ms,
            "seq": self.seq,
            "history": [[at, what] for at, what in self.history],
        }

    @property
    def digest(self) -> str:
        """SHA-256 of what the signature covers: the state the audit log anchors."""
        return hashlib.sha256(canonical(self.body())).hexdigest()

    def signed_bytes(self, key: SigningKey) -> bytes:
        body = self.body()
        signature = signature_block(key, SIGNED_DOMAIN + canonical(body))
        document = {"keys_file": body, "signature": signature}
        return json.dumps(document, indent=1, sort_keys=True).encode()

    @classmethod
    def from_body(cls, body: object) -> KeysFile:
        names = {"format", "recording_id", "hearing_id", "keys", "legal_hold"}
        names |= {"shredded_at_ms", "seq", "history"}
        if not isinstance(body, dict) or set(body) != names:
            raise ValueError("keys.json holds unexpected or missing fields")
        if body["format"] != FORMAT:
            raise ValueError(f"keys.json format {body['format']!r} is not {FORMAT}")
        shredded, seq, hold = body["shredded_at_ms"], body["seq"], body["legal_hold"]
        if not isinstance(hold, bool) or type(seq) is not int or seq < 1:
            raise ValueError("legal_hold is true or false and seq a number from 1")
        if shredded is not None and type(shredded) is not int:
            raise ValueError("shredded_at_ms is a number or null")
        history = tuple((int(at), str(what)) for at, what in body["history"])
        return cls(
            recording_id=str(body["recording_id"]),
            hearing_id=str(body["hearing_id"]),
            keys=tuple(WrappedKey.from_json(k) for k in body["keys"]),
            legal_hold=hold,
            shredded_at_ms=shredded,
            seq=seq,
            history=history,
        )


@dataclass(frozen=True)
class SignedKeys:
    keys: KeysFile
    public_key: bytes
    signature_valid: bool


def read_keys(paths: RecordingPaths) -> SignedKeys:
    """Parse keys.json and check its signature against the key it names (the caller decides
    whether it trusts that key). RecordingInvalid if it cannot be read at all."""
    try:
        data = paths.keys.read_bytes()
        document = json.loads(data)
        public_key, value = parse_signature_block(document["signature"])
        body = document["keys_file"]
        keys = KeysFile.from_body(body)
        if json.dumps(document, indent=1, sort_keys=True).encode() != data:
            raise ValueError("it is not written the one way keys.json is written")
    except FileNotFoundError as exc:
        raise RecordingInvalid("keys.json is missing") from exc
    except (ValueError, TypeError, KeyError, AttributeError, SecurityError) as exc:
        raise RecordingInvalid(f"keys.json is malformed: {exc}") from exc
    try:
        valid = verify_signature(public_key, value, SIGNED_DOMAIN + canonical(body))
    except Exception:
        valid = False
    return SignedKeys(keys, public_key, valid)


@dataclass
class RecordingKeys:
    """The keys of one recording. `signing_key` (the manifest's) signs each new state and is
    the only key whose signature is accepted when given; `audit` anchors each new state."""

    paths: RecordingPaths
    keyring: KeyRing
    signing_key: SigningKey | None = None
    audit: AuditLog | None = None
    actor: str = ACTOR
    _unwrapped: dict[str, DataKey] = field(default_factory=dict)

    def create(self, hearing_id: str) -> None:
        self.keyring.add_recording(self.paths.recording_id)
        self.save(KeysFile(self.paths.recording_id, hearing_id), "created")

    def load(self) -> KeysFile:
        """The signed state, refused (RecordingInvalid) if it was edited or signed by a key
        other than this node's."""
        signed = read_keys(self.paths)
        if not signed.signature_valid:
            raise RecordingInvalid("keys.json does not match its signature: it was edited")
        if self.signing_key is not None and signed.public_key != self.signing_key.public_key:
            raise RecordingInvalid("keys.json is signed by another key than this node's")
        if signed.keys.recording_id != self.paths.recording_id:
            raise RecordingInvalid("keys.json belongs to another recording")
        return signed.keys

    def new_data_key(self) -> DataKey:
        """A fresh DEK, wrapped and saved before it is used (a restart gets a new one)."""
        keys = self._live()
        dek = DataKey.generate(f"k{len(keys.keys) + 1}")
        wrapped = self.keyring.wrap_for_recording(dek, self.paths.recording_id)
        self.save(replace(keys, keys=(*keys.keys, wrapped)), "key_added")
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

    def unwrap_all(self, keys: KeysFile) -> None:
        """Raise (a SecurityError) unless every data key unwraps with this key ring."""
        for wrapped in keys.keys:
            self.keyring.unwrap(wrapped, self.paths.recording_id)

    def rewrapped(self, keys: KeysFile) -> KeysFile:
        """`keys` with every DEK re-wrapped under the key ring's current KEK (in memory)."""
        current = self.keyring.current_version
        rewrapped = tuple(
            self.keyring.rewrap(k, self.paths.recording_id) if k.kek_version != current else k
            for k in keys.keys
        )
        return replace(keys, keys=rewrapped)

    def set_legal_hold(self, held: bool) -> None:
        keys = self.load()
        self.save(replace(keys, legal_hold=held), "hold_set" if held else "hold_lifted")

    def shred(self) -> int:
        """Destroy the recording's own key in the key ring, then its wrapped DEKs (unless a
        legal hold applies); returns how many DEKs."""
        keys = self.load()
        if keys.legal_hold:
            raise LegalHold("the recording is under a legal hold")
        self.keyring.shred_recording(self.paths.recording_id)
        self._unwrapped.clear()
        now = int(time.time() * 1000)
        self.save(replace(keys, keys=(), shredded_at_ms=now), "shredded")
        return len(keys.keys)

    def _live(self) -> KeysFile:
        keys = self.load()
        if keys.shredded_at_ms is not None or self.keyring.shredded_at(keys.recording_id):
            raise RecordingShredded("the recording's data keys were destroyed")
        return keys

    def save(self, keys: KeysFile, event: str) -> KeysFile:
        """Sign and write the next state, then anchor it in the audit log."""
        if self.signing_key is None:
            raise RecordingInvalid("changing keys.json needs the node's signing key")
        now = int(time.time() * 1000)
        state = replace(keys, seq=keys.seq + 1, history=(*keys.history, (now, event)))
        write_atomically(self.paths.keys, state.signed_bytes(self.signing_key))
        if self.audit is not None:
            details = {
                "seq": state.seq,
                "hash": state.digest,
                "held": state.legal_hold,
                "shredded": state.shredded_at_ms is not None,
            }
            self.audit.record(
                self.actor, KEYS_ACTION, target=self.paths.recording_id, details=details
            )
            self.audit.checkpoint()
        return state
