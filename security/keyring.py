"""The key ring: versioned key-encryption keys (KEKs) that wrap each recording's data key, and
each recording's own key, which takes part in wrapping that recording's data keys.

The ring is one JSON file, mode 0600, kept outside the data directory (the format is in
`security/keyring_file.py`). It is created with KEK version 1 on first run and always written
atomically (a temporary file, fsync, then rename). Changes (`rotate`, `retire`,
`add_recording`, `shred_recording`) hold an exclusive lock on `<file>.lock` and re-read the
file first, so a CLI rotating keys while the server runs loses nothing; a ring notices when its
file changed and reloads it before wrapping or unwrapping.

A wrapped key is AES-256-GCM(W, random 12-byte nonce, DEK, AD) with the nonce in front.
Scheme 1: W = the KEK, AD = b"ecourt-dek/1|" + context + b"|" + key_id.
Scheme 2 (every recording since the recording keys): W = HKDF-SHA256(KEK, salt = the
recording's own key, info = b"ecourt-dek/2|" + recording id), AD = b"ecourt-dek/2|" +
recording id + b"|" + key_id. Destroying the recording's key in the ring (`shred_recording`)
makes its data keys unwrappable, whatever copy of the data directory is restored later.
"""

from __future__ import annotations

import base64
import contextlib
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from security.datakey import DATA_KEY_BYTES, DataKey, check_key_id
from security.keyring_file import (
    KEK_BYTES,
    MAX_KEK_VERSIONS,
    RECORDING_KEY_BYTES,
    RingState,
    check_recording_id,
    locked,
    read_file,
    refuse,
    save,
    stamp_of,
    strict_b64,
    version_number,
)
from security.seal_errors import KeyRingError, KeyRingProblem
from security.secret import Secret

WRAP_NONCE_BYTES = 12
WRAPPED_BLOB_BYTES = WRAP_NONCE_BYTES + DATA_KEY_BYTES + 16
WRAP_AD_PREFIX = b"ecourt-dek/1|"
WRAP_AD_PREFIX_2 = b"ecourt-dek/2|"
MAX_CONTEXT_BYTES = 256
SCHEMES = (1, 2)


def _refuse(problem: KeyRingProblem, reason: str) -> NoReturn:
    refuse(problem, reason)


def _wrap_ad(context: str, key_id: str, prefix: bytes = WRAP_AD_PREFIX) -> bytes:
    if not isinstance(context, str) or not context:
        raise KeyRingError(KeyRingProblem.REFUSED, "the wrapping context must be a non-empty id")
    raw = context.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_CONTEXT_BYTES:
        _refuse(KeyRingProblem.REFUSED, f"the wrapping context is over {MAX_CONTEXT_BYTES} bytes")
    return prefix + raw + b"|" + key_id.encode("ascii")


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key encrypted under one KEK version (and, in scheme 2, its recording's own key);
    safe to store beside the recording."""

    key_id: str
    kek_version: int
    blob: bytes
    scheme: int = 1

    def __post_init__(self) -> None:
        bad = KeyRingProblem.WRAPPED_INVALID
        try:
            check_key_id(self.key_id)
        except ValueError as exc:
            raise KeyRingError(bad, f"the wrapped key's key_id is invalid: {exc}") from exc
        version_number(self.kek_version, "the wrapped key's kek_version", bad)
        if not isinstance(self.blob, bytes) or len(self.blob) != WRAPPED_BLOB_BYTES:
            _refuse(bad, f"a wrapped key's blob is {WRAPPED_BLOB_BYTES} bytes")
        if isinstance(self.scheme, bool) or self.scheme not in SCHEMES:
            _refuse(bad, f"a wrapped key's scheme is one of {SCHEMES}")

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "key_id": self.key_id,
            "kek_version": self.kek_version,
            "blob": base64.b64encode(self.blob).decode("ascii"),
        }
        if self.scheme != 1:
            body["scheme"] = self.scheme
        return body

    @classmethod
    def from_json(cls, obj: object) -> WrappedKey:
        bad = KeyRingProblem.WRAPPED_INVALID
        names = {"key_id", "kek_version", "blob"}
        if not isinstance(obj, dict) or set(obj) not in (names, names | {"scheme"}):
            _refuse(bad, "a wrapped key is an object with key_id, kek_version, blob (and scheme)")
        if not isinstance(obj["key_id"], str):
            _refuse(bad, "the wrapped key's key_id must be a string")
        blob = strict_b64(obj["blob"], WRAPPED_BLOB_BYTES, "the wrapped key's blob", bad)
        version = version_number(obj["kek_version"], "the wrapped key's kek_version", bad)
        scheme = obj.get("scheme", 1)
        if "scheme" in obj and scheme == 1:
            _refuse(bad, "scheme 1 is written by leaving the scheme out")
        if isinstance(scheme, bool) or scheme not in SCHEMES:
            _refuse(bad, f"a wrapped key's scheme is one of {SCHEMES}")
        return cls(obj["key_id"], version, blob, scheme)


class KeyRing:
    """Versioned KEKs and recording keys from one file. Its repr shows the path and the
    versions, never a key."""

    __slots__ = ("_path", "_stamp", "_state")

    def __init__(self, path: Path, state: RingState, stamp: object) -> None:
        self._path = path
        self._state = state
        self._stamp = stamp

    @classmethod
    def open(cls, path: Path) -> KeyRing:
        """Load the ring, or create it (mode 0600, KEK version 1) if the file does not exist."""
        path = Path(path)
        with contextlib.suppress(FileNotFoundError):
            return cls._load(path)
        parent = path.parent
        if not parent.exists():
            try:
                parent.mkdir(mode=0o700, parents=True)
                os.chmod(parent, 0o700)
            except FileExistsError:
                pass
            except OSError as exc:
                _refuse(KeyRingProblem.UNSAFE, f"cannot create the key ring folder: {exc.strerror}")
        with locked(path):
            with contextlib.suppress(FileNotFoundError):
                return cls._load(path)
            with contextlib.suppress(FileExistsError):
                save(path, RingState(1, {1: Secret(os.urandom(KEK_BYTES))}), create=True)
            return cls._load(path)

    @classmethod
    def open_existing(cls, path: Path) -> KeyRing:
        """Load the ring; never create one (for offline verification on another machine)."""
        try:
            return cls._load(Path(path))
        except FileNotFoundError:
            _refuse(KeyRingProblem.REFUSED, f"no key ring at {path}")

    @classmethod
    def _load(cls, path: Path) -> KeyRing:
        state, stamp = read_file(path)
        return cls(path, state, stamp)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def current_version(self) -> int:
        return self._state.current

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self._state.keks))

    def wrap(self, dek: DataKey, context: str) -> WrappedKey:
        """Encrypt `dek` under the current KEK, bound to `context` (scheme 1)."""
        if not isinstance(dek, DataKey):
            _refuse(KeyRingProblem.REFUSED, "only a DataKey can be wrapped")
        ad = _wrap_ad(context, dek.key_id)
        self._refresh()
        nonce = os.urandom(WRAP_NONCE_BYTES)
        kek = self._state.keks[self._state.current].value
        sealed = AESGCM(kek).encrypt(nonce, dek.secret.value, ad)
        return WrappedKey(dek.key_id, self._state.current, nonce + sealed)

    def wrap_for_recording(self, dek: DataKey, recording_id: str) -> WrappedKey:
        """Encrypt `dek` under the current KEK and the recording's own key (scheme 2)."""
        if not isinstance(dek, DataKey):
            _refuse(KeyRingProblem.REFUSED, "only a DataKey can be wrapped")
        ad = _wrap_ad(check_recording_id(recording_id), dek.key_id, WRAP_AD_PREFIX_2)
        self._refresh()
        version = self._state.current
        nonce = os.urandom(WRAP_NONCE_BYTES)
        key = self._recording_wrap_key(version, recording_id)
        sealed = AESGCM(key).encrypt(nonce, dek.secret.value, ad)
        return WrappedKey(dek.key_id, version, nonce + sealed, scheme=2)

    def unwrap(self, wrapped: WrappedKey, context: str) -> DataKey:
        """The data key inside `wrapped`, if it was wrapped for this `context` by this ring."""
        if not isinstance(wrapped, WrappedKey):
            _refuse(KeyRingProblem.WRAPPED_INVALID, "only a WrappedKey can be unwrapped")
        if wrapped.kek_version not in self._state.keks or wrapped.scheme == 2:
            self._refresh()
        if wrapped.kek_version not in self._state.keks:
            _refuse(
                KeyRingProblem.VERSION_UNKNOWN,
                f"KEK version {wrapped.kek_version} is not in the key ring (retired or foreign)",
            )
        if wrapped.scheme == 2:
            ad = _wrap_ad(check_recording_id(context), wrapped.key_id, WRAP_AD_PREFIX_2)
            key = self._recording_wrap_key(wrapped.kek_version, context)
        else:
            ad = _wrap_ad(context, wrapped.key_id)
            key = self._state.keks[wrapped.kek_version].value
        nonce, sealed = wrapped.blob[:WRAP_NONCE_BYTES], wrapped.blob[WRAP_NONCE_BYTES:]
        try:
            raw = AESGCM(key).decrypt(nonce, sealed, ad)
        except InvalidTag:
            _refuse(
                KeyRingProblem.UNWRAP_FAILED,
                f"data key {wrapped.key_id!r} does not unwrap: altered, wrapped by another "
                "key ring, or for another recording",
            )
        return DataKey.from_bytes(wrapped.key_id, raw)

    def rewrap(self, wrapped: WrappedKey, context: str) -> WrappedKey:
        """Unwrap with its own KEK version, wrap again with the current one (same scheme)."""
        dek = self.unwrap(wrapped, context)
        if wrapped.scheme == 2:
            return self.wrap_for_recording(dek, context)
        return self.wrap(dek, context)

    def _recording_wrap_key(self, version: int, recording_id: str) -> bytes:
        if recording_id in self._state.shredded:
            _refuse(KeyRingProblem.SHREDDED, f"recording {recording_id} was shredded")
        own = self._state.recordings.get(recording_id)
        if own is None:
            _refuse(
                KeyRingProblem.SHREDDED,
                f"the key ring holds no key for recording {recording_id} (destroyed, or "
                "another key ring)",
            )
        kdf = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=own.value,
            info=WRAP_AD_PREFIX_2 + recording_id.encode("ascii"),
        )
        return kdf.derive(self._state.keks[version].value)

    def add_recording(self, recording_id: str) -> None:
        """Give a new recording its own key (idempotent). A shredded id is refused."""
        check_recording_id(recording_id)
        self._refresh()
        if recording_id in self._state.recordings:
            return
        with locked(self._path):
            self._reload()
            if recording_id in self._state.shredded:
                _refuse(KeyRingProblem.SHREDDED, f"recording {recording_id} was shredded")
            if recording_id not in self._state.recordings:
                own = Secret(os.urandom(RECORDING_KEY_BYTES))
                recordings = {**self._state.recordings, recording_id: own}
                save(self._path, replace(self._state, recordings=recordings), create=False)
                self._reload()

    def shred_recording(self, recording_id: str) -> bool:
        """Destroy the recording's own key and note when; True if there was one to destroy.
        Its data keys then never unwrap again, from any copy of the data directory."""
        check_recording_id(recording_id)
        with locked(self._path):
            self._reload()
            if recording_id in self._state.shredded:
                return False
            recordings = {k: v for k, v in self._state.recordings.items() if k != recording_id}
            shredded = {**self._state.shredded, recording_id: int(time.time() * 1000)}
            state = replace(self._state, recordings=recordings, shredded=shredded)
            save(self._path, state, create=False)
            self._reload()
        return True

    def shredded_at(self, recording_id: str) -> int | None:
        """When the recording's key was destroyed in this ring (None: it was not)."""
        self._refresh()
        return self._state.shredded.get(recording_id)

    def rotate(self) -> int:
        """Add a new KEK version, make it current, save. Returns the new version."""
        with locked(self._path):
            self._reload()
            version = max(self._state.keks) + 1
            if len(self._state.keks) >= MAX_KEK_VERSIONS:
                _refuse(KeyRingProblem.REFUSED, "the key ring holds too many versions; retire some")
            keks = {**self._state.keks, version: Secret(os.urandom(KEK_BYTES))}
            save(self._path, replace(self._state, current=version, keks=keks), create=False)
            self._reload()
        return version

    def retire(self, version: int) -> None:
        """Drop an old KEK version. Only once no wrapped key uses it: they cannot be unwrapped."""
        with locked(self._path):
            self._reload()
            if version == self._state.current:
                _refuse(KeyRingProblem.REFUSED, f"KEK version {version} is current; rotate first")
            if version not in self._state.keks:
                _refuse(KeyRingProblem.VERSION_UNKNOWN, f"KEK version {version} is not in the ring")
            keks = {v: k for v, k in self._state.keks.items() if v != version}
            save(self._path, replace(self._state, keks=keks), create=False)
            self._reload()

    def _reload(self) -> None:
        try:
            self._state, self._stamp = read_file(self._path)
        except FileNotFoundError:
            _refuse(KeyRingProblem.CORRUPT, "the key ring file is gone")

    def _refresh(self) -> None:
        try:
            stamp = stamp_of(os.stat(self._path, follow_symlinks=False))
        except FileNotFoundError:
            _refuse(KeyRingProblem.CORRUPT, "the key ring file is gone")
        if stamp != self._stamp:
            self._reload()

    def __repr__(self) -> str:
        versions = list(self.versions)
        return (
            f"KeyRing(path={str(self._path)!r}, versions={versions}, current={self._state.current})"
        )

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a KeyRing is never pickled")


def key_path_outside(path: str | os.PathLike[str], data_dir: str | os.PathLike[str]) -> bool:
    """True if `path` (the key ring) is neither the data directory nor anywhere inside it."""
    key = Path(path).resolve()
    data = Path(data_dir).resolve()
    return key != data and data not in key.parents
