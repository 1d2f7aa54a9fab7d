"""The delay line on a fake clock: nothing is listed before its delay, a cut drops what waits
and nothing dropped can ever be fetched, the playlist ends, and a new stream follows a
discontinuity."""

from __future__ import annotations

import re

import pytest

from recording.livestream.delay import STOPPED_BY_COURT, DelayLine
from recording.livestream.encoder import EncodedSegment


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def segment(index: int, duration: float = 2.0) -> EncodedSegment:
    return EncodedSegment(index, index * 2.0, duration, f"ts-{index}".encode(), 60, 94)


def listed(line: DelayLine) -> list[str]:
    text = line.playlist() or ""
    return re.findall(r"^([A-Za-z0-9_-]+)\.ts$", text, re.M)


def test_a_segment_is_listed_only_once_its_delay_has_passed() -> None:
    clock = Clock()
    line = DelayLine(30.0, clock=clock)
    name = line.add(segment(0))
    assert line.playlist() is None and line.segment(name) is None
    clock.now += 29.9
    assert line.playlist() is None and line.segment(name) is None
    clock.now += 0.1
    assert listed(line) == [name]
    assert line.segment(name) == b"ts-0"
    text = line.playlist() or ""
    assert text.startswith("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n")
    assert "#EXT-X-MEDIA-SEQUENCE:0" in text and "#EXTINF:2.000," in text
    assert "#EXT-X-ENDLIST" not in text


def test_the_playlist_slides_and_old_segments_stay_fetchable_for_a_while() -> None:
    clock = Clock()
    line = DelayLine(4.0, clock=clock, window=3, keep=5)
    names = []
    for index in range(8):
        names.append(line.add(segment(index)))
        clock.now += 2.0
    clock.now += 4.0
    assert listed(line) == names[-3:]
    assert "#EXT-X-MEDIA-SEQUENCE:5" in (line.playlist() or "")
    assert [line.segment(n) is not None for n in names] == [False] * 3 + [True] * 5


def test_a_cut_drops_everything_waiting_and_no_dropped_name_is_ever_served() -> None:
    clock = Clock()
    line = DelayLine(10.0, clock=clock)
    published = [line.add(segment(i)) for i in range(2)]
    clock.now += 10.0
    waiting = [line.add(segment(i)) for i in range(2, 7)]
    clock.now += 5.0
    assert line.cut() == waiting
    line.mark_discontinuity()
    slate = line.add(segment(100), delayed=False, media=False)
    line.end()
    clock.now += 3600.0
    assert listed(line) == [*published, slate]
    text = line.playlist() or ""
    assert text.endswith(
        f"#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\n{slate}.ts\n{STOPPED_BY_COURT}\n#EXT-X-ENDLIST\n"
    )
    assert all(line.segment(name) is None for name in waiting)
    assert line.dropped == 5 and line.published == 3


def test_names_are_unguessable_and_unique() -> None:
    line = DelayLine(0.0, clock=Clock())
    names = {line.add(segment(i)) for i in range(500)}
    assert len(names) == 500
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{24}", n) for n in names)


def test_an_end_waits_for_what_is_still_in_the_delay_line() -> None:
    clock = Clock()
    line = DelayLine(5.0, clock=clock)
    first = line.add(segment(0))
    line.end()
    assert line.playlist() is None and not line.ended
    clock.now += 5.0
    assert listed(line) == [first] and line.ended
    assert (line.playlist() or "").endswith("#EXT-X-ENDLIST\n")


def test_a_new_stream_after_an_end_restarts_the_playlist_after_a_discontinuity() -> None:
    clock = Clock()
    line = DelayLine(1.0, clock=clock)
    line.add(segment(0))
    line.end()
    clock.now += 1.0
    assert line.ended
    line.resume()
    fresh = line.add(segment(0))
    clock.now += 1.0
    text = line.playlist() or ""
    assert listed(line) == [fresh]
    assert "#EXT-X-ENDLIST" not in text and "#EXT-X-MEDIA-SEQUENCE:1" in text
    assert "#EXT-X-DISCONTINUITY\n" in text


def test_the_target_duration_covers_the_longest_listed_segment() -> None:
    clock = Clock()
    line = DelayLine(0.0, clock=clock)
    line.add(segment(0, 2.0))
    line.add(segment(1, 2.4))
    assert "#EXT-X-TARGETDURATION:3" in (line.playlist() or "")


def test_a_delay_line_refuses_a_negative_delay() -> None:
    with pytest.raises(ValueError):
        DelayLine(-1.0)


def test_a_stream_that_ends_by_itself_is_not_said_to_be_stopped_by_the_court() -> None:
    clock = Clock()
    line = DelayLine(1.0, clock=clock)
    line.add(segment(0))
    line.cut()
    line.resume()  # the court opens it again: a new stream, not a cut one
    line.add(segment(1))
    line.end()
    clock.now += 60.0
    text = line.playlist() or ""
    assert text.endswith("#EXT-X-ENDLIST\n") and STOPPED_BY_COURT not in text
