"""`ecourt recording verify|export|shred|hold` and `ecourt keys rotate` on a node's recordings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hearing.phases import Phase
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
    from recording.manifest import read_signed, write_signed
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
