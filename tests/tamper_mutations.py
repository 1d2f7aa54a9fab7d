"""Every way of altering a recorded hearing's directory that the tamper suite tries, and the
recorded hearing it tries them on. `tests/tamper_runner.py` applies them and tallies what the
strong verifier and the export said.

The forger here is strong: besides editing bytes, it holds the manifest's signing key (it was
in the data dir) and re-signs whatever it edits, with the hash chain recomputed. What it does
not hold is the audit log's anchor outside the directory.
"""

from __future__ import annotations

import json
import random
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from hearing.phases import Phase
from recording.keys import KeysFile, RecordingKeys, read_keys
from recording.layout import RecordingPaths, write_atomically
from recording.manifest import Manifest, SegmentEntry, read_signed, write_signed
from security import AuditLog, FileAuditSink, SigningKey
from security.sealing import SealHeader
from tests.recording_support import Bench, participant_tracks

Apply = Callable[[RecordingPaths], None]
"""Alters the recording directory in place (the runner restores it afterwards)."""


@dataclass(frozen=True)
class Mutation:
    kind: str
    """The class of alteration, as the summary counts it."""
    apply: Apply


@dataclass
class Recorded:
    """A recorded hearing, a second hearing's recording, and the earlier signed versions of
    the first one's manifest and keys.json, as a forger with old backups would have them."""

    bench: Bench
    recording_id: str
    foreign: RecordingPaths
    old_manifests: list[bytes] = field(default_factory=list)
    old_keys: list[bytes] = field(default_factory=list)

    @property
    def paths(self) -> RecordingPaths:
        return RecordingPaths(self.bench.recordings / self.recording_id)


async def record_hearing(
    root: Path, *, participants: int = 3, seconds: float = 6.0, segment_seconds: float = 1.0
) -> Recorded:
    """Record a trial with `participants` people publishing video and audio, keeping each
    signed version of the manifest on the way; then a second hearing to steal from."""
    bench = Bench(root / "court")
    recorder = bench.recorder(segment_seconds=segment_seconds, chunk_bytes=4096)
    recording_id = recorder.start("p-judge", Phase.IN_SESSION)
    paths = RecordingPaths(bench.recordings / recording_id)
    tracks = participant_tracks(participants)
    recorder.sync([c for c, _ in tracks], Phase.IN_SESSION)
    old_manifests, old_keys = [paths.manifest.read_bytes()], [paths.keys.read_bytes()]
    for _ in range(int(seconds * 2)):
        for _c, publisher in tracks:
            publisher.send_seconds(0.5)
        old_manifests.append(paths.manifest.read_bytes())
    await recorder.close()
    other = Bench(root / "other")
    foreign_recorder = other.recorder(segment_seconds=segment_seconds, chunk_bytes=4096)
    foreign_id = foreign_recorder.start("p-judge", Phase.IN_SESSION)
    other_tracks = participant_tracks(1)
    foreign_recorder.sync([c for c, _ in other_tracks], Phase.IN_SESSION)
    for _ in range(4):
        for _c, publisher in other_tracks:
            publisher.send_seconds(0.5)
    await foreign_recorder.close()
    custody = AuditLog(bench.hearing_id, FileAuditSink(bench.custody_path), bench.audit_key)
    keys = RecordingKeys(paths, bench.keyring, bench.signing_key, custody, "cli")
    for held in (True, False):  # a hold set and lifted: keys.json has older signed states
        keys.set_legal_hold(held)
        old_keys.append(paths.keys.read_bytes())
    custody.release()
    final_manifest, final_keys = paths.manifest.read_bytes(), paths.keys.read_bytes()
    return Recorded(
        bench,
        recording_id,
        RecordingPaths(other.recordings / foreign_id),
        old_manifests=[m for m in old_manifests if m != final_manifest],
        old_keys=[k for k in old_keys if k != final_keys],
    )


# -- helpers a forger uses ----------------------------------------------------------------------


def chunks_of(data: bytes) -> tuple[bytes, list[bytes]]:
    """(header bytes, each framed chunk) of a sealed segment."""
    _header, size = SealHeader.decode(data)
    pos, chunks = size, []
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunks.append(data[pos : pos + 4 + length])
        pos += 4 + length
    return data[:size], chunks


def rechained(manifest: Manifest, segments: list[SegmentEntry]) -> Manifest:
    """The manifest with `segments`, the hash chain recomputed as the recorder would."""
    out = replace(manifest, segments=())
    for entry in segments:
        out = out.with_segment(replace(entry, prev="", hash=""))
    return out


def forge_manifest(
    paths: RecordingPaths, key: SigningKey, edit: Callable[[Manifest], Manifest]
) -> None:
    write_signed(paths.manifest, edit(read_signed(paths.manifest).manifest), key)


def forge_keys(
    paths: RecordingPaths, key: SigningKey, edit: Callable[[KeysFile], KeysFile]
) -> None:
    write_atomically(paths.keys, edit(read_keys(paths).keys).signed_bytes(key))


def edit_json(path: Path, edit: Callable[[dict[str, object]], None]) -> None:
    """Edit a JSON document's body in place, leaving its signature as it was."""
    document = json.loads(path.read_bytes())
    edit(document["keys_file"] if "keys_file" in document else document["manifest"])
    path.write_bytes(json.dumps(document, indent=1, sort_keys=True).encode())


def flip(path: Path, rng: random.Random) -> Apply:
    position, bit = rng.randrange(1 << 30), rng.randrange(8)

    def apply(_paths: RecordingPaths) -> None:
        data = bytearray(path.read_bytes())
        data[position % len(data)] ^= 1 << bit
        path.write_bytes(bytes(data))

    return apply


def _segments(paths: RecordingPaths) -> list[SegmentEntry]:
    return list(read_signed(paths.manifest).manifest.segments)


# -- the classes of mutation ---------------------------------------------------------------------

Maker = Callable[[Recorded, random.Random], Mutation]


def manifest_bit_flip(rec: Recorded, rng: random.Random) -> Mutation:
    return Mutation("manifest bit flip", flip(rec.paths.manifest, rng))


def keys_bit_flip(rec: Recorded, rng: random.Random) -> Mutation:
    return Mutation("keys.json bit flip", flip(rec.paths.keys, rng))


def segment_bit_flip(rec: Recorded, rng: random.Random) -> Mutation:
    entry = rng.choice(_segments(rec.paths))
    return Mutation("segment bit flip", flip(rec.paths.segment(entry.id), rng))


def chunk_reframed(rec: Recorded, rng: random.Random) -> Mutation:
    entry = rng.choice([s for s in _segments(rec.paths) if s.chunks >= 2])
    how = rng.choice(["dropped", "duplicated", "swapped", "truncated", "appended"])

    def apply(paths: RecordingPaths) -> None:
        path = paths.segment(entry.id)
        header, chunks = chunks_of(path.read_bytes())
        i = rng.randrange(len(chunks) - 1)
        if how == "dropped":
            chunks = chunks[:i] + chunks[i + 1 :]
        elif how == "duplicated":
            chunks = chunks[: i + 1] + chunks[i:]
        elif how == "swapped":
            chunks = [*chunks[:i], chunks[i + 1], chunks[i], *chunks[i + 2 :]]
        body = header + b"".join(chunks)
        if how == "truncated":
            body = body[: rng.randrange(1, len(body))]
        elif how == "appended":
            body += rng.randbytes(rng.randrange(1, 64))
        path.write_bytes(body)

    return Mutation(f"chunk {how}", apply)


def chunk_spliced(rec: Recorded, rng: random.Random) -> Mutation:
    entry = rng.choice(_segments(rec.paths))
    stranger_id = rng.choice(rec.foreign.segment_ids_on_disk())
    stranger = rng.choice(chunks_of(rec.foreign.segment(stranger_id).read_bytes())[1])

    def apply(paths: RecordingPaths) -> None:
        path = paths.segment(entry.id)
        header, chunks = chunks_of(path.read_bytes())
        chunks[rng.randrange(len(chunks))] = stranger
        path.write_bytes(header + b"".join(chunks))

    return Mutation("chunk spliced from another hearing", apply)


def _same_kind_pair(rec: Recorded, rng: random.Random) -> tuple[SegmentEntry, SegmentEntry]:
    manifest = read_signed(rec.paths.manifest).manifest
    kinds = {t.id: (t.kind, t.participant) for t in manifest.tracks}
    by_kind: dict[str, list[SegmentEntry]] = defaultdict(list)
    for entry in manifest.segments:
        by_kind[kinds[entry.track][0]].append(entry)
    group = by_kind[rng.choice(sorted(by_kind))]
    a = rng.choice(group)
    others = [s for s in group if kinds[s.track][1] != kinds[a.track][1]] or [
        s for s in group if s.id != a.id
    ]
    return a, rng.choice(others)


def segments_swapped(rec: Recorded, rng: random.Random) -> Mutation:
    """Two participants' segments swapped: the plaintiff's track shows the respondent."""
    a, b = _same_kind_pair(rec, rng)
    forged = rng.random() < 0.5

    def apply(paths: RecordingPaths) -> None:
        pa, pb = paths.segment(a.id), paths.segment(b.id)
        da, db = pa.read_bytes(), pb.read_bytes()
        pa.write_bytes(db)
        pb.write_bytes(da)
        if forged:  # and the manifest made to agree, re-signed with the stolen key

            def edit(m: Manifest) -> Manifest:
                swap = {a.id: b, b.id: a}
                out = []
                for s in m.segments:
                    other = swap.get(s.id)
                    if other is not None:
                        s = replace(
                            s,
                            sha256=other.sha256,
                            sealed_bytes=other.sealed_bytes,
                            chunks=other.chunks,
                            key_id=other.key_id,
                        )
                    out.append(s)
                return rechained(m, out)

            forge_manifest(paths, rec.bench.signing_key, edit)

    return Mutation("segments swapped between participants" + (" (re-signed)" * forged), apply)


def segment_copied_over(rec: Recorded, rng: random.Random) -> Mutation:
    a, b = _same_kind_pair(rec, rng)

    def apply(paths: RecordingPaths) -> None:
        paths.segment(b.id).write_bytes(paths.segment(a.id).read_bytes())

    return Mutation("segment copied over another", apply)


def manifest_rolled_back(rec: Recorded, rng: random.Random) -> Mutation:
    old = rng.choice(rec.old_manifests)

    def apply(paths: RecordingPaths) -> None:
        paths.manifest.write_bytes(old)

    return Mutation("manifest rolled back to an earlier signed version", apply)


def tail_dropped(rec: Recorded, rng: random.Random) -> Mutation:
    """The last segments deleted, the chain recomputed and the manifest re-signed."""
    segments = _segments(rec.paths)
    drop = rng.randrange(1, max(2, len(segments) // 3))
    bump = rng.choice([0, 1, 2])
    delete_files = rng.random() < 0.7

    def apply(paths: RecordingPaths) -> None:
        kept, gone = segments[:-drop], segments[-drop:]

        def edit(m: Manifest) -> Manifest:
            return replace(rechained(m, kept), seq=m.seq + bump)

        forge_manifest(paths, rec.bench.signing_key, edit)
        if delete_files:
            for entry in gone:
                paths.segment(entry.id).unlink()

    return Mutation("tail dropped, chain recomputed, re-signed", apply)


def duplicated_under_new_id(rec: Recorded, rng: random.Random) -> Mutation:
    entry = rng.choice(_segments(rec.paths))
    listed = rng.random() < 0.6
    new_id = f"s-{secrets.token_hex(8)}"

    def apply(paths: RecordingPaths) -> None:
        paths.segment(new_id).write_bytes(paths.segment(entry.id).read_bytes())
        if listed:

            def edit(m: Manifest) -> Manifest:
                copy = replace(entry, id=new_id, index=entry.index + 1)
                return rechained(m, [*m.segments, copy])

            forge_manifest(paths, rec.bench.signing_key, edit)

    return Mutation("segment duplicated under a new id" + (" (listed)" * listed), apply)


def foreign_segment(rec: Recorded, rng: random.Random) -> Mutation:
    """A segment of another hearing put in place of one of ours (and listed, re-signed)."""
    target = rng.choice(_segments(rec.paths))
    stranger_id = rng.choice(rec.foreign.segment_ids_on_disk())
    stranger = rec.foreign.segment(stranger_id).read_bytes()
    forged = rng.random() < 0.5

    def apply(paths: RecordingPaths) -> None:
        paths.segment(target.id).write_bytes(stranger)
        if forged:
            import hashlib

            def edit(m: Manifest) -> Manifest:
                out = [
                    replace(
                        s,
                        sha256=hashlib.sha256(stranger).hexdigest(),
                        sealed_bytes=len(stranger),
                    )
                    if s.id == target.id
                    else s
                    for s in m.segments
                ]
                return rechained(m, out)

            forge_manifest(paths, rec.bench.signing_key, edit)

    return Mutation("a foreign hearing's segment" + (" (re-signed)" * forged), apply)


KEY_FIELD_EDITS: dict[str, Callable[[KeysFile], KeysFile]] = {
    "legal_hold": lambda k: replace(k, legal_hold=not k.legal_hold),
    "shredded_at_ms": lambda k: replace(k, shredded_at_ms=1_900_000_000_000),
    "keys": lambda k: replace(k, keys=k.keys[:-1]),
    "kek_version": lambda k: replace(
        k, keys=tuple(replace(w, kek_version=w.kek_version + 1) for w in k.keys)
    ),
    "hearing_id": lambda k: replace(k, hearing_id="h_someoneelse1"),
    "recording_id": lambda k: replace(k, recording_id="r-0000000000000000"),
    "seq": lambda k: replace(k, seq=k.seq + 5),
    "history": lambda k: replace(k, history=k.history[:-1]),
}


def key_field_edited(rec: Recorded, rng: random.Random) -> Mutation:
    """One field of keys.json changed: left with its old signature, or re-signed."""
    name = rng.choice(sorted(KEY_FIELD_EDITS))
    resign = rng.random() < 0.5

    def apply(paths: RecordingPaths) -> None:
        edit = KEY_FIELD_EDITS[name]
        if resign:
            forge_keys(paths, rec.bench.signing_key, edit)
        else:
            body = edit(read_keys(paths).keys).body()
            edit_json(paths.keys, lambda d: d.update(body))

    return Mutation(f"keys.json {name} edited" + (" (re-signed)" * resign), apply)


def keys_rolled_back(rec: Recorded, rng: random.Random) -> Mutation:
    old = rng.choice(rec.old_keys)

    def apply(paths: RecordingPaths) -> None:
        paths.keys.write_bytes(old)

    return Mutation("keys.json rolled back to an earlier signed version", apply)


def file_removed(rec: Recorded, rng: random.Random) -> Mutation:
    choice = rng.choice(["manifest", "keys", "segment"])
    entry = rng.choice(_segments(rec.paths))

    def apply(paths: RecordingPaths) -> None:
        target = {"manifest": paths.manifest, "keys": paths.keys}.get(
            choice, paths.segment(entry.id)
        )
        target.unlink()

    return Mutation(f"{choice} file removed", apply)


MAKERS: tuple[Maker, ...] = (
    manifest_bit_flip,
    keys_bit_flip,
    segment_bit_flip,
    chunk_reframed,
    chunk_spliced,
    segments_swapped,
    segment_copied_over,
    manifest_rolled_back,
    tail_dropped,
    duplicated_under_new_id,
    foreign_segment,
    key_field_edited,
    keys_rolled_back,
    file_removed,
)
