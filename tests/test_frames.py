"""Frame assembly for the recorder: VP8 pictures out of RTP packets, without decoding."""

from __future__ import annotations

import pytest

from media.frames import FrameAssembler, TimestampUnwrapper, vp8_descriptor, vp8_dimensions
from media.rtp import ParsedRtp, build_rtp, parse_rtp

KEY = b"\x50\x00\x00\x9d\x01\x2a\x80\x02\xe0\x01" + bytes(range(200))  # 640x480 keyframe
DELTA = b"\x51\x00\x00" + bytes(range(100))


def packet(seq: int, ts: int, payload: bytes, marker: bool = False) -> ParsedRtp:
    return parse_rtp(build_rtp(int(marker), 96, seq & 0xFFFF, ts & 0xFFFFFFFF, 1234, b"", payload))


def picture(seq: int, ts: int, frame: bytes, parts: int = 3) -> list[ParsedRtp]:
    size = -(-len(frame) // parts)
    pieces = [frame[i : i + size] for i in range(0, len(frame), size)]
    return [
        packet(seq + i, ts, (b"\x10" if i == 0 else b"\x00") + piece, i == len(pieces) - 1)
        for i, piece in enumerate(pieces)
    ]


def test_a_picture_split_over_packets_is_joined_even_when_they_arrive_out_of_order() -> None:
    assembler = FrameAssembler("video", clock=lambda: 5.0)
    first, second, third = picture(10, 3000, KEY)
    assert assembler.push(third) == []
    assert assembler.push(first) == []
    [frame] = assembler.push(second)
    assert frame.data == KEY and frame.keyframe and frame.timestamp == 3000 and frame.arrival == 5.0
    assert not assembler.keyframe_wanted


def test_delta_frames_wait_for_the_first_keyframe() -> None:
    assembler = FrameAssembler("video")
    assert [f for p in picture(1, 100, DELTA) for f in assembler.push(p)] == []
    frames = [f for p in picture(4, 200, KEY) for f in assembler.push(p)]
    assert [f.keyframe for f in frames] == [True]


def test_a_lost_packet_drops_its_picture_and_the_deltas_after_it_until_a_keyframe() -> None:
    assembler = FrameAssembler("video")
    out = [f for p in picture(1, 100, KEY) for f in assembler.push(p)]
    broken = picture(4, 200, DELTA)
    del broken[1]
    out += [f for p in broken for f in assembler.push(p)]
    out += [f for p in picture(7, 300, DELTA) for f in assembler.push(p)]
    assert assembler.pictures_lost == 1 and assembler.keyframe_wanted
    out += [f for p in picture(10, 400, KEY) for f in assembler.push(p)]
    out += [f for p in picture(13, 500, DELTA) for f in assembler.push(p)]
    assert [f.timestamp for f in out] == [100, 400, 500]


def test_a_late_packet_of_a_written_picture_is_ignored() -> None:
    assembler = FrameAssembler("video")
    packets = picture(1, 100, KEY)
    for p in packets:
        assembler.push(p)
    assert assembler.push(packets[0]) == []
    assert assembler.frames == 1


def test_sequence_numbers_that_wrap_inside_a_picture_still_join() -> None:
    assembler = FrameAssembler("video")
    [frame] = [f for p in picture(0xFFFE, 100, KEY, parts=4) for f in assembler.push(p)]
    assert frame.data == KEY


def test_rtp_timestamps_unwrap_past_two_to_the_32() -> None:
    unwrap = TimestampUnwrapper()
    assert [unwrap(t) for t in (0xFFFFFF00, 0x00000100, 0xFFFFFFF0)] == [
        0xFFFFFF00,
        0x1_0000_0100,
        0xFFFFFFF0,
    ]


def test_each_opus_packet_is_one_frame() -> None:
    assembler = FrameAssembler("audio")
    [frame] = assembler.push(packet(1, 960, b"\xfc\x01\x02"))
    assert frame.data == b"\xfc\x01\x02" and frame.keyframe


def test_a_malformed_vp8_descriptor_is_counted_not_raised() -> None:
    assembler = FrameAssembler("video")
    assert assembler.push(packet(1, 100, b"\x80", marker=True)) == []
    assert assembler.packets_malformed == 1


def test_vp8_descriptor_length_counts_every_optional_field() -> None:
    assert vp8_descriptor(b"\x10abc") == (1, True)
    assert vp8_descriptor(b"\x90\xe0\x81\x02\x03\x04x") == (6, True)
    assert vp8_descriptor(b"\x80\x80\x05x") == (3, False)
    with pytest.raises(ValueError):
        vp8_descriptor(b"\x80\x80")


def test_keyframe_dimensions_come_from_the_vp8_header() -> None:
    assert vp8_dimensions(KEY) == (640, 480)
    assert vp8_dimensions(DELTA) is None
