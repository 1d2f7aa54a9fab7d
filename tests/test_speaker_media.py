"""The active speaker on real media: the participant who talks (a tone) is named to those who
hear them, from the audio levels in the RTP; the silent one is not."""

from __future__ import annotations

import math

import pytest
from aiortc.mediastreams import AudioStreamTrack
from av import AudioFrame

from signaling.client import HearingClient
from tests.conftest import RunningServer
from tests.test_court_rules_media import sitting_court

pytestmark = pytest.mark.media


class Tone(AudioStreamTrack):
    """A loud 440 Hz tone (aiortc's test track is silence)."""

    async def recv(self) -> AudioFrame:
        frame = await super().recv()
        assert isinstance(frame, AudioFrame)
        samples = frame.samples
        start = int(frame.pts or 0)
        pcm = b"".join(
            int(12000 * math.sin(2 * math.pi * 440 * (start + i) / 48000)).to_bytes(
                2, "little", signed=True
            )
            for i in range(samples)
        )
        frame.planes[0].update(pcm)
        return frame


async def test_the_participant_who_speaks_is_named_and_the_silent_one_is_not(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    _hid, judge, [plaintiff, respondent] = await sitting_court(
        server, clients, ("plaintiff", "Ms Nguyen"), ("respondent", "Mr Tran")
    )
    await plaintiff.publish(Tone())
    await respondent.publish(AudioStreamTrack())
    speaker = plaintiff.participant["id"]
    await judge.wait_until(lambda: judge.active_speaker == speaker, 15, "the plaintiff speaking")
    await respondent.wait_until(lambda: respondent.active_speaker == speaker, 15, "told too")
    assert plaintiff.active_speaker is None  # nobody else speaks, and nobody hears themself
