"""One node writes a recording at a time (issue 16, `docs/cluster.md#leases`): a recorder whose
node no longer holds the hearing writes nothing more, a manifest of a newer epoch is never
written over, and a manifest a stale node signed after the new host anchored the recording is
reported as such by the verifier."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hearing.phases import Phase
from recording.layout import RecordingPaths
from recording.manifest import read_signed, write_signed
from recording.recorder import HearingRecorder
from security import AuditLog
from tests.recording_support import Bench, participant_tracks
from tests.test_recording import record


class Lease:
    """The part of a lease the recorder sees: whether this node still serves the hearing."""

    def __init__(self) -> None:
        self.held = True

    def serving(self) -> bool:
        return self.held


def held_audit(bench: Bench, epoch: int, lease: Lease) -> AuditLog:
    audit = bench.audit()
    audit.hold(epoch, lease.serving)
    return audit


def on_disk(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


async def test_a_recorder_whose_node_lost_the_hearing_writes_nothing_more(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    lease_a = Lease()
    audit_a = held_audit(bench, 1, lease_a)
    recorder_a = bench.recorder(audit=audit_a)
    recording_id = recorder_a.start("p-judge", Phase.IN_SESSION)
    tracks = participant_tracks(1)
    recorder_a.sync([c for c, _ in tracks], Phase.IN_SESSION)
    record(recorder_a, 3, tracks)
    root = bench.recordings / recording_id

    lease_a.held = False  # node A's local deadline passed: it is stalled, or cut off
    before = on_disk(root)
    record(recorder_a, 2, tracks)  # packets still arrive on A's sockets
    recorder_a.pause("p-judge")
    recorder_a.hand_over()
    await recorder_a.close()
    assert recorder_a.state == "fenced"
    assert on_disk(root) == before  # not one byte: no chunk, no manifest, no "handed_over"
    audit_a.abandon()

    # node B takes the hearing over with a newer epoch and resumes the recording
    audit_b = held_audit(bench, 2, Lease())
    recorder_b = bench.recorder(audit=audit_b)
    assert recorder_b.start("p-judge", Phase.IN_SESSION) == recording_id
    recorder_b.sync([c for c, _ in tracks], Phase.IN_SESSION)
    record(recorder_b, 2, tracks)
    await recorder_b.close()
    audit_b.close()

    manifest = read_signed(RecordingPaths(root).manifest).manifest
    assert manifest.epoch == 2 and manifest.state == "stopped"
    assert "resumed_after_crash" in [event for _at, event in manifest.events]
    report = bench.verify(recording_id)  # A's open segments end where A stopped writing:
    assert report.status == "incomplete" and not report.problems, report.summary()
    assert report.incomplete and all("cut short" in why for why in report.incomplete)
    assert report.crashed is True


async def test_a_manifest_of_a_newer_epoch_is_never_written_over(tmp_path: Path) -> None:
    """Node A still believes it serves (inside the window a pause can open) while node B has
    taken the hearing and written the manifest under epoch 2: A's next manifest is refused."""
    bench = Bench(tmp_path)
    recorder_a: HearingRecorder = bench.recorder(audit=held_audit(bench, 1, Lease()))
    recording_id = recorder_a.start("p-judge", Phase.IN_SESSION)
    tracks = participant_tracks(1)
    recorder_a.sync([c for c, _ in tracks], Phase.IN_SESSION)
    record(recorder_a, 2, tracks)

    recorder_b = bench.recorder(audit=held_audit(bench, 2, Lease()))
    assert recorder_b.start("p-judge", Phase.IN_SESSION) == recording_id
    path = RecordingPaths(bench.recordings / recording_id).manifest
    written_by_b = path.read_bytes()
    assert read_signed(path).manifest.epoch == 2

    recorder_a.pause("p-judge")  # A signs a new version: refused, and A stops recording
    assert recorder_a.state == "fenced"
    assert path.read_bytes() == written_by_b
    await recorder_b.close()
    assert read_signed(path).manifest.epoch == 2


async def test_a_manifest_signed_by_a_stale_node_after_the_takeover_is_invalid(
    tmp_path: Path,
) -> None:
    """What an unfenced node used to leave: one more version, signed with the shared manifest
    key under the old epoch after the new host anchored the recording. Without epochs it
    passed as the one version past the log that a crash explains (`incomplete`)."""
    bench = Bench(tmp_path)
    recorder_a = bench.recorder(audit=held_audit(bench, 1, Lease()))
    recording_id = recorder_a.start("p-judge", Phase.IN_SESSION)
    tracks = participant_tracks(1)
    recorder_a.sync([c for c, _ in tracks], Phase.IN_SESSION)
    record(recorder_a, 2, tracks)
    recorder_a.hand_over()

    audit_b = held_audit(bench, 2, Lease())
    recorder_b = bench.recorder(audit=audit_b)
    recorder_b.start("p-judge", Phase.IN_SESSION)
    recorder_b.sync([c for c, _ in tracks], Phase.IN_SESSION)
    record(recorder_b, 2, tracks)
    recorder_b.pause("p-judge")  # B's last anchored version; B then dies (no stop)
    audit_b.abandon()

    path = RecordingPaths(bench.recordings / recording_id).manifest
    anchored = read_signed(path).manifest
    assert anchored.epoch == 2
    stale = replace(anchored, seq=anchored.seq + 1, epoch=1, state="stopped")
    write_signed(path, stale, bench.signing_key)

    report = bench.verify(recording_id)
    assert report.status == "invalid", report.summary()
    assert "manifest_stale_epoch" in {p.code for p in report.problems}
