"""The recorder: every permitted track sealed in segments, verified and exported offline,
with nothing decoded or encoded on the server's side."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearing.model import HearingType
from hearing.phases import Phase
from hearing.rooms import Room, RoomKind
from recording.errors import RecordingForbidden
from recording.layout import RecordingPaths
from recording.recorder import HearingRecorder
from tests.recording_support import Bench, participant_tracks, probe, recording_court

SECONDS = 20


def record(recorder: HearingRecorder, seconds: float, publishers: list) -> None:  # type: ignore[type-arg]
    step = 0.5
    for _ in range(int(seconds / step)):
        for _candidate, publisher in publishers:
            publisher.send_seconds(step)


async def test_a_recorded_hearing_verifies_and_every_track_exports_as_it_was_sent(
    tmp_path: Path,
) -> None:
    bench = Bench(tmp_path)
    recorder = bench.recorder()
    recording_id = recorder.start("p-judge", Phase.IN_SESSION)
    tracks = participant_tracks(3)
    recorder.sync([c for c, _ in tracks], Phase.IN_SESSION)
    record(recorder, SECONDS, tracks)
    await recorder.close()

    report = bench.verify(recording_id)
    assert report.status == "valid", report.summary()
    assert report.tags_checked and report.chunks_authenticated > 0
    assert report.crashed is False
    manifest = recorder.manifest
    assert manifest is not None and len(manifest.tracks) == 6
    for entry in manifest.tracks:
        out = tmp_path / f"{entry.id}.webm"
        [summary] = bench.export(recording_id, out, entry.id).tracks
        codec, span, decoded = probe(out.read_bytes())
        assert codec == entry.codec
        assert abs(span - SECONDS) <= 0.5, (entry.kind, span)
        assert decoded >= summary.frames * 0.95 > 0


async def test_every_track_exports_together_as_one_matroska_file(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    recorder, recording_id, tracks = recording_court(bench)
    record(recorder, 3, tracks)
    await recorder.close()
    out = tmp_path / "all.mkv"
    summaries = bench.export(recording_id, out).tracks
    assert sorted(s.codec for s in summaries) == ["opus", "vp8"]
    import av

    with av.open(str(out), "r") as container:
        assert sorted(s.codec_context.name for s in container.streams) == ["opus", "vp8"]


async def test_segments_are_cut_on_keyframes_and_chained_in_the_manifest(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    recorder, recording_id, tracks = recording_court(bench, segment_seconds=2)
    record(recorder, 7, tracks)
    await recorder.close()
    manifest = recorder.manifest
    assert manifest is not None
    video = [s for s in manifest.segments if s.track == manifest.tracks[0].id]
    assert len(video) >= 3
    assert all(s.complete and s.cause == "closed" for s in manifest.segments)
    assert bench.verify(recording_id).status == "valid"


async def test_no_plaintext_media_reaches_the_disk(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    recorder, recording_id, tracks = recording_court(bench)
    record(recorder, 2, tracks)
    await recorder.close()
    from tests.media_samples import vp8_frames

    sample = vp8_frames()[0][0][100:132]
    for path in (bench.recordings / recording_id).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert sample not in data and b"webm" not in data and b"OpusHead" not in data


async def test_the_recorder_never_opens_a_codec(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    recorder, _, tracks = recording_court(bench)
    record(recorder, 1, tracks)
    writers = [r._segment for r in recorder._tracks.values()]
    assert writers and all(w is not None and w._stream.codec_context is None for w in writers)
    await recorder.close()


@pytest.mark.parametrize("kind", [HearingType.CONCILIATION])
async def test_a_conciliation_is_never_recorded_whoever_asks(
    tmp_path: Path, kind: HearingType
) -> None:
    bench = Bench(tmp_path)
    recorder = bench.recorder(kind)
    with pytest.raises(RecordingForbidden):
        recorder.start("p-judge", Phase.IN_SESSION)
    recorder.note_phase("p-judge", Phase.IN_SESSION)
    assert recorder.state == "idle"
    assert not bench.recordings.exists() or not any(bench.recordings.iterdir())


@pytest.mark.parametrize(
    "room",
    [Room(RoomKind.CONSULTATION, "consult-1"), Room(RoomKind.CAUCUS, "caucus-plaintiff")],
)
async def test_a_consultation_or_a_caucus_is_refused_and_never_recorded(
    tmp_path: Path, room: Room
) -> None:
    bench = Bench(tmp_path)
    recorder = bench.recorder()
    recorder.start("p-judge", Phase.IN_SESSION)
    private = participant_tracks(1, room=room, role="defence_counsel")
    with pytest.raises(RecordingForbidden):
        recorder.record_track(private[0][0], Phase.IN_SESSION)
    recorder.sync([c for c, _ in private], Phase.IN_SESSION)
    record(recorder, 2, private)
    await recorder.close()
    manifest = recorder.manifest
    assert manifest is not None and manifest.tracks == () and manifest.segments == ()


async def test_the_deliberation_is_not_recorded(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    recorder, _, tracks = recording_court(bench)
    record(recorder, 1, tracks)
    recorder.note_phase("p-judge", Phase.DELIBERATION)
    recorder.sync([c for c, _ in tracks], Phase.DELIBERATION)
    manifest = recorder.manifest
    assert manifest is not None
    sealed = len(manifest.segments)
    record(recorder, 2, tracks)
    await recorder.close()
    assert recorder.manifest is not None and len(recorder.manifest.segments) == sealed


async def test_a_recess_pauses_and_the_session_resumes_in_new_segments(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    recorder, recording_id, tracks = recording_court(bench)
    record(recorder, 2, tracks)
    recorder.note_phase("p-judge", Phase.RECESS)
    assert recorder.state == "paused"
    manifest = recorder.manifest
    assert manifest is not None and len(manifest.segments) == 2
    record(recorder, 2, tracks)  # nothing is written in recess
    recorder.note_phase("p-judge", Phase.IN_SESSION)
    assert recorder.state == "recording"
    record(recorder, 2, tracks)
    recorder.note_phase("p-judge", Phase.ADJOURNED)
    assert recorder.state == "stopped"
    manifest = recorder.manifest
    assert manifest is not None and len(manifest.segments) == 4
    events = [event for _, event in manifest.events]
    assert events == ["started", "paused_by_phase", "resumed", "stopped"]
    assert bench.verify(recording_id).status == "valid"
    await recorder.close()


async def test_the_judges_pause_outlasts_a_recess(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    recorder = bench.recorder()
    recorder.start("p-judge", Phase.IN_SESSION)
    recorder.pause("p-judge")
    recorder.note_phase("p-judge", Phase.RECESS)
    recorder.note_phase("p-judge", Phase.IN_SESSION)
    assert recorder.state == "paused"
    recorder.start("p-judge", Phase.IN_SESSION)
    assert recorder.state == "recording"
    await recorder.close()


async def test_going_into_session_starts_the_recording(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    recorder = bench.recorder()
    recorder.note_phase("p-judge", Phase.IN_SESSION)
    assert recorder.state == "recording" and recorder.recording_id is not None
    assert RecordingPaths(bench.recordings / recorder.recording_id).manifest.exists()
    await recorder.close()


async def test_a_recording_cut_by_a_crash_resumes_with_a_new_data_key(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    crashed, recording_id, tracks = recording_court(bench)
    record(crashed, 2, tracks)
    ticker = crashed._ticker
    assert ticker is not None
    ticker.cancel()  # the process died: nothing is closed
    assert bench.verify(recording_id).status == "incomplete"

    resumed = bench.recorder()
    assert resumed.start("p-judge", Phase.IN_SESSION) == recording_id
    fresh = participant_tracks(1)
    resumed.sync([c for c, _ in fresh], Phase.IN_SESSION)
    record(resumed, 2, fresh)
    await resumed.close()
    manifest = resumed.manifest
    assert manifest is not None
    assert {s.key_id for s in manifest.segments} == {"k1", "k2"}
    assert [s.cause for s in manifest.segments if s.key_id == "k1"] == ["crash", "crash"]
    assert "resumed_after_crash" in [e for _, e in manifest.events]
    report = bench.verify(recording_id)
    assert report.status == "incomplete" and not report.problems, report.summary()
    assert any("crash" in why for why in report.incomplete)
    assert report.crashed is True


async def test_a_segment_whose_file_fails_is_given_up_and_the_track_goes_on_in_a_new_one(
    tmp_path: Path,
) -> None:
    bench = Bench(tmp_path)
    recorder, recording_id, tracks = recording_court(bench, segment_seconds=60)
    record(recorder, 2, tracks)
    video = next(r for r in recorder._tracks.values() if r.entry.kind == "video")
    segment = video._segment
    assert segment is not None
    segment._file.close()
    record(recorder, 3, tracks)
    assert video.failures >= 1
    assert video._segment is not None and video._segment is not segment
    await recorder.close()
    manifest = recorder.manifest
    assert manifest is not None
    kinds = {t.id: t.kind for t in manifest.tracks}
    assert sum(1 for s in manifest.segments if kinds[s.track] == "video") >= 1
    report = bench.verify(recording_id)
    print(report.summary())
    assert not report.problems, report.summary()
