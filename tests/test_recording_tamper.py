"""The tamper suite, as a gate: a recorded hearing (two participants, video and audio) is
altered in every class of `tests/tamper_mutations.py` (bit flips in the manifest, keys.json and
segments; chunks dropped, duplicated, swapped, cut or spliced from another hearing; segments
swapped between participants, copied over one another, duplicated under a new id, taken from
another hearing; the manifest or keys.json rolled back to an earlier signed version; the tail
dropped with the chain recomputed and re-signed with the stolen manifest key; each field of
keys.json edited, with its old signature or re-signed; files removed). For every one, the
strong verifier must say `invalid` with a reason code and the export must refuse, and nothing
may raise anything but a refusal. `make test-tamper` runs 1,000 of them and prints the tally."""

from __future__ import annotations

import asyncio
import io
import random
import shutil
from pathlib import Path

import pytest

from recording.errors import RecordingError
from recording.layout import RecordingPaths
from recording.manifest import read_signed, write_signed
from recording.verify import verify_recording
from security import SigningKey
from tests.tamper_mutations import MAKERS, Maker, Recorded, record_hearing
from tests.tamper_runner import draw, run


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    root = tmp_path_factory.mktemp("tamper")
    return asyncio.run(record_hearing(root, participants=2, seconds=3.0))


def test_a_pristine_recording_verifies_and_exports(recorded: Recorded) -> None:
    report = recorded.bench.verify(recorded.recording_id)
    assert report.status == "valid", report.summary()
    assert report.anchored and report.crashed is False
    exported = recorded.bench.export(recorded.recording_id, io.BytesIO())
    assert exported.status == "valid" and len(exported.tracks) == 4


@pytest.mark.parametrize("maker", MAKERS, ids=lambda m: m.__name__)
def test_every_class_of_mutation_is_invalid_to_verify_and_refused_by_export(
    recorded: Recorded, maker: Maker
) -> None:
    rng = random.Random(f"20261207-{maker.__name__}")
    tally = run(recorded, [maker(recorded, rng) for _ in range(12)])
    assert tally.crashes == [], tally.summary()
    assert tally.escaped == [], tally.summary()
    assert tally.runs >= 6, tally.summary()
    assert recorded.bench.verify(recorded.recording_id).status == "valid"


def test_three_hundred_random_mutations_are_all_refused_with_no_exception(
    recorded: Recorded,
) -> None:
    tally = run(recorded, draw(recorded, 300, seed=20261129))
    assert tally.runs >= 280, tally.summary()
    assert tally.crashes == [] and tally.escaped == [], tally.summary()


def test_a_rollback_to_an_earlier_signed_manifest_says_which_seq_the_log_holds(
    recorded: Recorded, tmp_path: Path
) -> None:
    copy = tmp_path / recorded.recording_id
    shutil.copytree(recorded.paths.root, copy)
    final = read_signed(RecordingPaths(copy).manifest).manifest
    RecordingPaths(copy).manifest.write_bytes(recorded.old_manifests[2])
    old = read_signed(RecordingPaths(copy).manifest).manifest
    trust = recorded.bench.trust()
    report = verify_recording(
        copy,
        keyring=recorded.bench.keyring,
        trusted_keys=trust.manifest_keys,
        audit_log=trust.audit_log,
        audit_key=trust.audit_key,
        custody_log=trust.custody_log,
    )
    assert report.status == "invalid"
    assert f"rolled back to seq {old.seq}; the log says {final.seq}" in report.summary()
    assert "manifest_rolled_back" in {p.code for p in report.problems}


def test_a_tail_dropped_and_re_signed_with_the_stolen_key_is_invalid_not_incomplete(
    recorded: Recorded,
) -> None:
    from tests.tamper_mutations import rechained

    paths = recorded.paths
    before = paths.manifest.read_bytes()
    manifest = read_signed(paths.manifest).manifest
    try:
        forged = rechained(manifest, list(manifest.segments[:-3]))
        write_signed(paths.manifest, forged, recorded.bench.signing_key)
        report = recorded.bench.verify(recorded.recording_id)
        assert report.status == "invalid", report.summary()
        assert "manifest_diverged" in {p.code for p in report.problems}
        with pytest.raises(RecordingError) as refused:
            recorded.bench.export(recorded.recording_id, io.BytesIO(), allow_incomplete=True)
        assert refused.value.code == "recording_invalid"
    finally:
        paths.manifest.write_bytes(before)


def test_the_manifest_signed_by_another_key_is_not_trusted(
    recorded: Recorded, tmp_path: Path
) -> None:
    copy = tmp_path / recorded.recording_id
    shutil.copytree(recorded.paths.root, copy)
    manifest = read_signed(RecordingPaths(copy).manifest).manifest
    write_signed(RecordingPaths(copy).manifest, manifest, SigningKey.generate())
    report = verify_recording(copy, trusted_keys=recorded.bench.trust().manifest_keys)
    assert "manifest_untrusted" in {p.code for p in report.problems}
