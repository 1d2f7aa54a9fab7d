"""The tamper suite: more than a thousand alterations of a sealed recording (bit flips across
headers, chunks, the manifest and the key file; chunks dropped, swapped, duplicated or spliced
from another recording; truncations; files removed or swapped). `verify` must call every one
of them invalid, each with a reason code."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from hearing.phases import Phase
from recording.layout import RecordingPaths
from recording.verify import RecordingReport
from security.sealing import SealHeader
from tests.recording_support import Bench, participant_tracks

Mutation = tuple[str, Path, Callable[[bytes], bytes]]


async def _record(bench: Bench) -> str:
    recorder = bench.recorder(segment_seconds=1, chunk_bytes=4096)
    recording_id = recorder.start("p-judge", Phase.IN_SESSION)
    tracks = participant_tracks(1)
    recorder.sync([c for c, _ in tracks], Phase.IN_SESSION)
    for _ in range(5):
        for _c, publisher in tracks:
            publisher.send_seconds(0.5)
    await recorder.close()
    return recording_id


def chunks_of(data: bytes) -> tuple[bytes, list[bytes]]:
    """(header bytes, each framed chunk) of a sealed segment."""
    _header, size = SealHeader.decode(data)
    pos, chunks = size, []
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunks.append(data[pos : pos + 4 + length])
        pos += 4 + length
    return data[:size], chunks


def flip(position: int, bit: int) -> Callable[[bytes], bytes]:
    def apply(data: bytes) -> bytes:
        out = bytearray(data)
        out[position % len(out)] ^= 1 << bit
        return bytes(out)

    return apply


def reframe(edit: Callable[[list[bytes]], list[bytes]]) -> Callable[[bytes], bytes]:
    def apply(data: bytes) -> bytes:
        header, chunks = chunks_of(data)
        return header + b"".join(edit(list(chunks)))

    return apply


Edit = Callable[[list[bytes]], list[bytes]]


def dropped(i: int) -> Edit:
    return lambda c: c[:i] + c[i + 1 :]


def duplicated(i: int) -> Edit:
    return lambda c: c[: i + 1] + c[i:]


def swapped(i: int) -> Edit:
    return lambda c: [*c[:i], c[i + 1], c[i], *c[i + 2 :]]


def spliced(stranger: bytes, where: int) -> Edit:
    return lambda c: [*c[: where % len(c)], stranger, *c[where % len(c) + 1 :]]


def truncated(cut: int) -> Callable[[bytes], bytes]:
    return lambda d: d[: cut % len(d)]


def appended(extra: bytes) -> Callable[[bytes], bytes]:
    return lambda d: d + extra


def mutations(paths: RecordingPaths, foreign: RecordingPaths, rng: random.Random) -> list[Mutation]:
    segments = [paths.segment(i) for i in paths.segment_ids_on_disk()]
    many = [s for s in segments if len(chunks_of(s.read_bytes())[1]) >= 3]
    foreign_chunks = [
        c
        for i in foreign.segment_ids_on_disk()
        for c in chunks_of(foreign.segment(i).read_bytes())[1]
    ]
    out: list[Mutation] = []
    for _ in range(300):
        out.append(
            ("manifest bit flip", paths.manifest, flip(rng.randrange(1 << 30), rng.randrange(8)))
        )
    for _ in range(120):
        out.append(
            ("keys.json bit flip", paths.keys, flip(rng.randrange(1 << 30), rng.randrange(8)))
        )
    for _ in range(150):
        segment = rng.choice(segments)
        size = len(chunks_of(segment.read_bytes())[0])
        out.append(
            ("segment header bit flip", segment, flip(rng.randrange(size), rng.randrange(8)))
        )
    for _ in range(200):
        segment = rng.choice(segments)
        out.append(
            ("segment chunk bit flip", segment, flip(rng.randrange(1 << 30), rng.randrange(8)))
        )
    for segment in many:
        count = len(chunks_of(segment.read_bytes())[1])
        for i in range(count):
            out.append((f"chunk {i} dropped", segment, reframe(dropped(i))))
            out.append((f"chunk {i} duplicated", segment, reframe(duplicated(i))))
            if i + 1 < count:
                out.append((f"chunks {i},{i + 1} swapped", segment, reframe(swapped(i))))
    for _ in range(60):
        segment = rng.choice(segments)
        stranger = rng.choice(foreign_chunks)
        where = rng.randrange(3)
        out.append(
            (
                "chunk spliced from another recording",
                segment,
                reframe(spliced(stranger, where)),
            )
        )
    for _ in range(120):
        segment = rng.choice(segments)
        cut = rng.randrange(1, 1 << 30)
        out.append(("segment truncated", segment, truncated(cut)))
    for _ in range(40):
        cut = rng.randrange(1 << 30)
        out.append(("manifest truncated", paths.manifest, truncated(cut)))
    for _ in range(30):
        segment = rng.choice(segments)
        extra = rng.randbytes(rng.randrange(1, 64))
        out.append(("bytes appended to a segment", segment, appended(extra)))
    return out


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Bench, str, str]:
    import asyncio

    bench = Bench(tmp_path_factory.mktemp("tamper"))
    first = asyncio.run(_record(bench))
    second = asyncio.run(_record(bench))
    return bench, first, second


def test_a_pristine_recording_verifies(recorded: tuple[Bench, str, str]) -> None:
    bench, first, _ = recorded
    assert bench.verify(first).status == "valid"


def test_every_one_of_a_thousand_alterations_is_detected_with_a_reason(
    recorded: tuple[Bench, str, str],
) -> None:
    bench, first, second = recorded
    paths = RecordingPaths(bench.recordings / first)
    rng = random.Random(20261129)
    cases = mutations(paths, RecordingPaths(bench.recordings / second), rng)
    assert len(cases) >= 1000
    missed: list[str] = []
    codes: set[str] = set()
    for name, path, mutate in cases:
        original = path.read_bytes()
        altered = mutate(original)
        if altered == original:
            continue
        path.write_bytes(altered)
        try:
            report: RecordingReport = bench.verify(first)
        finally:
            path.write_bytes(original)
        if report.status != "invalid" or not all(p.code for p in report.problems):
            missed.append(f"{name} on {path.name}: {report.status}")
        codes |= {p.code for p in report.problems}
    assert missed == []
    assert {"manifest_invalid", "segment_altered"} <= codes
    assert bench.verify(first).status == "valid"


def test_removed_or_swapped_segment_files_are_detected(recorded: tuple[Bench, str, str]) -> None:
    bench, first, _ = recorded
    paths = RecordingPaths(bench.recordings / first)
    ids = paths.segment_ids_on_disk()
    a, b = paths.segment(ids[0]), paths.segment(ids[1])
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.unlink()
    try:
        assert "segment_missing" in {p.code for p in bench.verify(first).problems}
    finally:
        a.write_bytes(data_a)
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    try:
        assert bench.verify(first).status == "invalid"
    finally:
        a.write_bytes(data_a)
        b.write_bytes(data_b)


def test_the_manifest_signed_by_another_key_is_not_trusted(
    recorded: tuple[Bench, str, str], tmp_path: Path
) -> None:
    bench, first, _ = recorded
    from recording.manifest import read_signed, write_signed
    from security import SigningKey

    copy = tmp_path / first
    shutil.copytree(bench.recordings / first, copy)
    manifest = read_signed(RecordingPaths(copy).manifest).manifest
    write_signed(RecordingPaths(copy).manifest, manifest, SigningKey.generate())
    from recording.verify import verify_recording

    report = verify_recording(copy, trusted_keys=frozenset({bench.signing_key.public_key}))
    assert "manifest_untrusted" in {p.code for p in report.problems}
