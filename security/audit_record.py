"""The audit log's wire format: entries, checkpoints, the canonical encoding and parsing.

Each record is one line: canonical JSON (sorted keys, no whitespace, UTF-8, no NaN) then "\\n".
An entry's `hash` is SHA-256 over the canonical encoding of the entry without `hash`; its
`prev` is the previous entry's `hash` (64 zeros for the first). A checkpoint signs, with
Ed25519, the canonical encoding of itself without `sig`, prefixed by `CHECKPOINT_DOMAIN`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from security.audit_errors import AuditEntryRefused, MalformedAuditLine

FORMAT_VERSION = 1
GENESIS = "0" * 64
CHECKPOINT_DOMAIN = b"ecourt-audit-checkpoint-v1\x00"
SYSTEM_ACTORS = frozenset({"system", "api", "cli"})
MAX_DETAILS = 16
MAX_DETAIL_CHARS = 200
MAX_DETAIL_INT = 2**53
MAX_LINE_BYTES = 16 * 1024

DENIED_KEY_WORDS = frozenset(
    {"token", "key", "secret", "password", "passwd", "pwd", "name", "ip", "email", "phone", "addr"}
)
"""A detail key made of any of these words (split on `_`) is refused."""
DENIED_KEY_FRAGMENTS = ("token", "secret", "passw", "name", "apikey", "privkey")
"""A detail key containing any of these is refused, even glued to other words."""

DetailValue = str | int | bool
Details = tuple[tuple[str, DetailValue], ...]

_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
_ACTION = re.compile(r"^[a-z][a-z0-9_.]{0,39}$")
_RESULT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_DETAIL_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")
_LOOKS_SECRET = re.compile(r"^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$|-----BEGIN")

_ENTRY_KEYS = frozenset(
    {"type", "v", "seq", "time_ms", "hearing", "actor", "action", "target", "result"}
    | {"details", "prev", "hash"}
)
_CHECKPOINT_KEYS = frozenset({"type", "v", "hearing", "seq", "hash", "time_ms", "final", "key"})
EPOCH = "epoch"
"""Optional on entries and checkpoints: the fencing token of the node that wrote the record
(`docs/cluster.md`). Absent (not 0) on records written without one, so older lines still
parse and hash as they did."""


def canonical(value: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8, no NaN or infinity."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _refuse(field: str, message: str) -> AuditEntryRefused:
    return AuditEntryRefused(message, field=field)


def _check_int(value: object, field: str, minimum: int) -> int:
    if type(value) is not int or not minimum <= value < MAX_DETAIL_INT:
        raise _refuse(field, f"{field} must be an integer of at least {minimum}")
    return value


def _check_str(value: object, pattern: re.Pattern[str], field: str, rule: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise _refuse(field, f"{field} must be {rule}")
    return str(value)


def check_pseudonym(value: object, field: str, *, allow_system: bool = False) -> str:
    """A pseudonymous participant or hearing id: never a display name."""
    if allow_system and value in SYSTEM_ACTORS:
        return str(value)
    return _check_str(value, _ID, field, "a pseudonymous id (6-64 of letters, digits, _ or -)")


def check_details(details: Mapping[str, object] | None) -> Details:
    """Only short str, int or bool values, under keys that cannot name a secret or a person."""
    if details is None:
        return ()
    if not isinstance(details, Mapping):
        raise _refuse("details", "details must be a mapping")
    if len(details) > MAX_DETAILS:
        raise _refuse("details", f"details may hold at most {MAX_DETAILS} items")
    checked: list[tuple[str, DetailValue]] = []
    for key, value in details.items():
        if not isinstance(key, str) or not _DETAIL_KEY.match(key):
            raise _refuse("details", "a details key must be 1-32 of a-z, 0-9 and _")
        if set(key.split("_")) & DENIED_KEY_WORDS or any(f in key for f in DENIED_KEY_FRAGMENTS):
            raise _refuse("details", f"details key {key!r} could carry a secret or a name")
        if isinstance(value, bool):
            checked.append((key, value))
        elif isinstance(value, int):
            checked.append((key, _check_int(value, "details", -MAX_DETAIL_INT)))
        elif isinstance(value, str):
            checked.append((key, _check_detail_text(key, value)))
        else:
            raise _refuse("details", f"details value for {key!r} must be str, int or bool")
    return tuple(sorted(checked))


def _check_detail_text(key: str, value: str) -> str:
    if len(value) > MAX_DETAIL_CHARS:
        raise _refuse("details", f"details value for {key!r} is over {MAX_DETAIL_CHARS} chars")
    if any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise _refuse("details", f"details value for {key!r} has control characters")
    if _LOOKS_SECRET.search(value):
        raise _refuse("details", f"details value for {key!r} looks like a token or a key")
    return str(value)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One action or refusal. Validates itself; `hash` is not checked here (see `verify`)."""

    seq: int
    time_ms: int
    hearing_id: str
    actor: str
    action: str
    target: str | None
    result: str
    details: Details
    prev: str
    hash: str
    epoch: int = 0
    """The writer's fencing token; 0: written without one (the field is left out)."""

    def __post_init__(self) -> None:
        _check_int(self.seq, "seq", 1)
        _check_int(self.epoch, "epoch", 0)
        _check_int(self.time_ms, "time_ms", 0)
        check_pseudonym(self.hearing_id, "hearing")
        check_pseudonym(self.actor, "actor", allow_system=True)
        _check_str(self.action, _ACTION, "action", "1-40 of a-z, 0-9, _ and .")
        if self.target is not None:
            check_pseudonym(self.target, "target")
        _check_str(self.result, _RESULT, "result", '"ok" or a refusal code (a-z, 0-9, _)')
        if check_details(dict(self.details)) != self.details:
            raise _refuse("details", "details must be sorted (key, value) pairs")
        _check_str(self.prev, _HEX64, "prev", "64 lowercase hex digits")
        _check_str(self.hash, _HEX64, "hash", "64 lowercase hex digits")

    def body(self) -> dict[str, Any]:
        """The entry without `hash`: what `hash` is computed over."""
        return {
            "type": "entry",
            "v": FORMAT_VERSION,
            "seq": self.seq,
            "time_ms": self.time_ms,
            "hearing": self.hearing_id,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "result": self.result,
            "details": dict(self.details),
            "prev": self.prev,
        } | ({EPOCH: self.epoch} if self.epoch else {})

    def computed_hash(self) -> str:
        return sha256_hex(canonical(self.body()))

    def to_line(self) -> bytes:
        return canonical({**self.body(), "hash": self.hash}) + b"\n"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signature over (hearing, seq, hash of entry seq). `final` marks the log's close."""

    hearing_id: str
    seq: int
    hash: str
    time_ms: int
    final: bool
    key_id: str
    sig: str
    epoch: int = 0
    """The writer's fencing token (signed with the rest); 0: none, the field is left out."""

    def __post_init__(self) -> None:
        check_pseudonym(self.hearing_id, "hearing")
        _check_int(self.epoch, "epoch", 0)
        _check_int(self.seq, "seq", 0)
        _check_str(self.hash, _HEX64, "hash", "64 lowercase hex digits")
        _check_int(self.time_ms, "time_ms", 0)
        if type(self.final) is not bool:
            raise _refuse("final", "final must be true or false")
        _check_str(self.key_id, _HEX16, "key", "16 lowercase hex digits")
        _check_str(self.sig, _HEX128, "sig", "128 lowercase hex digits")

    def body(self) -> dict[str, Any]:
        return {
            "type": "checkpoint",
            "v": FORMAT_VERSION,
            "hearing": self.hearing_id,
            "seq": self.seq,
            "hash": self.hash,
            "time_ms": self.time_ms,
            "final": self.final,
            "key": self.key_id,
        } | ({EPOCH: self.epoch} if self.epoch else {})

    def signed_message(self) -> bytes:
        return CHECKPOINT_DOMAIN + canonical(self.body())

    def to_line(self) -> bytes:
        return canonical({**self.body(), "sig": self.sig}) + b"\n"


AuditRecord = AuditEntry | Checkpoint


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise MalformedAuditLine("a key appears twice")
    return result


def _no_constant(name: str) -> None:
    raise MalformedAuditLine(f"{name} is not allowed")


def parse_line(line: bytes) -> AuditRecord:
    """One line (without its newline) back to a record, or `MalformedAuditLine`."""
    if len(line) > MAX_LINE_BYTES:
        raise MalformedAuditLine("the line is too long")
    try:
        raw = json.loads(
            line.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedAuditLine("the line is not JSON") from exc
    if not isinstance(raw, dict) or raw.get("v") != FORMAT_VERSION:
        raise MalformedAuditLine("the line is not a version 1 audit record")
    try:
        record = _record(raw)
    except AuditEntryRefused as exc:
        raise MalformedAuditLine(f"bad {exc.field}: {exc.message}") from exc
    except (TypeError, AttributeError) as exc:
        raise MalformedAuditLine("a field has the wrong type") from exc
    if record.to_line()[:-1] != line:
        raise MalformedAuditLine("the line is not in canonical form")
    return record


def _record(raw: dict[str, Any]) -> AuditRecord:
    kind = raw.get("type")
    if kind == "entry":
        if set(raw) - {EPOCH} != _ENTRY_KEYS:
            raise MalformedAuditLine("an entry must have exactly the entry fields")
        if not isinstance(raw["details"], dict):
            raise MalformedAuditLine("details must be an object")
        return AuditEntry(
            seq=raw["seq"],
            time_ms=raw["time_ms"],
            hearing_id=raw["hearing"],
            actor=raw["actor"],
            action=raw["action"],
            target=raw["target"],
            result=raw["result"],
            details=tuple(sorted(raw["details"].items())),
            prev=raw["prev"],
            hash=raw["hash"],
            epoch=raw.get(EPOCH, 0),
        )
    if kind == "checkpoint":
        if set(raw) - {EPOCH} != _CHECKPOINT_KEYS | {"sig"}:
            raise MalformedAuditLine("a checkpoint must have exactly the checkpoint fields")
        return Checkpoint(
            hearing_id=raw["hearing"],
            seq=raw["seq"],
            hash=raw["hash"],
            time_ms=raw["time_ms"],
            final=raw["final"],
            key_id=raw["key"],
            sig=raw["sig"],
            epoch=raw.get(EPOCH, 0),
        )
    raise MalformedAuditLine("the record type is neither entry nor checkpoint")
