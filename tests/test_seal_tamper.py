"""Every kind of tampering with a sealed segment is detected, each with its reason code.

One small segment (7 chunks of up to 32 bytes) is mutated in every way the issue lists: every
bit flipped (header, length fields, ciphertexts, tags), every chunk dropped, every pair swapped,
every chunk duplicated, chunks spliced from another segment under the same key and from another
recording, truncation at every byte, and bytes appended. For each mutation:

- `open_sealed` raises a `SealBroken` with a known code (never returns, never crashes);
- `verify_sealed` raises the same code;
- with `allow_incomplete=True` it either raises, or returns `complete=False` with chunks that
  are exactly the first chunks of the original: nothing altered is ever handed out.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Iterator

import pytest

from security import (
    DataKey,
    SealBroken,
    SealedWriter,
    SealHeader,
    open_sealed,
    verify_sealed,
)

CODES = {
    "seal_header_invalid",
    "seal_key_unknown",
    "seal_chunk_invalid",
    "seal_trailing_data",
    "seal_incomplete",
}
CHUNK = 32
PLAINTEXT = 200  # 6 full chunks and a final chunk of 8 bytes


class Segment:
    """A sealed segment split into its header and its framed chunks."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.header, offset = SealHeader.decode(raw)
        self.head = raw[:offset]
        self.frames: list[bytes] = []
        self.starts: list[int] = []
        while offset < len(raw):
            length = int.from_bytes(raw[offset : offset + 4], "big")
            self.starts.append(offset)
            self.frames.append(raw[offset : offset + 4 + length])
            offset += 4 + length

    def join(self, frames: list[bytes], head: bytes | None = None) -> bytes:
        return (self.head if head is None else head) + b"".join(frames)


def seal(key: DataKey, recording: str, segment: int, data: bytes) -> bytes:
    header = SealHeader(
        recording, "h_hearing1", "p_witness1/video", segment, key.key_id, key.new_nonce_prefix()
    )
    sink = io.BytesIO()
    writer = SealedWriter(sink, key, header, chunk_bytes=CHUNK, clock=lambda: 0.0)
    writer.write(data)
    writer.close()
    return sink.getvalue()


KEY = DataKey.generate("k1")
OTHER_RECORDING_KEY = DataKey.generate("k1")  # every recording has its own DEK, same name
DATA = os.urandom(PLAINTEXT)
ORIGINAL = Segment(seal(KEY, "rec-1", 0, DATA))
SAME_KEY_NEXT_SEGMENT = Segment(seal(KEY, "rec-1", 1, os.urandom(PLAINTEXT)))
OTHER_RECORDING = Segment(seal(OTHER_RECORDING_KEY, "rec-2", 0, os.urandom(PLAINTEXT)))
PLAIN_CHUNKS = open_sealed(ORIGINAL.raw, lambda key_id: KEY).chunks
LAST = len(ORIGINAL.frames) - 1


def key_for(key_id: str) -> DataKey:
    if key_id != KEY.key_id:
        raise KeyError(key_id)
    return KEY


def mutations() -> Iterator[tuple[str, bytes, str | None, int | None]]:
    """(what, bytes, the code expected or None for "any code", the chunk expected or None)."""
    raw = ORIGINAL.raw
    frames = ORIGINAL.frames
    head_end = len(ORIGINAL.head)
    for position in range(len(raw)):
        for bit in range(8):
            flipped = bytearray(raw)
            flipped[position] ^= 1 << bit
            if position < head_end:
                yield f"flip header byte {position} bit {bit}", bytes(flipped), None, None
                continue
            chunk = max(i for i, start in enumerate(ORIGINAL.starts) if start <= position)
            if position - ORIGINAL.starts[chunk] < 4:
                yield f"flip length of chunk {chunk} bit {bit}", bytes(flipped), None, chunk
            else:
                what = f"flip chunk {chunk} byte {position} bit {bit}"
                yield what, bytes(flipped), "seal_chunk_invalid", chunk
    for i in range(len(frames)):
        dropped = frames[:i] + frames[i + 1 :]
        if i == LAST:
            yield "drop the final chunk", ORIGINAL.join(dropped), "seal_incomplete", LAST
        else:
            yield f"drop chunk {i}", ORIGINAL.join(dropped), "seal_chunk_invalid", i
        duplicated = [*frames[: i + 1], frames[i], *frames[i + 1 :]]
        code = "seal_trailing_data" if i == LAST else "seal_chunk_invalid"
        yield f"duplicate chunk {i}", ORIGINAL.join(duplicated), code, i if i == LAST else i + 1
        for j in range(i + 1, len(frames)):
            swapped = list(frames)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            yield f"swap chunks {i} and {j}", ORIGINAL.join(swapped), "seal_chunk_invalid", i
        for source, name in (
            (SAME_KEY_NEXT_SEGMENT, "the next segment"),
            (OTHER_RECORDING, "another recording"),
        ):
            spliced = list(frames)
            spliced[i] = source.frames[i]
            what = f"chunk {i} spliced from {name}"
            yield what, ORIGINAL.join(spliced), "seal_chunk_invalid", i
        moved = [frames[i], *frames[:i], *frames[i + 1 :]]
        if i > 0:
            yield f"chunk {i} moved to the front", ORIGINAL.join(moved), "seal_chunk_invalid", 0
    for source, name in (
        (SAME_KEY_NEXT_SEGMENT, "the next segment"),
        (OTHER_RECORDING, "another recording"),
    ):
        yield f"header of {name}", ORIGINAL.join(frames, source.head), None, None
        yield f"chunks of {name}", ORIGINAL.join(source.frames), "seal_chunk_invalid", 0
    for cut in range(len(raw)):
        truncated = raw[:cut]
        if cut < head_end:
            yield f"cut inside the header at {cut}", truncated, "seal_header_invalid", None
        elif cut in ORIGINAL.starts:
            chunk = ORIGINAL.starts.index(cut)
            yield f"cut before chunk {chunk}", truncated, "seal_incomplete", chunk
        else:
            chunk = max(i for i, start in enumerate(ORIGINAL.starts) if start < cut)
            yield f"cut inside chunk {chunk} at {cut}", truncated, "seal_incomplete", chunk
    for extra in (b"\x00", b"\x00" * 4, os.urandom(20), frames[-1], frames[0], raw):
        what = f"{len(extra)} bytes appended"
        yield what, raw + extra, "seal_trailing_data", LAST


MUTATIONS = list(mutations())


def test_the_suite_is_large_and_every_mutation_changes_the_bytes() -> None:
    assert len(MUTATIONS) >= 1000
    assert all(mutated != ORIGINAL.raw for _, mutated, _, _ in MUTATIONS)
    assert open_sealed(ORIGINAL.raw, key_for).plaintext == DATA
    assert len(ORIGINAL.frames) == 7


def test_every_mutation_is_detected_with_a_reason_code() -> None:
    seen: Counter[str] = Counter()
    for what, mutated, expected, chunk in MUTATIONS:
        with pytest.raises(SealBroken) as broken:
            open_sealed(mutated, key_for)
        error = broken.value
        assert error.code in CODES, what
        assert error.reason and str(error), what
        if expected is not None:
            assert error.code == expected, f"{what}: {error.code} ({error.reason})"
        if chunk is not None and expected is not None:
            assert error.chunk == chunk, f"{what}: chunk {error.chunk}"
        with pytest.raises(SealBroken) as verified:
            verify_sealed(mutated, key_for)
        assert verified.value.code == error.code, what
        seen[error.code] += 1
    # Every code is reached, and all the counts add up to the whole suite.
    assert set(seen) == CODES
    assert sum(seen.values()) == len(MUTATIONS)


def test_nothing_altered_is_handed_out_even_when_incomplete_segments_are_allowed() -> None:
    torn = 0
    for what, mutated, expected, _ in MUTATIONS:
        try:
            opened = open_sealed(mutated, key_for, allow_incomplete=True)
        except SealBroken as broken:
            assert broken.code in CODES, what
            assert expected != "seal_incomplete" or broken.code == "seal_header_invalid", what
            continue
        assert not opened.complete, what
        assert opened.chunks == PLAIN_CHUNKS[: len(opened.chunks)], what
        torn += opened.torn_tail_bytes > 0
    assert torn > 0


def test_truncation_at_a_chunk_boundary_is_incomplete_and_inside_a_chunk_is_torn() -> None:
    for index, start in enumerate(ORIGINAL.starts):
        opened = open_sealed(ORIGINAL.raw[:start], key_for, allow_incomplete=True)
        assert not opened.complete and opened.torn_tail_bytes == 0
        assert opened.chunks == PLAIN_CHUNKS[:index]
        cut = start + len(ORIGINAL.frames[index]) - 1
        opened = open_sealed(ORIGINAL.raw[:cut], key_for, allow_incomplete=True)
        assert not opened.complete
        assert opened.torn_tail_bytes == len(ORIGINAL.frames[index]) - 1
        assert opened.chunks == PLAIN_CHUNKS[:index]


def test_a_length_field_beyond_the_limit_is_refused_without_a_huge_allocation() -> None:
    start = ORIGINAL.starts[2]
    for length in (0, 15, 16 * 1024 * 1024 + 1, 0xFFFFFFFF):
        raw = bytearray(ORIGINAL.raw)
        raw[start : start + 4] = length.to_bytes(4, "big")
        with pytest.raises(SealBroken) as broken:
            open_sealed(bytes(raw), key_for, allow_incomplete=True)
        assert broken.value.code == "seal_chunk_invalid" and broken.value.chunk == 2
