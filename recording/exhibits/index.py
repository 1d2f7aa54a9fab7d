"""An export of a hearing's admitted exhibits, and its offline verification.

`export_exhibits` writes each admitted exhibit, decrypted and checked against its SHA-256,
as `<number>.<ext>` (P-1.pdf, D-2.jpg ...), and `index.json`: the exhibits' numbers, files,
sizes, hashes, submitters and every decision with the audit entry that wrote it, signed with
the node's manifest key (Ed25519, over a domain tag and the canonical JSON of `index`).

`verify_export` needs nothing but the directory (and, to trust it, the court's public key):
the signature, then every listed file's size and hash, no file that the index does not list,
and every exhibit admitted. A flipped byte, a swapped exhibit and an edited index are each
refused with what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from hearing.exhibits import ExhibitState
from recording.exhibits.errors import ExhibitIndexInvalid
from recording.exhibits.ledger import AuditOpener, ExhibitLedger
from recording.exhibits.record import ExhibitRecord
from recording.layout import write_atomically
from recording.manifest import canonical, parse_signature_block, signature_block
from security import SigningKey
from security.ed25519 import key_id, verify_signature

INDEX_FILE: Final = "index.json"
FORMAT: Final = 1
SIGNED_DOMAIN: Final = b"ecourt-exhibits-index/1\x00"
FILE_NAME: Final = re.compile(r"[PDC]-[0-9]{1,5}\.(pdf|jpg|png|mp3|mp4)")
READ_PIECE: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ExportedExhibits:
    directory: Path
    numbers: tuple[str, ...]
    index_sha256: str


@dataclass(frozen=True, slots=True)
class VerifiedExhibits:
    hearing_id: str
    numbers: tuple[str, ...]
    key_id: str
    trusted: bool
    """The index was signed by a key the caller named (else its signature only holds)."""
    problems: tuple[str, ...]

    @property
    def status(self) -> str:
        if self.problems:
            return "invalid"
        return "valid" if self.trusted else "unverified"

    def summary(self) -> str:
        lines = [
            f"exhibits of {self.hearing_id or '?'}: {self.status} "
            f"({len(self.numbers)} exhibits, index signed by {self.key_id or '?'})"
        ]
        lines += [f"  {problem}" for problem in self.problems]
        if not self.problems and not self.trusted:
            lines.append("  the signing key was not named (--trust): nobody vouched for it")
        return "\n".join(lines)


def _entry(record: ExhibitRecord, file: str) -> dict[str, Any]:
    public = record.public_json()
    del public["hearing_id"], public["state"]
    return {**public, "file": file}


def export_exhibits(
    ledger: ExhibitLedger,
    hearing_id: str,
    out: Path,
    key: SigningKey,
    audit: AuditOpener,
    actor: str,
) -> ExportedExhibits:
    """Write the admitted exhibits and the signed index into `out` (new, or empty)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExhibitIndexInvalid(f"{out} exists and is not an empty directory")
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    entries = []
    for record in ledger.admitted(hearing_id):
        file = f"{record.number}.{record.kind.extension}"
        part = out / f".{file}.part"
        try:
            with part.open("wb") as sink:
                ledger.open_into(record, sink)
        except BaseException:
            part.unlink(missing_ok=True)  # a prefix of plaintext is never left behind
            raise
        part.replace(out / file)
        entries.append(_entry(record, file))
    body = {
        "format": FORMAT,
        "hearing_id": hearing_id,
        "exported_at_ms": int(time.time() * 1000),
        "exhibits": entries,
    }
    document = {"index": body, "signature": signature_block(key, SIGNED_DOMAIN + canonical(body))}
    raw = json.dumps(document, indent=1, sort_keys=True).encode()
    write_atomically(out / INDEX_FILE, raw)
    digest = hashlib.sha256(canonical(body)).hexdigest()
    numbers = tuple(str(e["number"]) for e in entries)
    with audit() as log:
        log.record(
            actor,
            "exhibits_exported",
            details={"count": len(entries), "index_sha256": digest, "numbers": ",".join(numbers)},
        )
    return ExportedExhibits(out, numbers, digest)


def verify_export(
    directory: Path, trusted_keys: frozenset[bytes] | None = None
) -> VerifiedExhibits:
    """Check an exported directory offline; every problem found is listed."""
    problems: list[str] = []
    try:
        document = json.loads((directory / INDEX_FILE).read_bytes())
        body = document["index"]
        public_key, value = parse_signature_block(document["signature"])
        entries = list(body["exhibits"])
        hearing_id = str(body["hearing_id"])
        if body["format"] != FORMAT:
            raise ValueError(f"format {body['format']!r}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return VerifiedExhibits("", (), "", False, (f"index_unreadable: {exc}",))
    signer = key_id(public_key)
    if not verify_signature(public_key, value, SIGNED_DOMAIN + canonical(body)):
        problems.append("index_signature_invalid: the index was altered after it was signed")
    trusted = trusted_keys is not None and public_key in trusted_keys
    if trusted_keys is not None and not trusted:
        problems.append(f"index_key_untrusted: signed by {signer}, not by a key named")
    listed: set[str] = set()
    numbers = []
    for entry in entries:
        problems += _check_entry(directory, entry, listed)
        numbers.append(str(entry.get("number")) if isinstance(entry, dict) else "?")
    for path in sorted(directory.iterdir()):
        if path.name != INDEX_FILE and path.name not in listed:
            problems.append(f"exhibit_unlisted: {path.name} is not in the index")
    return VerifiedExhibits(hearing_id, tuple(numbers), signer, trusted, tuple(problems))


def _check_entry(directory: Path, entry: Any, listed: set[str]) -> list[str]:
    try:
        file, number = str(entry["file"]), str(entry["number"])
        size, sha256 = int(entry["size"]), str(entry["sha256"])
        decisions = list(entry["decisions"])
    except (KeyError, TypeError, ValueError):
        return ["index_malformed: an entry lacks its file, number, size, hash or decisions"]
    if not FILE_NAME.fullmatch(file) or not file.startswith(f"{number}."):
        return [f"index_malformed: {file!r} is not the file of {number}"]
    if file in listed:
        return [f"exhibit_duplicated: {file} is listed twice"]
    listed.add(file)
    problems = []
    if not decisions or decisions[-1].get("state") != ExhibitState.ADMITTED.value:
        problems.append(f"exhibit_not_admitted: {number}")
    path = directory / file
    if not path.is_file() or path.is_symlink():
        return [*problems, f"exhibit_missing: {file}"]
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while piece := source.read(READ_PIECE):
            digest.update(piece)
    if path.stat().st_size != size or digest.hexdigest() != sha256:
        problems.append(f"exhibit_hash_mismatch: {file} is not the exhibit {number} admitted")
    return problems
