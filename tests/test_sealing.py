"""Sealed segments: round trips, time-based chunking, refusals, and nonce uniqueness.

The tamper suite is in tests/test_seal_tamper.py and the crash test in tests/test_seal_crash.py.
"""

from __future__ import annotations

import copy
import hashlib
import io
import os
import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from security import (
    DataKey,
    SealBroken,
    SealClosed,
    SealedWriter,
    SealHeader,
    SealHeaderInvalid,
    SealIncomplete,
    SealKeyUnknown,
    SealNonceReused,
    SealRefused,
    SealSinkFailed,
    open_sealed,
    verify_sealed,
)
from security.seal_format import MAGIC, TAG_BYTES

CHUNK = 1024


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def header_for(key: DataKey, *, recording: str = "rec-1", segment: int = 0) -> SealHeader:
    return SealHeader(
        recording_id=recording,
        hearing_id="h_hearing1",
        track="p_judge001/video",
        segment=segment,
        key_id=key.key_id,
        nonce_prefix=key.new_nonce_prefix(),
    )


def lookup(*keys: DataKey) -> dict[str, DataKey]:
    return {key.key_id: key for key in keys}


def seal(
    data: bytes, key: DataKey, *, chunk_bytes: int = CHUNK, pieces: list[int] | None = None
) -> bytes:
    sink = io.BytesIO()
    writer = SealedWriter(sink, key, header_for(key), chunk_bytes=chunk_bytes, clock=FakeClock())
    offset = 0
    for size in pieces or [len(data)]:
        writer.write(data[offset : offset + size])
        offset += size
    writer.write(data[offset:])
    writer.close()
    return sink.getvalue()


def sealed_chunks(segment: bytes) -> list[bytes]:
    """The ciphertext||tag of each whole chunk, split by the length fields."""
    _, offset = SealHeader.decode(segment)
    chunks = []
    while offset + 4 <= len(segment):
        length = int.from_bytes(segment[offset : offset + 4], "big")
        if offset + 4 + length > len(segment):
            break
        chunks.append(segment[offset + 4 : offset + 4 + length])
        offset += 4 + length
    return chunks


def chunk_sizes(segment: bytes) -> list[int]:
    return [len(chunk) for chunk in sealed_chunks(segment)]


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * 1024 * 1024 + 17]
)
def test_a_segment_round_trips_at_every_size(size: int) -> None:
    key = DataKey.generate("k1")
    data = os.urandom(size)
    chunk_bytes = 65536 if size > 1024 * 1024 else CHUNK
    sink = io.BytesIO()
    writer = SealedWriter(sink, key, header_for(key), chunk_bytes=chunk_bytes, clock=FakeClock())
    writer.write(data)
    summary = writer.close()
    sealed = sink.getvalue()

    opened = open_sealed(sealed, lookup(key).__getitem__)
    assert opened.complete and opened.torn_tail_bytes == 0
    assert opened.plaintext == data
    full, rest = divmod(size, chunk_bytes)
    assert summary.chunks == len(opened.chunks) == full + 1  # the final chunk holds the rest
    assert len(opened.chunks[-1]) == rest
    assert summary.plaintext_bytes == size
    assert summary.sealed_bytes == len(sealed)
    assert summary.sha256 == hashlib.sha256(sealed).hexdigest()
    verified = verify_sealed(sealed, lookup(key).__getitem__)
    assert (verified.sha256, verified.chunks, verified.plaintext_bytes) == (
        summary.sha256,
        summary.chunks,
        size,
    )


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(min_size=0, max_size=5000),
    pieces=st.lists(st.integers(min_value=0, max_value=1500), max_size=12),
    chunk_bytes=st.integers(min_value=1, max_value=700),
)
def test_any_split_into_writes_gives_back_the_same_bytes_in_full_chunks(
    data: bytes, pieces: list[int], chunk_bytes: int
) -> None:
    key = DataKey.generate("k1")
    sealed = seal(data, key, chunk_bytes=chunk_bytes, pieces=pieces)
    opened = open_sealed(sealed, lookup(key).__getitem__)
    assert opened.complete
    assert opened.plaintext == data
    # Without the clock moving, every chunk but the final one is exactly chunk_bytes.
    assert all(len(chunk) == chunk_bytes for chunk in opened.chunks[:-1])
    assert len(opened.chunks[-1]) < chunk_bytes


def test_the_sink_never_holds_plaintext() -> None:
    key = DataKey.generate("k1")
    marker = b"WITNESS-STATEMENT-" * 100
    sink = io.BytesIO()
    writer = SealedWriter(sink, key, header_for(key), chunk_bytes=256, clock=FakeClock())
    writer.write(marker)
    assert sink.getvalue()  # chunks were written while the writer is still open
    assert b"WITNESS" not in sink.getvalue()
    writer.close()
    assert b"WITNESS" not in sink.getvalue()


class CountingSink(io.BytesIO):
    """A BytesIO that counts flushes: the edge the writer talks to."""

    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_the_header_and_each_full_chunk_are_flushed_at_once() -> None:
    key = DataKey.generate("k1")
    sink = CountingSink()
    writer = SealedWriter(sink, key, header_for(key), chunk_bytes=CHUNK, clock=FakeClock())
    assert sink.getvalue().startswith(MAGIC) and sink.flushes == 1
    writer.write(b"x" * (CHUNK - 1))
    assert chunk_sizes(sink.getvalue()) == [] and writer.buffered_bytes == CHUNK - 1
    writer.write(b"x" * (2 * CHUNK + 1))
    assert chunk_sizes(sink.getvalue()) == [CHUNK + TAG_BYTES] * 3
    assert sink.flushes == 4 and writer.buffered_bytes == 0
    opened = open_sealed(sink.getvalue(), lookup(key).__getitem__, allow_incomplete=True)
    assert opened.plaintext == b"x" * 3 * CHUNK and not opened.complete


def test_buffered_bytes_are_sealed_once_the_oldest_is_chunk_seconds_old() -> None:
    key = DataKey.generate("k1")
    clock = FakeClock()
    sink = io.BytesIO()
    writer = SealedWriter(
        sink, key, header_for(key), chunk_bytes=CHUNK, chunk_seconds=1.0, clock=clock
    )
    writer.write(b"a" * 10)  # t = 0: the oldest byte
    clock.now += 0.5
    writer.write(b"b" * 10)
    writer.flush_due()
    assert writer.buffered_bytes == 20 and chunk_sizes(sink.getvalue()) == []
    clock.now += 0.5  # t = 1.0: the first byte is one second old
    writer.write(b"c" * 10)
    assert writer.buffered_bytes == 0
    assert chunk_sizes(sink.getvalue()) == [30 + TAG_BYTES]

    clock.now += 0.25
    writer.write(b"d" * 5)  # a new oldest byte at t = 1.25
    clock.now += 0.9
    writer.flush_due()
    assert writer.buffered_bytes == 5
    clock.now += 0.1
    writer.flush_due()  # t = 2.25: the timer seals it
    assert writer.buffered_bytes == 0
    assert chunk_sizes(sink.getvalue()) == [30 + TAG_BYTES, 5 + TAG_BYTES]
    writer.close()
    opened = open_sealed(sink.getvalue(), lookup(key).__getitem__)
    assert opened.chunks == (b"a" * 10 + b"b" * 10 + b"c" * 10, b"d" * 5, b"")


def test_the_rest_of_a_large_write_starts_its_own_clock() -> None:
    key = DataKey.generate("k1")
    clock = FakeClock()
    sink = io.BytesIO()
    writer = SealedWriter(sink, key, header_for(key), chunk_bytes=100, clock=clock)
    writer.write(b"a" * 50)
    clock.now += 0.9
    writer.write(b"b" * 120)  # one full chunk goes out; 70 bytes of this write stay
    assert writer.buffered_bytes == 70
    clock.now += 0.5  # 1.4 s after the first write, 0.5 s after the one that is buffered
    writer.flush_due()
    assert writer.buffered_bytes == 70
    clock.now += 0.5
    writer.flush_due()
    assert writer.buffered_bytes == 0


def test_close_is_idempotent_and_later_writes_are_refused() -> None:
    key = DataKey.generate("k1")
    sink = io.BytesIO()
    writer = SealedWriter(sink, key, header_for(key), clock=FakeClock())
    writer.write(b"hello")
    first = writer.close()
    size = len(sink.getvalue())
    assert writer.closed and writer.close() == first and len(sink.getvalue()) == size
    with pytest.raises(SealClosed) as refused:
        writer.write(b"more")
    assert refused.value.code == "seal_closed"
    writer.flush_due()  # a timer firing after close does nothing
    assert len(sink.getvalue()) == size


def test_a_writer_refuses_a_nonce_prefix_it_cannot_trust() -> None:
    key = DataKey.generate("k1")
    other = DataKey.generate("k2")
    header = header_for(key)
    SealedWriter(io.BytesIO(), key, header)
    with pytest.raises(SealNonceReused) as reused:
        SealedWriter(io.BytesIO(), key, header)  # the same prefix twice
    assert reused.value.code == "seal_nonce_reused"
    foreign = SealHeader("rec-1", "h1", "audio", 0, "k1", other.new_nonce_prefix())
    with pytest.raises(SealNonceReused):
        SealedWriter(io.BytesIO(), key, foreign)  # a prefix this key never issued
    with pytest.raises(SealRefused) as mismatch:
        SealedWriter(io.BytesIO(), other, header)  # the header names k1
    assert mismatch.value.code == "seal_refused"


def test_a_key_restored_from_bytes_opens_but_never_seals() -> None:
    key = DataKey.generate("k1")
    sealed = seal(b"testimony", key)
    restored = DataKey.from_bytes("k1", key.secret.value)
    assert open_sealed(sealed, lookup(restored).__getitem__).plaintext == b"testimony"
    with pytest.raises(SealRefused):
        restored.new_nonce_prefix()


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"chunk_bytes": 0}, "chunk_bytes"),
        ({"chunk_bytes": 16 * 1024 * 1024}, "chunk_bytes"),
        ({"chunk_seconds": 0.0}, "chunk_seconds"),
        ({"chunk_seconds": float("nan")}, "chunk_seconds"),
    ],
)
def test_impossible_writer_settings_are_refused(kwargs: dict[str, float], reason: str) -> None:
    key = DataKey.generate("k1")
    with pytest.raises(SealRefused) as refused:
        SealedWriter(io.BytesIO(), key, header_for(key), **kwargs)  # type: ignore[arg-type]
    assert reason in refused.value.reason


class FailingSink(io.BytesIO):
    """A disk that fills up after `room` bytes."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, data: object) -> int:
        view = memoryview(data)  # type: ignore[arg-type]
        if self.tell() + len(view) > self.room:
            raise OSError(28, "No space left on device")
        return super().write(view)


def test_a_failed_write_ends_the_segment_and_what_was_written_verifies_as_incomplete() -> None:
    key = DataKey.generate("k1")
    sink = FailingSink(room=200)
    writer = SealedWriter(sink, key, header_for(key), chunk_bytes=64, clock=FakeClock())
    with pytest.raises(OSError):
        writer.write(b"z" * 1000)
    with pytest.raises(SealSinkFailed) as failed:
        writer.write(b"z")
    assert failed.value.code == "seal_sink_failed"
    with pytest.raises(SealSinkFailed):
        writer.close()
    opened = open_sealed(sink.getvalue(), lookup(key).__getitem__, allow_incomplete=True)
    assert not opened.complete and opened.plaintext == b"z" * 64 * len(opened.chunks)


def test_a_segment_file_verifies_from_disk_with_fsync_on(tmp_path: Path) -> None:
    key = DataKey.generate("k1")
    path = tmp_path / "seg-0.sealed"
    with path.open("wb") as sink:
        writer = SealedWriter(sink, key, header_for(key), chunk_bytes=CHUNK, fsync=True)
        writer.write(os.urandom(10 * CHUNK + 5))
        summary = writer.close()
    verified = verify_sealed(path, lookup(key).__getitem__)
    assert verified.complete and verified.sha256 == summary.sha256
    assert verified.chunks == 11 and verified.plaintext_bytes == 10 * CHUNK + 5
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(SealIncomplete):
        verify_sealed(path, lookup(key).__getitem__)
    torn = verify_sealed(path, lookup(key).__getitem__, allow_incomplete=True)
    assert torn.chunks == 10 and torn.torn_tail_bytes == 4 + 5 + TAG_BYTES - 3
    with pytest.raises(SealHeaderInvalid):
        verify_sealed(tmp_path, lookup(key).__getitem__)  # a folder is not a segment


def test_a_missing_key_is_named_not_crashed_on() -> None:
    key = DataKey.generate("k1")
    sealed = seal(b"x", key)
    with pytest.raises(SealKeyUnknown) as unknown:
        open_sealed(sealed, lookup().__getitem__)
    assert unknown.value.code == "seal_key_unknown" and "k1" in unknown.value.reason
    impostor = DataKey.generate("k9")
    with pytest.raises(SealKeyUnknown):
        open_sealed(sealed, lambda key_id: impostor)


def test_a_header_round_trips() -> None:
    key = DataKey.generate("dek-2026.1")
    header = SealHeader("rec-é", "h_1", "p_1/audio", 4_000_000_000, key.key_id, b"\x00" * 7)
    encoded = header.encode()
    assert SealHeader.decode(encoded + b"rest") == (header, len(encoded))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda raw: b"XCSEAL" + raw[6:],
        lambda raw: raw[:6] + b"\x02" + raw[7:],
        lambda raw: raw[:-1],
        lambda raw: raw[:7] + b"\x00" + raw[8:],  # an empty recording id
        lambda raw: raw[:7] + b"\x05" + b"rec\x07x" + raw[13:],  # a control character
        lambda raw: raw[:7] + b"\x05" + b"rec\xff\xfe" + raw[13:],  # not UTF-8
        lambda raw: raw[:-8] + b"\x06" + raw[-7:],  # a nonce prefix of 6 bytes
        lambda raw: b"",
    ],
)
def test_a_bad_header_is_refused_with_its_code(mutate: object) -> None:
    key = DataKey.generate("k1")
    raw = SealHeader("rec-1", "h1", "audio", 0, "k1", key.new_nonce_prefix()).encode()
    with pytest.raises(SealHeaderInvalid) as refused:
        SealHeader.decode(mutate(raw))  # type: ignore[operator]
    assert refused.value.code == "seal_header_invalid" and refused.value.reason


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_are_refused_with_a_code_never_a_crash(data: bytes) -> None:
    key = DataKey.generate("k1")
    for blob in (data, MAGIC + b"\x01" + data):
        with pytest.raises(SealBroken) as refused:
            open_sealed(blob, lookup(key).__getitem__, allow_incomplete=True)
        assert refused.value.code.startswith("seal_")


def test_a_data_key_never_prints_pickles_or_copies_its_bytes() -> None:
    key = DataKey.generate("k1")
    raw = key.secret.value
    for text in (repr(key), str(key), f"{key}", repr([key])):
        assert raw.hex() not in text and "k1" in text and "****" in text
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert copy.copy(key) is key and copy.deepcopy(key) is key  # one nonce set per key


def test_new_nonce_prefix_draws_again_on_a_collision(monkeypatch: pytest.MonkeyPatch) -> None:
    key = DataKey.generate("k1")
    draws = iter([b"A" * 7, b"A" * 7, b"A" * 7, b"B" * 7, b"A" * 7, b"C" * 7])
    monkeypatch.setattr("security.datakey.os.urandom", lambda size: next(draws))
    assert [key.new_nonce_prefix() for _ in range(3)] == [b"A" * 7, b"B" * 7, b"C" * 7]


def test_new_nonce_prefix_never_repeats_over_many_draws() -> None:
    key = DataKey.generate("k1")
    prefixes = [key.new_nonce_prefix() for _ in range(20_000)]
    assert len(set(prefixes)) == len(prefixes)
    assert all(len(prefix) == 7 for prefix in prefixes)


Operation = tuple[str, int, int]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["new_key", "segment", "reuse"]),
            st.integers(min_value=0, max_value=20),
            st.integers(min_value=0, max_value=300),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_no_key_and_nonce_pair_ever_repeats(operations: list[Operation]) -> None:
    """Over any sequence of keys, segments and attempts to reuse a header."""
    keys = [DataKey.generate("k0")]
    headers: list[tuple[DataKey, SealHeader]] = []
    used: set[tuple[bytes, bytes]] = set()
    for action, pick, size in operations:
        if action == "new_key":
            keys.append(DataKey.generate(f"k{len(keys)}"))
        elif action == "reuse" and headers:
            key, header = headers[pick % len(headers)]
            with pytest.raises(SealNonceReused):
                SealedWriter(io.BytesIO(), key, header)
        else:
            key = keys[pick % len(keys)]
            header = header_for(key, segment=len(headers))
            sink = io.BytesIO()
            writer = SealedWriter(sink, key, header, chunk_bytes=64, clock=FakeClock())
            writer.write(bytes(size))
            chunks = writer.close().chunks
            headers.append((key, header))
            for counter, sealed in enumerate(sealed_chunks(sink.getvalue())):
                nonce = header.nonce_prefix + counter.to_bytes(4, "big")
                nonce += b"\x01" if counter == chunks - 1 else b"\x00"
                # The chunk authenticates under this nonce, so this is the nonce it used.
                key.cipher.decrypt(nonce, sealed, header.encode())
                pair = (key.secret.value, nonce)
                assert pair not in used
                used.add(pair)


def test_the_documented_offline_check_reads_what_the_writer_wrote(tmp_path: Path) -> None:
    """docs/recording-format.md's independent reader agrees with the format as written."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "recording-format.md").read_text()
    start = doc.index("```python\n") + len("```python\n")
    namespace: dict[str, object] = {}
    exec(doc[start : doc.index("```", start)], namespace)
    check = namespace["check"]
    key = DataKey.generate("k1")
    data = os.urandom(3 * CHUNK + 100)
    sealed = seal(data, key)
    path = tmp_path / "seg.sealed"
    path.write_bytes(sealed)
    assert check(str(path), key.secret.value) == (data, True)  # type: ignore[operator]
    final = 4 + 100 + TAG_BYTES
    path.write_bytes(sealed[:-final])
    assert check(str(path), key.secret.value) == (data[: 3 * CHUNK], False)  # type: ignore[operator]
    path.write_bytes(sealed[:-1])
    assert check(str(path), key.secret.value) == (data[: 3 * CHUNK], False)  # type: ignore[operator]
