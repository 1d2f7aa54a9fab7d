"""The manifest: what a recording holds, hash-chained and signed with Ed25519.

It lists every segment (in the order they were sealed, each entry chained to the one before),
the tracks with pseudonymous participant ids and roles, the clock map, the phase log and the
recording's own events. It is rewritten (atomically) and re-signed whenever a segment closes
or the recording changes state, so a crash leaves the last signed version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from recording.errors import RecordingFenced, RecordingInvalid
from recording.layout import write_atomically
from security.ed25519 import SigningKey, key_id, verify_signature

FORMAT = 1


def canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def genesis(recording_id: str) -> str:
    return hashlib.sha256(b"ecourt-recording/1|" + recording_id.encode()).hexdigest()


@dataclass(frozen=True)
class TrackEntry:
    id: str
    participant: str
    role: str
    kind: str
    codec: str
    clock_rate: int
    label: str


@dataclass(frozen=True)
class SegmentEntry:
    id: str
    track: str
    index: int
    key_id: str
    sha256: str
    chunks: int
    sealed_bytes: int
    frames: int
    first_pts_ms: int | None
    last_pts_ms: int | None
    complete: bool
    cause: str
    """`closed` (sealed with its last chunk) or `crash` (found after a crash, a prefix)."""
    prev: str = ""
    hash: str = ""

    def computed_hash(self) -> str:
        body = {k: v for k, v in asdict(self).items() if k != "hash"}
        return hashlib.sha256(self.prev.encode() + canonical(body)).hexdigest()


@dataclass(frozen=True)
class ClockPoint:
    """Ties a track's RTP clock to the recording's time line (pts, in ms) and, where the
    publisher sent an RTCP sender report, to its NTP clock."""

    track: str
    pts_ms: int
    rtp_timestamp: int
    server_time_ms: int
    ntp_timestamp: int | None = None
    ntp_rtp_timestamp: int | None = None


@dataclass(frozen=True)
class Manifest:
    recording_id: str
    hearing_id: str
    started_at_ms: int
    state: str = "recording"
    tracks: tuple[TrackEntry, ...] = ()
    segments: tuple[SegmentEntry, ...] = ()
    clock_map: tuple[ClockPoint, ...] = ()
    roster: tuple[tuple[str, str], ...] = ()
    phases: tuple[tuple[int, str], ...] = ()
    events: tuple[tuple[int, str], ...] = ()
    format: int = field(default=FORMAT)
    seq: int = 0
    """Counts the signed versions of this manifest; each one's `seq` and digest go to the
    hearing's audit log as it is signed (`recording_manifest`)."""
    epoch: int = 0
    """The fencing epoch of the node that signed this version (`docs/cluster.md#leases`): a
    node never writes over a manifest of a newer epoch. 0 (left out of the JSON): written
    without a lease, as before epochs."""

    @property
    def digest(self) -> str:
        """SHA-256 of what the signature covers: the version the audit log anchors."""
        return hashlib.sha256(canonical(self.to_json())).hexdigest()

    @property
    def head(self) -> str:
        return self.segments[-1].hash if self.segments else genesis(self.recording_id)

    def with_segment(self, entry: SegmentEntry) -> Manifest:
        chained = replace(entry, prev=self.head, hash="")
        return replace(
            self, segments=(*self.segments, replace(chained, hash=chained.computed_hash()))
        )

    def with_track(self, track: TrackEntry) -> Manifest:
        if any(t.id == track.id for t in self.tracks):
            return self
        return replace(self, tracks=(*self.tracks, track))

    def with_event(self, at_ms: int, event: str) -> Manifest:
        return replace(self, events=(*self.events, (at_ms, event)))

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        if not self.epoch:
            del body["epoch"]  # the digest of a manifest written before epochs stays the same
        return body

    @classmethod
    def from_json(cls, body: object) -> Manifest:
        try:
            if not isinstance(body, dict) or body.get("format") != FORMAT:
                raise ValueError("not a format-1 manifest")
            names = {f.name for f in fields(cls)}
            if not names - {"seq", "epoch"} <= set(body) <= names:
                raise ValueError("unexpected or missing manifest fields")
            seq, epoch = body.get("seq", 0), body.get("epoch", 0)
            if type(seq) is not int or seq < 0:
                raise ValueError("seq is a whole number")
            if type(epoch) is not int or epoch < 0 or ("epoch" in body and not epoch):
                raise ValueError("epoch is a positive whole number")
            return cls(
                recording_id=str(body["recording_id"]),
                hearing_id=str(body["hearing_id"]),
                started_at_ms=int(body["started_at_ms"]),
                state=str(body["state"]),
                tracks=tuple(TrackEntry(**t) for t in body["tracks"]),
                segments=tuple(SegmentEntry(**s) for s in body["segments"]),
                clock_map=tuple(ClockPoint(**c) for c in body["clock_map"]),
                roster=tuple((str(p), str(r)) for p, r in body["roster"]),
                phases=tuple((int(t), str(p)) for t, p in body["phases"]),
                events=tuple((int(t), str(e)) for t, e in body["events"]),
                seq=seq,
                epoch=epoch,
            )
        except (TypeError, ValueError, KeyError) as exc:
            raise RecordingInvalid(f"the manifest is malformed: {exc}") from exc


def chain_problems(manifest: Manifest) -> list[str]:
    """Every break in the segments' hash chain (empty if it holds)."""
    problems = []
    prev = genesis(manifest.recording_id)
    for entry in manifest.segments:
        if entry.prev != prev:
            problems.append(f"segment {entry.id} does not follow the one before it")
        if entry.hash != entry.computed_hash():
            problems.append(f"segment {entry.id}'s entry was altered")
        prev = entry.hash
    return problems


def signature_block(key: SigningKey, message: bytes) -> dict[str, str]:
    """The signature block of a signed JSON document (the manifest, keys.json)."""
    return {
        "algorithm": "ed25519",
        "key_id": key.key_id,
        "public_key": key.public_key.hex(),
        "value": key.sign(message).hex(),
    }


def parse_signature_block(signature: Any) -> tuple[bytes, bytes]:
    """(public key, signature) from a block written by `signature_block`; ValueError (or
    KeyError, TypeError) for any other spelling."""
    public_key = bytes.fromhex(signature["public_key"])
    value = bytes.fromhex(signature["value"])
    if (public_key.hex(), value.hex()) != (signature["public_key"], signature["value"]):
        raise ValueError("keys and signatures are lower-case hex")
    if signature.get("algorithm") != "ed25519" or signature.get("key_id") != key_id(public_key):
        raise ValueError("the signature block is inconsistent")
    return public_key, value


def write_signed(path: Path, manifest: Manifest, key: SigningKey) -> None:
    body = manifest.to_json()
    document = {"manifest": body, "signature": signature_block(key, canonical(body))}
    write_atomically(path, json.dumps(document, indent=1, sort_keys=True).encode())


def write_fenced(path: Path, manifest: Manifest, key: SigningKey) -> None:
    """Write the manifest, unless the one on disk was written under a newer epoch (another
    node holds the hearing now): then RecordingFenced, and nothing is written."""
    try:
        written = json.loads(path.read_bytes())["manifest"].get("epoch", 0)
    except FileNotFoundError:
        written = 0
    except (ValueError, TypeError, KeyError, AttributeError):
        written = 0  # a damaged file is written over, as before epochs
    if isinstance(written, int) and written > manifest.epoch:
        raise RecordingFenced(
            f"the manifest was written under epoch {written}; this node holds {manifest.epoch}"
        )
    write_signed(path, manifest, key)


@dataclass(frozen=True)
class SignedManifest:
    manifest: Manifest
    public_key: bytes
    signature_valid: bool


def read_signed(path: Path) -> SignedManifest:
    """Parse and check the signature (against the key the file names; the caller decides
    whether it trusts that key). Raises RecordingInvalid if it cannot be read at all."""
    try:
        document = json.loads(path.read_bytes())
        public_key, value = parse_signature_block(document["signature"])
        body = document["manifest"]
    except FileNotFoundError as exc:
        raise RecordingInvalid("manifest.json is missing") from exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise RecordingInvalid(f"manifest.json is malformed: {exc}") from exc
    manifest = Manifest.from_json(body)
    try:
        valid = verify_signature(public_key, value, canonical(body))
    except Exception:
        valid = False
    return SignedManifest(manifest, public_key, valid)
