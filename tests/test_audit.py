"""The audit log: a hash chain with signed checkpoints, and every kind of tampering detected."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from security import (
    AuditEntryRefused,
    AuditLog,
    AuditLogClosed,
    AuditProblem,
    AuditTampered,
    FileAuditSink,
    MemoryAuditSink,
    Secret,
    SigningKey,
    SigningKeyInvalid,
    verify,
    verify_file,
)

KEY = SigningKey.from_secret(Secret(bytes(range(32))))
OTHER_KEY = SigningKey.from_secret(Secret(bytes(range(1, 33))))
HEARING = "h_hearing1"
JUDGE = "p_judge001"
WITNESS = "p_witness1"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def fill(log: AuditLog, entries: int) -> None:
    for i in range(entries):
        if i % 3 == 2:
            log.record(WITNESS, "phase", result="forbidden", details={"phase": "recess"})
        else:
            log.record(JUDGE, "admit", target=WITNESS, details={"room": "courtroom", "n": i})


def write_log(path: Path, entries: int = 10, every: int = 4, close: bool = True) -> Path:
    """Entries 1..10 with checkpoints after 4 and 8 and a final one after 10: 13 lines."""
    log = AuditLog(HEARING, FileAuditSink(path), KEY, clock=Clock(), checkpoint_every=every)
    fill(log, entries)
    if close:
        log.close()
    return path


@pytest.fixture
def log_lines(tmp_path: Path) -> list[bytes]:
    return write_log(tmp_path / "audit.jsonl").read_bytes().splitlines(keepends=True)


def record(line: bytes) -> dict[str, object]:
    value = json.loads(line)
    assert isinstance(value, dict)
    return value


def index_of(lines: list[bytes], kind: str, seq: int) -> int:
    for i, line in enumerate(lines):
        fields = record(line)
        if fields["type"] == kind and fields["seq"] == seq:
            return i
    raise AssertionError(f"no {kind} {seq}")


def canonical_line(fields: dict[str, object]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def rehashed(fields: dict[str, object]) -> bytes:
    """An entry line with its hash recomputed, as a forger without the key would write it."""
    body = {k: v for k, v in fields.items() if k != "hash"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    return canonical_line({**body, "hash": digest.hexdigest()})


def problems(lines: list[bytes], *, require_closed: bool = False) -> set[AuditProblem]:
    report = verify(lines, KEY.public_key, require_closed=require_closed)
    return set(report.problems)


# --- round trip -------------------------------------------------------------------------------


def test_a_log_written_to_a_file_reads_back_and_verifies(tmp_path: Path) -> None:
    path = write_log(tmp_path / "audit.jsonl")
    report = verify_file(path, KEY.public_key, require_closed=True)
    assert report.ok, report.summary()
    assert (report.entries, report.checkpoints, report.signed_seq) == (10, 3, 10)
    assert report.closed and report.unsigned_tail == 0 and report.notes == ()
    assert report.hearing_id == HEARING
    assert verify(path.read_text().splitlines(), KEY.public_key).ok
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_each_line_is_canonical_json_and_each_entry_hashes_what_precedes_it(
    log_lines: list[bytes],
) -> None:
    prev = "0" * 64
    for line in log_lines:
        fields = record(line)
        assert canonical_line(fields) == line
        if fields["type"] == "entry":
            assert fields["prev"] == prev
            assert rehashed(fields) == line
            prev = str(fields["hash"])
        else:
            assert fields["hash"] == prev
    assert [record(line)["type"] for line in log_lines].count("checkpoint") == 3


def test_an_unclosed_log_with_an_unsigned_tail_verifies_and_says_so(tmp_path: Path) -> None:
    path = write_log(tmp_path / "audit.jsonl", entries=6, close=False)
    report = verify_file(path, KEY.public_key)
    assert report.ok
    assert (report.signed_seq, report.unsigned_tail, report.closed) == (4, 2, False)
    assert report.notes == ("unsigned tail: 2 entries", "not closed: no final checkpoint")


def test_a_crashed_log_resumes_from_its_head_and_still_verifies(tmp_path: Path) -> None:
    path = write_log(tmp_path / "audit.jsonl", entries=6, close=False)
    head = verify_file(path, KEY.public_key).head
    resumed = AuditLog(HEARING, FileAuditSink(path), KEY, clock=Clock(), head=head)
    resumed.record("system", "resume")
    resumed.close()
    report = verify_file(path, KEY.public_key, require_closed=True)
    assert report.ok, report.summary()
    assert report.entries == 7


def test_a_released_log_is_signed_and_a_later_writer_continues_its_chain(tmp_path: Path) -> None:
    path = tmp_path / "custody.jsonl"
    for n in range(3):
        head = verify_file(path, KEY.public_key).head if path.exists() else None
        log = AuditLog(HEARING, FileAuditSink(path), KEY, clock=Clock(), head=head)
        log.record("api", "recording_exported", target=f"r-{n:016x}")
        log.release()
        assert log.release() is None
    report = verify_file(path, KEY.public_key)
    assert report.ok, report.summary()
    assert (report.entries, report.unsigned_tail, report.closed) == (3, 0, False)


def test_an_empty_log_closes_with_a_checkpoint_of_nothing() -> None:
    sink = MemoryAuditSink()
    AuditLog(HEARING, sink, KEY, clock=Clock()).close()
    report = verify(sink.lines(), KEY.public_key, require_closed=True)
    assert report.ok and report.entries == 0 and report.closed


# --- tampering --------------------------------------------------------------------------------


def test_a_flipped_byte_in_an_action_is_reported_edited(log_lines: list[bytes]) -> None:
    i = index_of(log_lines, "entry", 5)
    log_lines[i] = log_lines[i].replace(b'"action":"admit"', b'"action":"edmit"')
    assert problems(log_lines) == {AuditProblem.EDITED}


def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_chain(log_lines: list[bytes]) -> None:
    i = index_of(log_lines, "entry", 5)
    log_lines[i] = rehashed({**record(log_lines[i]), "result": "ok", "action": "deny"})
    assert problems(log_lines) == {AuditProblem.EDITED}


def test_a_rewritten_chain_no_longer_matches_its_signed_checkpoint(
    log_lines: list[bytes],
) -> None:
    prev = str(record(log_lines[index_of(log_lines, "entry", 4)])["hash"])
    for seq in range(5, 9):
        i = index_of(log_lines, "entry", seq)
        log_lines[i] = rehashed({**record(log_lines[i]), "prev": prev, "actor": "p_forger1"})
        prev = str(record(log_lines[i])["hash"])
    report = verify(log_lines, KEY.public_key)
    assert report.problems == {AuditProblem.EDITED}
    assert "entry 8 is not the entry that was signed" in report.summary()


def test_a_deleted_middle_line_is_reported_deleted(log_lines: list[bytes]) -> None:
    del log_lines[index_of(log_lines, "entry", 6)]
    report = verify(log_lines, KEY.public_key)
    assert report.problems == {AuditProblem.DELETED}
    assert "entries 6 are missing" in report.summary()


def test_a_deleted_first_line_is_reported_deleted(log_lines: list[bytes]) -> None:
    del log_lines[0]
    assert problems(log_lines) == {AuditProblem.DELETED}


def test_two_swapped_entries_are_reported_reordered(log_lines: list[bytes]) -> None:
    i, j = index_of(log_lines, "entry", 6), index_of(log_lines, "entry", 7)
    log_lines[i], log_lines[j] = log_lines[j], log_lines[i]
    assert problems(log_lines) == {AuditProblem.REORDERED}


def test_a_checkpoint_moved_before_its_entry_is_reported_reordered(
    log_lines: list[bytes],
) -> None:
    i = index_of(log_lines, "checkpoint", 8)
    log_lines[i - 1], log_lines[i] = log_lines[i], log_lines[i - 1]
    assert problems(log_lines) == {AuditProblem.REORDERED}


def test_a_forged_line_inserted_is_reported_inserted(log_lines: list[bytes]) -> None:
    i = index_of(log_lines, "entry", 6)
    fifth = record(log_lines[index_of(log_lines, "entry", 5)])
    forged = rehashed({**record(log_lines[i]), "prev": fifth["hash"], "action": "eject"})
    log_lines.insert(i, forged)
    assert problems(log_lines) == {AuditProblem.INSERTED}


def test_an_entry_appended_after_the_final_checkpoint_is_reported_inserted(
    log_lines: list[bytes],
) -> None:
    tenth = record(log_lines[index_of(log_lines, "entry", 10)])
    log_lines.append(rehashed({**tenth, "seq": 11, "prev": tenth["hash"], "action": "admit"}))
    assert problems(log_lines) == {AuditProblem.INSERTED}


def test_a_line_of_another_hearing_is_reported_inserted(log_lines: list[bytes]) -> None:
    other = rehashed({**record(log_lines[0]), "hearing": "h_another1"})
    log_lines.insert(3, other)
    assert AuditProblem.INSERTED in problems(log_lines)


def test_a_replaced_checkpoint_signature_is_reported_bad_signature(
    log_lines: list[bytes],
) -> None:
    i = index_of(log_lines, "checkpoint", 8)
    fields = record(log_lines[i])
    message = b"ecourt-audit-checkpoint-v1\x00" + canonical_line(
        {k: v for k, v in fields.items() if k != "sig"}
    ).rstrip(b"\n")
    log_lines[i] = canonical_line({**fields, "sig": OTHER_KEY.sign(message).hex()})
    assert problems(log_lines) == {AuditProblem.BAD_SIGNATURE}


def test_a_checkpoint_with_an_edited_hash_is_reported_bad_signature(
    log_lines: list[bytes],
) -> None:
    i = index_of(log_lines, "checkpoint", 4)
    fields = record(log_lines[i])
    forged = record(log_lines[index_of(log_lines, "entry", 3)])["hash"]
    log_lines[i] = canonical_line({**fields, "hash": forged, "seq": 3})
    assert problems(log_lines) == {AuditProblem.BAD_SIGNATURE}


def test_a_wrong_public_key_fails_every_checkpoint(log_lines: list[bytes]) -> None:
    report = verify(log_lines, OTHER_KEY.public_key)
    assert report.problems == {AuditProblem.BAD_SIGNATURE}
    assert report.finding_count == 3 and report.signed_seq == 0
    with pytest.raises(AuditTampered) as tampered:
        report.raise_if_tampered()
    assert tampered.value.code == "audit_tampered"
    assert tampered.value.report is report


def test_a_file_cut_after_a_checkpoint_is_not_closed(log_lines: list[bytes]) -> None:
    cut = log_lines[: index_of(log_lines, "checkpoint", 8) + 1]
    report = verify(cut, KEY.public_key)
    assert report.ok and not report.closed
    assert "not closed: no final checkpoint" in report.notes
    assert problems(cut, require_closed=True) == {AuditProblem.TRUNCATED}


def test_a_file_cut_before_the_last_checkpoint_shows_an_unsigned_tail(
    log_lines: list[bytes],
) -> None:
    cut = log_lines[: index_of(log_lines, "entry", 10)]
    report = verify(cut, KEY.public_key)
    assert report.ok and report.unsigned_tail == 1 and report.signed_seq == 8
    assert "unsigned tail: 1 entries" in report.notes
    assert problems(cut, require_closed=True) == {AuditProblem.TRUNCATED}


def test_entries_cut_from_before_a_kept_checkpoint_are_reported_truncated(
    log_lines: list[bytes],
) -> None:
    del log_lines[index_of(log_lines, "entry", 9) : index_of(log_lines, "checkpoint", 10)]
    report = verify(log_lines, KEY.public_key)
    assert report.problems == {AuditProblem.TRUNCATED}
    assert "truncated after checkpoint" in report.summary()


def test_a_file_cut_in_the_middle_of_a_line_is_reported_truncated(tmp_path: Path) -> None:
    path = write_log(tmp_path / "audit.jsonl")
    path.write_bytes(path.read_bytes()[:-40])
    assert verify_file(path, KEY.public_key).problems == {AuditProblem.TRUNCATED}


def test_malformed_lines_are_reported_and_never_raise(log_lines: list[bytes]) -> None:
    junk: list[bytes | str] = [
        b"not json",
        b"",
        b"{}",
        b"[1,2]",
        b'{"type":"entry","v":1}',
        b'{"type":"entry","v":1,"seq":NaN}',
        b"\xff\xfe",
        "\ud800",
        b'{"a":1,"a":1}',
        b"x" * 20_000,
        log_lines[0].rstrip(b"\n") + b" ",
        b"two\nlines",
    ]
    report = verify([*log_lines, *junk], KEY.public_key)
    assert report.problems == {AuditProblem.MALFORMED}
    assert report.finding_count == len(junk)
    assert [f.line for f in report.findings] == list(range(14, 14 + len(junk)))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_single_byte_edit_to_any_line_is_detected(data: st.DataObject) -> None:
    lines = _PRISTINE
    i = data.draw(st.integers(0, len(lines) - 1), label="line")
    at = data.draw(st.integers(0, len(lines[i]) - 1), label="byte")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != lines[i][at]), label="new")
    edited = bytearray(b"".join(lines))
    edited[sum(len(line) for line in lines[:i]) + at] = byte
    pieces = bytes(edited).split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    report = verify(pieces, KEY.public_key, require_closed=True)
    assert not report.ok


def _pristine() -> list[bytes]:
    sink = MemoryAuditSink()
    log = AuditLog(HEARING, sink, KEY, clock=Clock(), checkpoint_every=3)
    fill(log, 7)
    log.close()
    return sink.lines()


_PRISTINE = _pristine()


# --- what may be written ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "token",
        "join_token",
        "tokenid",
        "api_key",
        "key",
        "secret",
        "client_secret",
        "password",
        "name",
        "display_name",
        "username",
        "ip",
        "client_ip",
        "email",
    ],
)
def test_details_keys_that_could_carry_a_secret_or_a_name_are_refused(key: str) -> None:
    log = AuditLog(HEARING, MemoryAuditSink(), KEY, clock=Clock())
    with pytest.raises(AuditEntryRefused) as refused:
        log.record(JUDGE, "admit", details={key: "x"})
    assert refused.value.code == "audit_entry_refused"
    assert refused.value.field == "details"
    assert log.head.seq == 0


@pytest.mark.parametrize(
    "details",
    [
        {"reason": "x" * 201},
        {"reason": "v1.eyJoIjoiaF8xIn0.c2lnbmF0dXJl"},
        {"reason": "-----BEGIN PRIVATE KEY-----"},
        {"reason": "line\nbreak"},
        {"ratio": 0.5},
        {"nested": {"a": 1}},
        {"Reason": "x"},
        {f"k{i}": i for i in range(17)},
        {"count": 2**60},
    ],
)
def test_details_values_must_be_short_plain_and_not_look_like_secrets(
    details: dict[str, object],
) -> None:
    log = AuditLog(HEARING, MemoryAuditSink(), KEY, clock=Clock())
    with pytest.raises(AuditEntryRefused):
        log.record(JUDGE, "admit", details=details)


def test_ordinary_details_are_written() -> None:
    sink = MemoryAuditSink()
    log = AuditLog(HEARING, sink, KEY, clock=Clock())
    details = {"room": "witness_room", "skip_count": 2, "forced": True, "reason": "x" * 200}
    entry = log.record(JUDGE, "move", target=WITNESS, details=details)
    assert dict(entry.details) == details


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("actor", {"actor": "Ana López"}),
        ("actor", {"actor": "judge"}),
        ("target", {"target": "Ana López"}),
        ("action", {"action": "Admit!"}),
        ("result", {"result": "refused: no"}),
    ],
)
def test_actors_and_targets_are_pseudonymous_ids_never_names(
    field: str, kwargs: dict[str, str]
) -> None:
    log = AuditLog(HEARING, MemoryAuditSink(), KEY, clock=Clock())
    arguments = {"actor": JUDGE, "action": "admit", "target": None, "result": "ok", **kwargs}
    with pytest.raises(AuditEntryRefused) as refused:
        log.record(
            str(arguments["actor"]),
            str(arguments["action"]),
            target=arguments["target"],
            result=str(arguments["result"]),
        )
    assert refused.value.field == field


def test_system_and_api_may_act() -> None:
    log = AuditLog(HEARING, MemoryAuditSink(), KEY, clock=Clock())
    assert log.record("system", "recess", result="ok").actor == "system"
    assert log.record("api", "schedule").seq == 2


# --- the log's life ---------------------------------------------------------------------------


def test_a_checkpoint_is_signed_every_n_entries_and_on_demand() -> None:
    sink = MemoryAuditSink()
    log = AuditLog(HEARING, sink, KEY, clock=Clock(), checkpoint_every=2)
    fill(log, 5)
    on_demand = log.checkpoint()
    kinds = [type(r).__name__ for r in sink.records]
    assert kinds == ["AuditEntry", "AuditEntry", "Checkpoint"] * 2 + ["AuditEntry", "Checkpoint"]
    assert (on_demand.seq, on_demand.final) == (5, False)


def test_close_is_final_and_idempotent_and_refuses_later_records() -> None:
    sink = MemoryAuditSink()
    log = AuditLog(HEARING, sink, KEY, clock=Clock())
    log.record(JUDGE, "adjourn")
    final = log.close()
    assert final is not None and final.final and final.seq == 1
    assert log.close() is None
    assert sink.closed
    with pytest.raises(AuditLogClosed) as closed:
        log.record(JUDGE, "admit")
    assert closed.value.code == "audit_log_closed"


def test_the_fake_clock_sets_entry_times_in_milliseconds() -> None:
    log = AuditLog(HEARING, MemoryAuditSink(), KEY, clock=lambda: 1_900_000_000.123)
    assert log.record(JUDGE, "admit").time_ms == 1_900_000_000_123


def test_the_file_sink_syncs_to_disk_on_every_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = FileAuditSink(tmp_path / "audit.jsonl")
    synced: list[int] = []
    monkeypatch.setattr("security.audit.os.fsync", synced.append)
    log = AuditLog(HEARING, sink, KEY, clock=Clock(), checkpoint_every=3)
    fill(log, 5)
    assert len(synced) == 1
    fill(log, 1)
    assert len(synced) == 2
    log.close()
    assert len(synced) == 4  # the final checkpoint, then close


# --- the signing key --------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [False, True])
def test_a_signing_key_saves_with_mode_0600_and_loads_back(tmp_path: Path, raw: bool) -> None:
    key = SigningKey.generate()
    path = tmp_path / "audit.key"
    key.save(path, raw=raw)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == 32 if raw else path.read_bytes().startswith(b"-----BEGIN")
    loaded = SigningKey.load(path)
    assert loaded.public_key == key.public_key
    sink = MemoryAuditSink()
    log = AuditLog(HEARING, sink, loaded, clock=Clock())
    log.record(JUDGE, "admit")
    log.close()
    assert verify(sink.lines(), key.public_key).ok


def test_a_signing_key_never_overwrites_a_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    path.write_bytes(b"keep me")
    with pytest.raises(SigningKeyInvalid):
        SigningKey.generate().save(path)
    assert path.read_bytes() == b"keep me"


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    SigningKey.generate().save(path)
    os.chmod(path, 0o644)
    with pytest.raises(SigningKeyInvalid) as refused:
        SigningKey.load(path)
    assert refused.value.code == "signing_key_invalid"


@pytest.mark.parametrize("content", [b"", b"x" * 31, b"-----BEGIN PRIVATE KEY-----\nxx\n"])
def test_a_key_file_that_is_not_a_key_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "audit.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content)
    os.close(fd)
    with pytest.raises(SigningKeyInvalid):
        SigningKey.load(path)


def test_a_signing_key_never_prints_or_pickles_its_private_half() -> None:
    secret = bytes(range(32))
    key = SigningKey.from_secret(Secret(secret))
    for text in (repr(key), str(key), f"{key}"):
        assert secret.hex() not in text and "********" in text
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_verifying_needs_a_real_public_key(log_lines: list[bytes]) -> None:
    with pytest.raises(SigningKeyInvalid):
        verify(log_lines, b"short")


def test_a_watcher_sees_every_entry_written_and_its_failure_refuses_nothing() -> None:
    sink = MemoryAuditSink()
    log = AuditLog(HEARING, sink, KEY, clock=Clock(), checkpoint_every=2)
    seen: list[int] = []

    def broken(_entry: object) -> None:
        raise RuntimeError("a watcher that fails")

    log.watch(broken)
    log.watch(lambda entry: seen.append(entry.seq))
    fill(log, 3)
    with pytest.raises(AuditEntryRefused):
        log.record(JUDGE, "admit", details={"display_name": "x"})
    assert seen == [1, 2, 3]
    assert log.head.seq == 3
    assert verify(sink.lines(), KEY.public_key).head.seq == 3
