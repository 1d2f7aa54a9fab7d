"""Nonce safety across crash and resume: whatever the sequence of recording, pausing, crashing
and resuming, no (data key, nonce) pair is ever used twice."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hearing.phases import Phase
from recording.keys import RecordingKeys
from recording.layout import RecordingPaths
from recording.recorder import HearingRecorder
from security.sealing import SealHeader, open_sealed
from tests.recording_support import Bench, participant_tracks

Step = tuple[str, float]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.sampled_from([0.2, 0.7, 1.5])),
        st.tuples(st.just("crash"), st.just(0.0)),
        st.tuples(st.just("recess"), st.just(0.0)),
        st.tuples(st.just("resume"), st.just(0.0)),
    ),
    min_size=1,
    max_size=10,
)


async def _scenario(bench: Bench, plan: list[Step]) -> bool:
    """Play the plan; True if media was sent while the recorder was recording."""
    recorder: HearingRecorder | None = None
    recorded = False
    tracks = participant_tracks(1)
    for action, seconds in plan:
        if recorder is None:
            recorder = bench.recorder(segment_seconds=0.5, chunk_bytes=2048)
            recorder.start("p-judge", Phase.IN_SESSION)
            tracks = participant_tracks(1)  # after a crash, the publishers reconnect
            recorder.sync([c for c, _ in tracks], Phase.IN_SESSION)
        if action == "record":
            recorded = recorded or recorder.state == "recording"
            for _c, publisher in tracks:
                publisher.send_seconds(seconds)
        elif action == "crash":
            if recorder._ticker is not None:
                recorder._ticker.cancel()
            recorder = None
        elif action == "recess":
            recorder.note_phase("p-judge", Phase.RECESS)
        else:
            recorder.note_phase("p-judge", Phase.IN_SESSION)
            recorder.sync([c for c, _ in tracks], Phase.IN_SESSION)
    if recorder is not None:
        await recorder.close()
    return recorded


def key_nonce_pairs(bench: Bench) -> list[tuple[bytes, bytes]]:
    pairs = []
    for root in bench.recordings.iterdir():
        paths = RecordingPaths(root)
        keys = RecordingKeys(paths, bench.keyring)
        for segment_id in paths.segment_ids_on_disk():
            data = paths.segment(segment_id).read_bytes()
            header, _ = SealHeader.decode(data)
            opened = open_sealed(data, keys.key_for, allow_incomplete=True)  # every tag checks
            key = keys.key_for(header.key_id).secret.value
            count = len(opened.chunks)
            for index in range(count):
                last = opened.complete and index == count - 1
                nonce = header.nonce_prefix + index.to_bytes(4, "big") + bytes([last])
                pairs.append((key, nonce))
    return pairs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=steps)
def test_no_key_and_nonce_pair_repeats_across_crashes_and_resumes(plan: list[Step]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        bench = Bench(Path(directory))
        recorded = asyncio.run(_scenario(bench, plan))
        pairs = key_nonce_pairs(bench)
        assert len(pairs) == len(set(pairs))
        assert recorded or not pairs  # nothing is sealed unless the court was recorded
