"""`ecourt recording verify|export|shred|hold` and `ecourt keys rotate` on a node's recordings."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from hearing.phases import Phase
from recording.manifest import SignedManifest, read_signed
from tests.recording_support import Bench, participant_tracks, probe
from web.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
async def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Bench, Path]:
    bench = Bench(tmp_path)
    recorder = bench.recorder(segment_seconds=2)
    recording_id = recorder.start("p-judge", Phase.IN_SESSION)
    tracks = participant_tracks(1)
    recorder.sync([c for c, _ in tracks], Phase.IN_SESSION)
    for _ in range(6):
        for _c, publisher in tracks:
            publisher.send_seconds(0.5)
    await recorder.close()
    monkeypatch.setenv("ECOURT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ECOURT_KEYRING", str(bench.keyring_path))
    return bench, bench.recordings / recording_id


def verify_args(bench: Bench, directory: Path) -> list[str]:
    return [
        "recording", "verify", str(directory),
        "--keyring", str(bench.keyring_path),
        "--trust", bench.signing_key.public_key.hex(),
        "--audit", str(bench.audit_path),
        "--audit-key", bench.audit_key.public_key.hex(),
    ]  # fmt: skip


def audit_actions(bench: Bench) -> list[tuple[str, str]]:
    """What the chain-of-custody log of the recordings says happened to them."""
    lines = bench.audit_path.with_suffix(".custody.jsonl").read_text().splitlines()
    entries = [e for e in map(json.loads, lines) if "actor" in e]  # not the checkpoints
    return [(e["actor"], e["action"]) for e in entries]


def test_verify_passes_an_intact_recording_and_fails_an_altered_one(
    node: tuple[Bench, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    bench, directory = node
    code, out, _ = run_cli(capsys, *verify_args(bench, directory))
    assert code == 0 and "valid" in out and "chunks authenticated" in out, out
    segment = next((directory / "segments").iterdir())
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0x01
    segment.write_bytes(bytes(data))
    code, out, _ = run_cli(capsys, *verify_args(bench, directory))
    assert code == 1 and "segment_altered" in out and "seal_chunk_invalid" in out, out


def test_the_bare_verifier_says_unverified_and_names_the_unknown_key(
    node: tuple[Bench, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    bench, directory = node
    code, out, _ = run_cli(capsys, "recording", "verify", str(directory))
    signer = bench.signing_key.key_id
    assert code == 4, out
    assert f"unverified: signature by an unknown key ({signer})" in out
    assert "valid" not in out.replace("unverified", "")
    assert "chunk tags not checked" in out


def test_the_bare_verifier_says_unverified_for_a_manifest_re_signed_with_any_key(
    node: tuple[Bench, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from recording.keys import read_keys
    from recording.layout import RecordingPaths
    from recording.manifest import write_signed
    from security import SigningKey

    bench, directory = node
    paths = RecordingPaths(directory)
    forger = SigningKey.generate()
    write_signed(paths.manifest, read_signed(paths.manifest).manifest, forger)
    paths.keys.write_bytes(read_keys(paths).keys.signed_bytes(forger))
    code, out, _ = run_cli(capsys, "recording", "verify", str(directory))
    assert code == 4 and f"unverified: signature by an unknown key ({forger.key_id})" in out
    code, out, _ = run_cli(capsys, *verify_args(bench, directory))
    assert code == 1 and "manifest_untrusted" in out, out


def test_export_writes_a_playable_file_and_is_audited(
    node: tuple[Bench, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bench, directory = node
    out_file = tmp_path / "all.mkv"
    code, out, err = run_cli(capsys, "recording", "export", str(directory), "--out", str(out_file))
    assert code == 0, err
    assert "vp8" in out and "opus" in out
    codec, span, decoded = probe(out_file.read_bytes())
    assert codec in ("vp8", "opus") and span > 2.5 and decoded > 0
    assert ("cli", "recording_exported") in audit_actions(bench)
    code, _, _ = run_cli(capsys, *verify_args(bench, directory))
    assert code == 0  # the audit log's chain still holds after the CLI wrote to it


def test_a_legal_hold_stops_shredding_and_shredding_makes_the_media_unreadable(
    node: tuple[Bench, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bench, directory = node
    assert run_cli(capsys, "recording", "hold", str(directory))[0] == 0
    code, _, err = run_cli(capsys, "recording", "shred", str(directory), "--yes")
    assert code == 2 and "legal hold" in err
    assert run_cli(capsys, "recording", "hold", str(directory), "--lift")[0] == 0
    code, out, _ = run_cli(capsys, "recording", "shred", str(directory), "--yes")
    assert code == 0 and "destroyed 1 data keys" in out
    code, out, _ = run_cli(capsys, *verify_args(bench, directory))
    assert code == 3 and "shredded" in out, out
    code, out, _ = run_cli(
        capsys, "recording", "export", str(directory), "--out", str(tmp_path / "x")
    )
    assert code == 3 and "export refused: recording_shredded" in out, out
    assert not (tmp_path / "x").exists()
    actions = [a for _, a in audit_actions(bench)]
    assert actions.count("legal_hold") == 2 and "recording_shredded" in actions


def test_key_rotation_rewraps_every_data_key_and_the_media_still_verify(
    node: tuple[Bench, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    bench, directory = node
    media_before = {p.name: p.read_bytes() for p in (directory / "segments").iterdir()}
    code, out, _ = run_cli(capsys, "keys", "rotate")
    assert code == 0 and "version 2" in out and "1 data keys re-wrapped" in out
    keys = json.loads((directory / "keys.json").read_text())
    assert [k["kek_version"] for k in keys["keys_file"]["keys"]] == [2]
    assert {p.name: p.read_bytes() for p in (directory / "segments").iterdir()} == media_before
    assert run_cli(capsys, *verify_args(bench, directory))[0] == 0


def test_commands_refuse_a_directory_that_is_not_one_of_this_nodes_recordings(
    node: tuple[Bench, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_cli(capsys, "recording", "shred", str(tmp_path), "--yes")
    assert code == 2 and "is not under" in err


def test_a_shredded_recording_stays_unreadable_after_the_data_dir_is_restored_from_backup(
    node: tuple[Bench, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Shred, then restore keys.json and the whole data dir from a backup taken before: the
    recording's own key was destroyed in the key ring (outside the data dir), so it stays
    shredded; verify says so and export refuses."""
    bench, directory = node
    data_dir = tmp_path / "data"
    backup = tmp_path / "backup"
    shutil.copytree(data_dir, backup)
    keys_before = (directory / "keys.json").read_bytes()
    assert run_cli(capsys, "recording", "shred", str(directory), "--yes")[0] == 0
    shutil.rmtree(data_dir)
    shutil.copytree(backup, data_dir)
    (directory / "keys.json").write_bytes(keys_before)
    assert '"shredded_at_ms": null' in (directory / "keys.json").read_text()
    code, out, _ = run_cli(capsys, *verify_args(bench, directory))
    assert code == 3 and "shredded: the data keys were destroyed" in out, out
    out_file = tmp_path / "restored.mkv"
    code, out, _ = run_cli(capsys, "recording", "export", str(directory), "--out", str(out_file))
    assert code == 3 and "export refused: recording_shredded" in out, out
    assert not out_file.exists()
    code, out, _ = run_cli(
        capsys, "recording", "export", str(directory), "--out", str(out_file), "--allow-incomplete"
    )
    assert code == 3 and not out_file.exists()


def test_a_hold_lifted_by_editing_keys_json_does_not_let_shredding_through(
    node: tuple[Bench, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    bench, directory = node
    assert run_cli(capsys, "recording", "hold", str(directory))[0] == 0
    keys_file = directory / "keys.json"
    held = keys_file.read_bytes()
    keys_file.write_bytes(held.replace(b'"legal_hold": true', b'"legal_hold": false'))
    assert keys_file.read_bytes() != held
    code, _, err = run_cli(capsys, "recording", "shred", str(directory), "--yes")
    assert code == 2 and "recording_invalid" in err and "edited" in err, err
    code, out, _ = run_cli(capsys, *verify_args(bench, directory))
    assert code == 1 and "keys_altered" in out, out
    # the forger also holds the manifest key from the data dir, and re-signs the edit
    from recording.keys import read_keys
    from recording.layout import RecordingPaths

    keys_file.write_bytes(held)
    paths = RecordingPaths(directory)
    lifted = dataclasses.replace(read_keys(paths).keys, legal_hold=False)
    keys_file.write_bytes(lifted.signed_bytes(bench.signing_key))
    code, _, err = run_cli(capsys, "recording", "shred", str(directory), "--yes")
    assert code == 2 and "keys_diverged" in err, err
    code, out, _ = run_cli(capsys, *verify_args(bench, directory))
    assert code == 1 and "keys_diverged" in out, out
    keys_file.write_bytes(held)
    assert run_cli(capsys, *verify_args(bench, directory))[0] == 0
    code, _, err = run_cli(capsys, "recording", "shred", str(directory), "--yes")
    assert code == 2 and "legal hold" in err


def test_key_rotation_is_all_or_nothing_and_names_the_recording_it_cannot_unwrap(
    node: tuple[Bench, Path], capsys: pytest.CaptureFixture[str]
) -> None:

    from recording.keys import read_keys
    from recording.layout import RecordingPaths

    bench, first = node

    async def another() -> str:
        recorder = bench.recorder(segment_seconds=2)
        recording_id = recorder.start("p-judge", Phase.IN_SESSION)
        await recorder.close()
        return recording_id

    second_id = asyncio.run(another())
    second = bench.recordings / second_id
    paths = RecordingPaths(second)
    damaged = read_keys(paths).keys
    wrapped = damaged.keys[0]
    broken = dataclasses.replace(wrapped, blob=bytes(60))
    damaged = dataclasses.replace(damaged, keys=(broken,))
    (second / "keys.json").write_bytes(damaged.signed_bytes(bench.signing_key))
    before = {p: (p / "keys.json").read_bytes() for p in (first, second)}
    ring_before = bench.keyring_path.read_bytes()
    code, _, err = run_cli(capsys, "keys", "rotate")
    assert code == 2 and "keys_rotation_refused" in err and second_id in err, err
    assert first.name not in err
    assert {p: (p / "keys.json").read_bytes() for p in (first, second)} == before
    assert bench.keyring_path.read_bytes() == ring_before
    (second / "keys.json").write_bytes(
        dataclasses.replace(damaged, keys=(wrapped,)).signed_bytes(bench.signing_key)
    )
    code, out, _ = run_cli(capsys, "keys", "rotate")
    assert code == 0 and "version 2" in out, out
    for directory in (first, second):
        kek = [k.kek_version for k in read_keys(RecordingPaths(directory)).keys.keys]
        assert kek == [2]


def test_a_crash_prefix_exports_only_when_asked_and_is_marked_incomplete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:

    import av

    bench = Bench(tmp_path)

    async def crashed() -> str:
        recorder = bench.recorder(segment_seconds=1)
        recording_id = recorder.start("p-judge", Phase.IN_SESSION)
        tracks = participant_tracks(1)
        recorder.sync([c for c, _ in tracks], Phase.IN_SESSION)
        for _ in range(5):
            for _c, publisher in tracks:
                publisher.send_seconds(0.5)
        return recording_id  # the process dies here: nothing is closed, nothing stopped

    directory = bench.recordings / asyncio.run(crashed())
    monkeypatch.setenv("ECOURT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ECOURT_KEYRING", str(bench.keyring_path))
    code, out, _ = run_cli(capsys, *verify_args(bench, directory))
    assert code == 3 and "incomplete" in out and "the audit log shows a crash" in out, out
    out_file = tmp_path / "prefix.mkv"
    code, out, _ = run_cli(capsys, "recording", "export", str(directory), "--out", str(out_file))
    assert code == 3 and "export refused: recording_incomplete" in out and not out_file.exists()
    code, out, err = run_cli(
        capsys, "recording", "export", str(directory), "--out", str(out_file), "--allow-incomplete"
    )
    assert code == 0, err
    assert "incomplete" in out
    with av.open(str(out_file)) as container:
        assert container.metadata["ECOURT_STATUS"] == "incomplete"
    sidecar = json.loads((tmp_path / "prefix.mkv.verification.json").read_text())
    assert sidecar["status"] == "incomplete" and sidecar["crash_in_audit_log"] is True
    assert sidecar["incomplete"]


def test_keys_public_prints_the_keys_the_strong_verify_trusts(
    node: tuple[Bench, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    bench, _directory = node
    code, out, _ = run_cli(capsys, "keys", "public")
    assert code == 0
    keys = json.loads(out)
    assert keys["recording"]["public_key"] == bench.signing_key.public_key.hex()
    assert keys["audit"]["public_key"] == bench.audit_key.public_key.hex()
    code, out, _ = run_cli(capsys, "keys", "public", "--recording")
    assert (code, out.strip()) == (0, bench.signing_key.public_key.hex())


async def test_verify_against_the_store_finds_the_log_cut_back_with_the_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forger rolls the manifest back *and* cuts the hearing's audit log back to the checkpoint
    that signed that version: together they pass for a crash the log shows, and only the
    checkpoint kept in Redis (the real one on 127.0.0.1:6379) shows the cut."""
    import secrets

    from redis.asyncio import Redis

    from security import checkpoint_from_line
    from signaling.redis_store import RedisAuditCheckpoints
    from tests.tamper_mutations import record_hearing

    recorded = await record_hearing(tmp_path, participants=1, seconds=2.0)
    bench, paths = recorded.bench, recorded.paths
    lines = bench.audit_path.read_bytes().splitlines(keepends=True)
    prefix = f"ecourt-test-{secrets.token_hex(6)}:"
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        last = next(x for x in reversed(lines) if b'"type":"checkpoint"' in x)
        await RedisAuditCheckpoints(redis, prefix).put(checkpoint_from_line(last))
        for name, value in (
            ("ECOURT_DATA_DIR", str(bench.root / "data")),
            ("ECOURT_KEYRING", str(bench.keyring_path)),
            ("ECOURT_REDIS_URL", "redis://127.0.0.1:6379/0"),
            ("ECOURT_REDIS_PREFIX", prefix),
        ):
            monkeypatch.setenv(name, value)
        old = next(m for m in recorded.old_manifests if read_signed_bytes(m).manifest.segments)
        old_seq = read_signed_bytes(old).manifest.seq
        assert old_seq < read_signed(paths.manifest).manifest.seq
        records = [json.loads(x) for x in lines]
        entry = next(
            i
            for i, r in enumerate(records)
            if r.get("action") == "recording_manifest" and r["details"]["seq"] == old_seq
        )
        signed = next(i for i in range(entry, len(records)) if records[i]["type"] == "checkpoint")
        paths.manifest.write_bytes(old)
        bench.audit_path.write_bytes(b"".join(lines[: signed + 1]))
        args = verify_args(bench, paths.root)
        code, out, _ = await asyncio.to_thread(run_cli, capsys, *args)
        assert code == 3 and "the audit log shows a crash" in out, out  # the limit, alone
        code, out, _ = await asyncio.to_thread(run_cli, capsys, *args, "--against-store")
        assert code == 1 and "audit_rolled_back" in out, out
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def read_signed_bytes(data: bytes) -> SignedManifest:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".json") as handle:
        handle.write(data)
        handle.flush()
        return read_signed(Path(handle.name))
