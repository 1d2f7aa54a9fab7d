"""The key ring: versioned key-encryption keys (KEKs) that wrap each recording's data key.

The ring is one JSON file, mode 0600, kept outside the data directory:

    {"format": 1, "current": 2, "keys": {"1": "<base64 of 32 bytes>", "2": "..."}}

It is created with KEK version 1 on first run and always written atomically (a temporary file,
fsync, then rename). Changes (`rotate`, `retire`) hold an exclusive lock on `<file>.lock` and
re-read the file first, so a CLI rotating keys while the server runs loses nothing; a ring
notices when its file changed and reloads it before wrapping or unwrapping.

A wrapped key is AES-256-GCM(KEK, random 12-byte nonce, DEK, AD) with the nonce in front,
where AD = b"ecourt-dek/1|" + context + b"|" + key_id, and context is the recording id.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from security.datakey import DATA_KEY_BYTES, DataKey, check_key_id
from security.ed25519 import fsync_directory
from security.seal_errors import KeyRingError, KeyRingProblem
from security.secret import Secret

KEYRING_FORMAT = 1
KEK_BYTES = 32
WRAP_NONCE_BYTES = 12
WRAPPED_BLOB_BYTES = WRAP_NONCE_BYTES + DATA_KEY_BYTES + 16
WRAP_AD_PREFIX = b"ecourt-dek/1|"
MAX_CONTEXT_BYTES = 256
MAX_KEYRING_BYTES = 1 << 20
MAX_KEK_VERSIONS = 1000
_B64_BLOB_CHARS = 4 * ((WRAPPED_BLOB_BYTES + 2) // 3)


def _refuse(problem: KeyRingProblem, reason: str) -> NoReturn:
    raise KeyRingError(problem, reason)


def _strict_b64(text: object, size: int, what: str, problem: KeyRingProblem) -> bytes:
    if not isinstance(text, str) or len(text) != 4 * ((size + 2) // 3):
        _refuse(problem, f"{what} is not base64 of {size} bytes")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        _refuse(problem, f"{what} is not valid base64")
    if len(raw) != size or base64.b64encode(raw).decode("ascii") != text:
        _refuse(problem, f"{what} is not base64 of {size} bytes")
    return raw


def _version_number(value: object, what: str, problem: KeyRingProblem) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31:
        _refuse(problem, f"{what} must be a whole number from 1")
    return value


def _wrap_ad(context: str, key_id: str) -> bytes:
    if not isinstance(context, str) or not context:
        raise KeyRingError(KeyRingProblem.REFUSED, "the wrapping context must be a non-empty id")
    raw = context.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_CONTEXT_BYTES:
        _refuse(KeyRingProblem.REFUSED, f"the wrapping context is over {MAX_CONTEXT_BYTES} bytes")
    return WRAP_AD_PREFIX + raw + b"|" + key_id.encode("ascii")


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key encrypted under one KEK version; safe to store beside the recording."""

    key_id: str
    kek_version: int
    blob: bytes

    def __post_init__(self) -> None:
        bad = KeyRingProblem.WRAPPED_INVALID
        try:
            check_key_id(self.key_id)
        except ValueError as exc:
            raise KeyRingError(bad, f"the wrapped key's key_id is invalid: {exc}") from exc
        _version_number(self.kek_version, "the wrapped key's kek_version", bad)
        if not isinstance(self.blob, bytes) or len(self.blob) != WRAPPED_BLOB_BYTES:
            _refuse(bad, f"a wrapped key's blob is {WRAPPED_BLOB_BYTES} bytes")

    def to_json(self) -> dict[str, object]:
        return {
            "key_id": self.key_id,
            "kek_version": self.kek_version,
            "blob": base64.b64encode(self.blob).decode("ascii"),
        }

    @classmethod
    def from_json(cls, obj: object) -> WrappedKey:
        bad = KeyRingProblem.WRAPPED_INVALID
        if not isinstance(obj, dict) or set(obj) != {"key_id", "kek_version", "blob"}:
            _refuse(bad, "a wrapped key is an object with key_id, kek_version and blob only")
        if not isinstance(obj["key_id"], str):
            _refuse(bad, "the wrapped key's key_id must be a string")
        blob = _strict_b64(obj["blob"], WRAPPED_BLOB_BYTES, "the wrapped key's blob", bad)
        version = _version_number(obj["kek_version"], "the wrapped key's kek_version", bad)
        return cls(obj["key_id"], version, blob)


class KeyRing:
    """Versioned KEKs from one file. Its repr shows the path and the versions, never a key."""

    __slots__ = ("_current", "_keks", "_path", "_stamp")

    def __init__(self, path: Path, current: int, keks: dict[int, Secret], stamp: object) -> None:
        self._path = path
        self._current = current
        self._keks = keks
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
        with _locked(path):
            with contextlib.suppress(FileNotFoundError):
                return cls._load(path)
            with contextlib.suppress(FileExistsError):
                _save(path, 1, {1: Secret(os.urandom(KEK_BYTES))}, create=True)
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
        current, keks, stamp = _read_file(path)
        return cls(path, current, keks, stamp)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def current_version(self) -> int:
        return self._current

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self._keks))

    def wrap(self, dek: DataKey, context: str) -> WrappedKey:
        """Encrypt `dek` under the current KEK, bound to `context` (the recording id)."""
        if not isinstance(dek, DataKey):
            _refuse(KeyRingProblem.REFUSED, "only a DataKey can be wrapped")
        ad = _wrap_ad(context, dek.key_id)
        self._refresh()
        nonce = os.urandom(WRAP_NONCE_BYTES)
        sealed = AESGCM(self._keks[self._current].value).encrypt(nonce, dek.secret.value, ad)
        return WrappedKey(dek.key_id, self._current, nonce + sealed)

    def unwrap(self, wrapped: WrappedKey, context: str) -> DataKey:
        """The data key inside `wrapped`, if it was wrapped for this `context` by this ring."""
        if not isinstance(wrapped, WrappedKey):
            _refuse(KeyRingProblem.WRAPPED_INVALID, "only a WrappedKey can be unwrapped")
        ad = _wrap_ad(context, wrapped.key_id)
        if wrapped.kek_version not in self._keks:
            self._refresh()
        kek = self._keks.get(wrapped.kek_version)
        if kek is None:
            _refuse(
                KeyRingProblem.VERSION_UNKNOWN,
                f"KEK version {wrapped.kek_version} is not in the key ring (retired or foreign)",
            )
        nonce, sealed = wrapped.blob[:WRAP_NONCE_BYTES], wrapped.blob[WRAP_NONCE_BYTES:]
        try:
            raw = AESGCM(kek.value).decrypt(nonce, sealed, ad)
        except InvalidTag:
            _refuse(
                KeyRingProblem.UNWRAP_FAILED,
                f"data key {wrapped.key_id!r} does not unwrap: altered, wrapped by another "
                "key ring, or for another recording",
            )
        return DataKey.from_bytes(wrapped.key_id, raw)

    def rewrap(self, wrapped: WrappedKey, context: str) -> WrappedKey:
        """Unwrap with its own KEK version, wrap again with the current one."""
        return self.wrap(self.unwrap(wrapped, context), context)

    def rotate(self) -> int:
        """Add a new KEK version, make it current, save. Returns the new version."""
        with _locked(self._path):
            self._reload()
            version = max(self._keks) + 1
            if len(self._keks) >= MAX_KEK_VERSIONS:
                _refuse(KeyRingProblem.REFUSED, "the key ring holds too many versions; retire some")
            keks = {**self._keks, version: Secret(os.urandom(KEK_BYTES))}
            _save(self._path, version, keks, create=False)
            self._reload()
        return version

    def retire(self, version: int) -> None:
        """Drop an old KEK version. Only once no wrapped key uses it: they cannot be unwrapped."""
        with _locked(self._path):
            self._reload()
            if version == self._current:
                _refuse(KeyRingProblem.REFUSED, f"KEK version {version} is current; rotate first")
            if version not in self._keks:
                _refuse(KeyRingProblem.VERSION_UNKNOWN, f"KEK version {version} is not in the ring")
            keks = {v: k for v, k in self._keks.items() if v != version}
            _save(self._path, self._current, keks, create=False)
            self._reload()

    def _reload(self) -> None:
        try:
            self._current, self._keks, self._stamp = _read_file(self._path)
        except FileNotFoundError:
            _refuse(KeyRingProblem.CORRUPT, "the key ring file is gone")

    def _refresh(self) -> None:
        try:
            stamp = _stamp_of(os.stat(self._path, follow_symlinks=False))
        except FileNotFoundError:
            _refuse(KeyRingProblem.CORRUPT, "the key ring file is gone")
        if stamp != self._stamp:
            self._reload()

    def __repr__(self) -> str:
        versions = list(self.versions)
        return f"KeyRing(path={str(self._path)!r}, versions={versions}, current={self._current})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a KeyRing is never pickled")


def key_path_outside(path: str | os.PathLike[str], data_dir: str | os.PathLike[str]) -> bool:
    """True if `path` (the key ring) is neither the data directory nor anywhere inside it."""
    key = Path(path).resolve()
    data = Path(data_dir).resolve()
    return key != data and data not in key.parents


def _stamp_of(info: os.stat_result) -> object:
    return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size, info.st_ctime_ns)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as exc:
        _refuse(KeyRingProblem.UNSAFE, f"cannot open the key ring lock file: {exc.strerror}")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read_file(path: Path) -> tuple[int, dict[int, Secret], object]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        _refuse(KeyRingProblem.UNSAFE, f"cannot open the key ring file safely: {exc.strerror}")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        _refuse(KeyRingProblem.UNSAFE, "the key ring file is not a regular file")
    with os.fdopen(fd, "rb") as handle:
        if info.st_mode & 0o077:
            _refuse(
                KeyRingProblem.UNSAFE,
                f"the key ring file has mode {stat.S_IMODE(info.st_mode):04o}; it must be 0600",
            )
        if info.st_uid != os.geteuid():
            _refuse(KeyRingProblem.UNSAFE, "the key ring file belongs to another user")
        data = handle.read(MAX_KEYRING_BYTES + 1)
    if len(data) > MAX_KEYRING_BYTES:
        _refuse(KeyRingProblem.CORRUPT, "the key ring file is too large")
    current, keks = _parse(data)
    return current, keks, _stamp_of(info)


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [name for name, _ in pairs]
    if len(set(keys)) != len(keys):
        _refuse(KeyRingProblem.CORRUPT, "the key ring file repeats a name")
    return dict(pairs)


def _parse(data: bytes) -> tuple[int, dict[int, Secret]]:
    bad = KeyRingProblem.CORRUPT
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError):
        _refuse(bad, "the key ring file is not valid JSON")
    if not isinstance(doc, dict) or set(doc) != {"format", "current", "keys"}:
        _refuse(bad, "the key ring file must hold format, current and keys only")
    if doc["format"] != KEYRING_FORMAT or isinstance(doc["format"], bool):
        _refuse(bad, f"the key ring format must be {KEYRING_FORMAT}")
    current = _version_number(doc["current"], "the key ring's current version", bad)
    entries = doc["keys"]
    if not isinstance(entries, dict) or not 1 <= len(entries) <= MAX_KEK_VERSIONS:
        _refuse(bad, f"the key ring must hold 1..{MAX_KEK_VERSIONS} keys")
    keks: dict[int, Secret] = {}
    for name, value in entries.items():
        if not (len(name) <= 10 and name.isascii() and name.isdigit() and str(int(name)) == name):
            _refuse(bad, "a key ring version must be a whole number written plainly")
        version = _version_number(int(name), "a key ring version", bad)
        keks[version] = Secret(_strict_b64(value, KEK_BYTES, f"KEK version {version}", bad))
    if current not in keks:
        _refuse(bad, f"the current version {current} is not in the key ring")
    return current, keks


def _save(path: Path, current: int, keks: dict[int, Secret], *, create: bool) -> None:
    doc = {
        "format": KEYRING_FORMAT,
        "current": current,
        "keys": {
            str(v): base64.b64encode(kek.value).decode("ascii") for v, kek in sorted(keks.items())
        },
    }
    data = (json.dumps(doc, indent=2) + "\n").encode("ascii")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
    except OSError as exc:
        _refuse(KeyRingProblem.UNSAFE, f"cannot write the key ring file: {exc.strerror}")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if create:
            os.link(tmp, path)  # never replaces a ring another process just created
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    fsync_directory(path.parent)
