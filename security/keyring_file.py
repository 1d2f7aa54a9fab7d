"""The key ring's file: strict parsing, the lock, and the atomic write.

Format 1 holds the KEKs only:

    {"format": 1, "current": 2, "keys": {"1": "<base64 of 32 bytes>", "2": "..."}}

Format 2 adds each recording's own key, and a record of each recording whose key was destroyed
(shredded):

    {"format": 2, "current": 2, "keys": {...},
     "recordings": {"r-0123456789abcdef": "<base64 of 32 bytes>"},
     "shredded": {"r-fedcba9876543210": 1900000000000}}

A ring with no recording key and nothing shredded is written as format 1.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from security.ed25519 import fsync_directory
from security.seal_errors import KeyRingError, KeyRingProblem
from security.secret import Secret

KEYRING_FORMATS = (1, 2)
KEK_BYTES = 32
RECORDING_KEY_BYTES = 32
MAX_KEYRING_BYTES = 64 << 20
MAX_KEK_VERSIONS = 1000
MAX_RECORDINGS = 500_000
RECORDING_ID = re.compile(r"^[a-z]{1,3}-[0-9a-f]{16}$")


def refuse(problem: KeyRingProblem, reason: str) -> NoReturn:
    raise KeyRingError(problem, reason)


def strict_b64(text: object, size: int, what: str, problem: KeyRingProblem) -> bytes:
    if not isinstance(text, str) or len(text) != 4 * ((size + 2) // 3):
        refuse(problem, f"{what} is not base64 of {size} bytes")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        refuse(problem, f"{what} is not valid base64")
    if len(raw) != size or base64.b64encode(raw).decode("ascii") != text:
        refuse(problem, f"{what} is not base64 of {size} bytes")
    return raw


def version_number(value: object, what: str, problem: KeyRingProblem) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31:
        refuse(problem, f"{what} must be a whole number from 1")
    return value


def check_recording_id(value: object) -> str:
    if not isinstance(value, str) or not RECORDING_ID.fullmatch(value):
        refuse(KeyRingProblem.REFUSED, "a recording key is named by a recording id (r-<16 hex>)")
    return value


@dataclass(frozen=True)
class RingState:
    """What the file holds: the KEKs, each recording's own key, and what was shredded."""

    current: int
    keks: dict[int, Secret]
    recordings: dict[str, Secret] = field(default_factory=dict)
    shredded: dict[str, int] = field(default_factory=dict)


def stamp_of(info: os.stat_result) -> object:
    return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size, info.st_ctime_ns)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    lock = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as exc:
        refuse(KeyRingProblem.UNSAFE, f"cannot open the key ring lock file: {exc.strerror}")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_file(path: Path) -> tuple[RingState, object]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        refuse(KeyRingProblem.UNSAFE, f"cannot open the key ring file safely: {exc.strerror}")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        refuse(KeyRingProblem.UNSAFE, "the key ring file is not a regular file")
    with os.fdopen(fd, "rb") as handle:
        if info.st_mode & 0o077:
            refuse(
                KeyRingProblem.UNSAFE,
                f"the key ring file has mode {stat.S_IMODE(info.st_mode):04o}; it must be 0600",
            )
        if info.st_uid != os.geteuid():
            refuse(KeyRingProblem.UNSAFE, "the key ring file belongs to another user")
        data = handle.read(MAX_KEYRING_BYTES + 1)
    if len(data) > MAX_KEYRING_BYTES:
        refuse(KeyRingProblem.CORRUPT, "the key ring file is too large")
    return parse(data), stamp_of(info)


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [name for name, _ in pairs]
    if len(set(keys)) != len(keys):
        refuse(KeyRingProblem.CORRUPT, "the key ring file repeats a name")
    return dict(pairs)


_FIELDS = {
    1: {"format", "current", "keys"},
    2: {"format", "current", "keys", "recordings", "shredded"},
}


def parse(data: bytes) -> RingState:
    bad = KeyRingProblem.CORRUPT
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError):
        refuse(bad, "the key ring file is not valid JSON")
    if not isinstance(doc, dict) or isinstance(doc.get("format"), bool):
        refuse(bad, "the key ring file must be an object with a format")
    fmt = doc.get("format")
    if fmt not in KEYRING_FORMATS:
        refuse(bad, f"the key ring format must be one of {KEYRING_FORMATS}")
    if set(doc) != _FIELDS[fmt]:
        refuse(bad, f"a format-{fmt} key ring holds {', '.join(sorted(_FIELDS[fmt]))} only")
    current = version_number(doc["current"], "the key ring's current version", bad)
    entries = doc["keys"]
    if not isinstance(entries, dict) or not 1 <= len(entries) <= MAX_KEK_VERSIONS:
        refuse(bad, f"the key ring must hold 1..{MAX_KEK_VERSIONS} keys")
    keks: dict[int, Secret] = {}
    for name, value in entries.items():
        if not (len(name) <= 10 and name.isascii() and name.isdigit() and str(int(name)) == name):
            refuse(bad, "a key ring version must be a whole number written plainly")
        version = version_number(int(name), "a key ring version", bad)
        keks[version] = Secret(strict_b64(value, KEK_BYTES, f"KEK version {version}", bad))
    if current not in keks:
        refuse(bad, f"the current version {current} is not in the key ring")
    state = RingState(current, keks)
    if fmt == 2:
        _parse_recordings(doc["recordings"], doc["shredded"], state)
    return state


def _parse_recordings(keys: object, shredded: object, state: RingState) -> None:
    bad = KeyRingProblem.CORRUPT
    if not isinstance(keys, dict) or not isinstance(shredded, dict):
        refuse(bad, "the key ring's recordings and shredded are objects")
    if len(keys) + len(shredded) > MAX_RECORDINGS:
        refuse(bad, f"the key ring names more than {MAX_RECORDINGS} recordings")
    for name, value in keys.items():
        if not RECORDING_ID.fullmatch(name):
            refuse(bad, "a recording key is named by a recording id")
        key = strict_b64(value, RECORDING_KEY_BYTES, "a recording key", bad)
        state.recordings[name] = Secret(key)
    for name, at_ms in shredded.items():
        if not RECORDING_ID.fullmatch(name) or name in state.recordings:
            refuse(bad, "a shredded recording is named by its id, and has no key left")
        if isinstance(at_ms, bool) or not isinstance(at_ms, int) or not 0 <= at_ms < 2**53:
            refuse(bad, "a shredding time is milliseconds since 1970")
        state.shredded[name] = at_ms


def save(path: Path, state: RingState, *, create: bool) -> None:
    doc: dict[str, object] = {
        "format": 2 if state.recordings or state.shredded else 1,
        "current": state.current,
        "keys": {
            str(v): base64.b64encode(kek.value).decode("ascii")
            for v, kek in sorted(state.keks.items())
        },
    }
    if doc["format"] == 2:
        doc["recordings"] = {
            name: base64.b64encode(key.value).decode("ascii")
            for name, key in sorted(state.recordings.items())
        }
        doc["shredded"] = dict(sorted(state.shredded.items()))
    data = (json.dumps(doc, indent=2) + "\n").encode("ascii")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
    except OSError as exc:
        refuse(KeyRingProblem.UNSAFE, f"cannot write the key ring file: {exc.strerror}")
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
