"""The composite and its encode, driven frame by frame on the stream's own clock (no thread,
no network): tiles with plates, the active speaker larger, the voices mixed, and 2 s HLS
segments that decode on their own to pictures and sound of the right length."""

from __future__ import annotations

import numpy as np
import pytest

from media.composite import CompositeCore, CompositeSettings, Tile
from media.layout import Rect, fit, tile_rects
from media.speaker import ActiveSpeaker, dbov_of_extension, dbov_of_samples
from recording.livestream.encoder import EncodedSegment, EncoderSettings, HlsEncoder, adts_header
from tests.livestream_support import (
    BLUE,
    ORANGE,
    TONE_JUDGE,
    TONE_PARTY,
    colour_pixels,
    decode_segment,
    opus_tone,
    tone_share,
    vp8_solid,
)


class Sink:
    """Where the encoder hands its segments."""

    def __init__(self) -> None:
        self.segments: list[EncodedSegment] = []
        self.done = False

    def segment(self, segment: EncodedSegment) -> None:
        self.segments.append(segment)

    def ended(self) -> None:
        self.done = True


SETTINGS = CompositeSettings(width=320, height=180, fps=15)
FAST = EncoderSettings(preset="ultrafast", video_bitrate=400_000)


def run(core: CompositeCore, seconds: float, loud: dict[str, float], start: float = 0.0) -> float:
    """Feed 30 fps of each colour and 50 Opus frames a second of each tone, stepping the core
    on the stream's clock; `loud` gives each audio track's level (dBov)."""
    blue, orange = vp8_solid(BLUE), vp8_solid(ORANGE)
    judge, party = opus_tone(TONE_JUDGE), opus_tone(TONE_PARTY)
    n = round(start * 30)
    while n < round((start + seconds) * 30):
        t = n / 30
        core.video_frame("jv", blue[n % len(blue)])
        core.video_frame("pv", orange[n % len(orange)])
        if n % 3 != 2:  # 20 ms audio frames: 50 a second against 30 pictures
            for _ in range(2 if n % 3 == 0 else 1):
                core.audio_frame("ja", judge[n % len(judge)], loud["ja"], t)
                core.audio_frame("pa", party[n % len(party)], loud["pa"], t)
        core.step(t)
        n += 1
    return n / 30


def test_the_composite_encodes_2_second_segments_that_play_with_both_tiles_and_both_voices() -> (
    None
):
    sink = Sink()
    core = CompositeCore(SETTINGS, HlsEncoder(SETTINGS, FAST, sink))
    core.set_tiles(
        [
            Tile("judge", "Judge Le", "Presiding judge", "jv", "ja"),
            Tile("party", "Ms Nguyen", "Plaintiff", "pv", "pa"),
        ]
    )
    t = run(core, 3.0, {"ja": -20.0, "pa": -70.0})  # the judge speaks
    t = run(core, 3.0, {"ja": -70.0, "pa": -20.0}, start=t)  # then the party
    core.finish(6.0)

    assert sink.done
    assert [s.index for s in sink.segments] == [0, 1, 2]
    for segment in sink.segments:
        decoded = decode_segment(segment.data, every=5)
        assert decoded.video_times[0] == pytest.approx(segment.start, abs=0.05)
        assert decoded.video_span == pytest.approx(2.0 - 1 / 15, abs=0.05)
        assert decoded.audio_seconds == pytest.approx(2.0, abs=0.05)
        assert len(decoded.video_times) == segment.video_frames == 30
        # both voices are in the mix, the picture has both colours
        assert tone_share(decoded.samples, TONE_JUDGE) > 0.2
        assert tone_share(decoded.samples, TONE_PARTY) > 0.2
        last = decoded.pictures[-1]
        assert colour_pixels(last, BLUE) > 500 and colour_pixels(last, ORANGE) > 500
    first = decode_segment(sink.segments[0].data).pictures[-1]
    final = decode_segment(sink.segments[2].data).pictures[-1]
    # the active speaker is larger: first the judge, then (after the hold) the party
    assert colour_pixels(first, BLUE) > 3 * colour_pixels(first, ORANGE)
    assert colour_pixels(final, ORANGE) > 3 * colour_pixels(final, BLUE)


def test_an_empty_stage_still_streams_pictures_and_silence() -> None:
    sink = Sink()
    core = CompositeCore(SETTINGS, HlsEncoder(SETTINGS, FAST, sink))
    for n in range(30):
        core.step(n / 15)
    core.finish(2.0)
    [segment] = sink.segments
    decoded = decode_segment(segment.data)
    assert len(decoded.pictures) == 30
    assert decoded.audio_seconds == pytest.approx(2.0, abs=0.05)
    assert float(np.abs(decoded.samples).max()) < 0.01


def test_a_corrupt_frame_asks_for_a_keyframe_and_nothing_breaks() -> None:
    wanted: list[str] = []
    sink = Sink()
    core = CompositeCore(SETTINGS, HlsEncoder(SETTINGS, FAST, sink), wanted.append)
    core.set_tiles([Tile("judge", "Judge Le", "Presiding judge", "jv", "ja")])
    core.video_frame("jv", b"\x00\x01garbage")
    core.audio_frame("ja", b"", None, 0.0)
    core.video_frame("unknown", vp8_solid(BLUE)[0])
    core.step(0.5)
    core.finish(1.0)
    assert wanted == ["jv"]
    assert sink.segments and sink.segments[0].video_frames == 15


# -- layout, speaker, ADTS ------------------------------------------------------------------------


@pytest.mark.parametrize("count", range(1, 13))
def test_tiles_fit_the_canvas_without_overlap_and_the_featured_one_is_largest(count: int) -> None:
    for featured in range(count):
        rects = tile_rects(count, featured, 1280, 720)
        assert len(rects) == count
        for a in rects:
            assert a.x + a.width <= 1280 and a.y + a.height <= 720
            assert all(not a.overlaps(b) for b in rects if b is not a)
        assert max(rects, key=lambda r: r.area) == rects[featured]
        if count > 1:
            assert rects[featured].area > 2 * max(r.area for r in rects if r is not rects[featured])


def test_a_picture_is_letterboxed_inside_its_tile() -> None:
    box = Rect(100, 50, 400, 400)
    inside = fit(640, 480, box)
    assert inside == Rect(100, 100, 400, 300)
    with pytest.raises(ValueError):
        Rect(1, 0, 10, 10)


def test_the_loudest_voice_takes_the_floor_only_after_a_hold() -> None:
    speaker = ActiveSpeaker(hold=0.8)
    t = 0.0
    while t < 1.0:
        speaker.level("judge", -20, t)
        speaker.level("party", -60, t)
        t += 0.02
    assert speaker.current(t) == "judge"
    changed_at = None
    while t < 3.0:
        speaker.level("judge", -70, t)
        speaker.level("party", -15, t)
        if speaker.current(t) == "party" and changed_at is None:
            changed_at = t
        t += 0.02
    assert changed_at is not None and 1.7 < changed_at < 2.1
    assert speaker.current(t + 5) == "party"  # everyone quiet: the last speaker keeps it


def test_levels_come_from_the_extension_or_the_samples() -> None:
    assert dbov_of_extension(bytes([0x80 | 30])) == -30
    assert dbov_of_extension(b"") is None
    assert dbov_of_samples(np.zeros(480, np.float32)) == -127
    assert dbov_of_samples(np.full(480, 0.5, np.float32)) == pytest.approx(-6.02, abs=0.01)


def test_adts_headers_carry_the_frame_length() -> None:
    header = adts_header(100, 48000, 1)
    assert header[:2] == b"\xff\xf1" and len(header) == 7
    length = ((header[3] & 3) << 11) | (header[4] << 3) | (header[5] >> 5)
    assert length == 107


def test_a_picture_too_large_to_decode_is_not_shown_and_the_others_are() -> None:
    sink = Sink()
    core = CompositeCore(SETTINGS, HlsEncoder(SETTINGS, FAST, sink))
    core.set_tiles(
        [
            Tile("judge", "Judge Le", "Presiding judge", "jv", None),
            Tile("party", "Ms Nguyen", "Plaintiff", "pv", None),
        ]
    )
    # a VP8 keyframe header claiming 16000x16000 (about 400 MB to decode), then garbage
    huge = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A]) + (16000).to_bytes(2, "little") * 2
    blue = vp8_solid(BLUE)
    for n in range(30):
        core.video_frame("pv", huge + bytes(200) if n % 10 == 0 else bytes(50))
        core.video_frame("jv", blue[n % len(blue)])
        core.step(n / 15)
    core.finish(2.0)
    picture = decode_segment(sink.segments[0].data).pictures[-1]
    assert colour_pixels(picture, BLUE) > 1000  # the judge is on screen; the party is a card
    party = core.video_input("pv")
    assert party is not None and party.refused
    assert party.frames == party.errors == 0  # nothing of it reached the decoder
