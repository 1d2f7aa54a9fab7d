"""The forwarding path's RTP parser and builder: round trips, hostile bytes, VP8 keyframes."""

from __future__ import annotations

import contextlib
import struct

import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from hypothesis import given, settings
from hypothesis import strategies as st

from media.rtp import (
    URI_ABS_SEND_TIME,
    URI_AUDIO_LEVEL,
    build_extension_block,
    build_rtp,
    parse_rtp,
    vp8_is_keyframe,
)


def extension_map() -> HeaderExtensionsMap:
    """aiortc's map with abs-send-time as id 3 and audio level as id 2."""
    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=2, uri=URI_AUDIO_LEVEL),
                RTCRtpHeaderExtensionParameters(id=3, uri=URI_ABS_SEND_TIME),
            ]
        )
    )
    return extensions


def aiortc_packet(**fields: object) -> bytes:
    """A packet serialised by aiortc, with abs-send-time as id 3 and audio level as id 2."""
    extensions = extension_map()
    packet = RtpPacket(payload_type=96, sequence_number=65535, timestamp=0xFFFFFFF0, ssrc=1234)
    packet.marker = 1
    packet.payload = b"\x90\x80\x01payload"
    packet.extensions.abs_send_time = 0x123456
    packet.extensions.audio_level = (True, 42)
    for name, value in fields.items():
        setattr(packet, name, value)
    data: bytes = packet.serialize(extensions)
    return data


def test_a_packet_serialised_by_aiortc_parses_with_its_extensions() -> None:
    parsed = parse_rtp(aiortc_packet())
    assert (parsed.payload_type, parsed.sequence_number, parsed.timestamp, parsed.ssrc) == (
        96,
        65535,
        0xFFFFFFF0,
        1234,
    )
    assert parsed.marker == 1
    assert parsed.payload == b"\x90\x80\x01payload"
    assert parsed.extensions[3] == bytes.fromhex("123456")
    assert parsed.extensions[2] == bytes([0x80 | 42])


def test_padding_is_not_part_of_the_payload() -> None:
    data = aiortc_packet(padding_size=4)
    parsed = parse_rtp(data)
    assert parsed.payload == b"\x90\x80\x01payload"


def test_a_forwarded_packet_round_trips_through_aiortcs_parser() -> None:
    block = build_extension_block([(3, bytes.fromhex("abcdef")), (2, b"\x85")])
    data = build_rtp(
        marker=1,
        payload_type=97,
        sequence_number=7,
        timestamp=99,
        ssrc=0xDEADBEEF,
        extension_block=block,
        payload=b"hello",
    )
    extensions = extension_map()
    packet = RtpPacket.parse(data, extensions)
    assert (packet.payload_type, packet.sequence_number, packet.timestamp, packet.ssrc) == (
        97,
        7,
        99,
        0xDEADBEEF,
    )
    assert packet.marker == 1 and packet.payload == b"hello"
    assert packet.extensions.abs_send_time == 0xABCDEF
    assert packet.extensions.audio_level == (True, 5)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty", b""),
        ("short header", b"\x80\x60\x00\x01"),
        ("version 1", b"\x40" + b"\x00" * 15),
        ("csrc count beyond the packet", b"\x8f" + b"\x00" * 15),
        ("extension header truncated", b"\x90\x60" + b"\x00" * 10 + b"\xbe\xde"),
        ("extension block beyond the packet", b"\x90\x60" + b"\x00" * 10 + b"\xbe\xde\x00\x09"),
        (
            "one-byte element overruns",
            b"\x90\x60" + b"\x00" * 10 + b"\xbe\xde\x00\x01\x2f\x00\x00\x00",
        ),
        ("padding of zero", b"\xa0\x60" + b"\x00" * 10 + b"payload\x00"),
        ("padding longer than the packet", b"\xa0\x60" + b"\x00" * 10 + b"\xff"),
        ("larger than a datagram", b"\x80\x60" + b"\x00" * 1600),
    ],
)
def test_malformed_packets_raise_value_error_only(name: str, data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_rtp(data)


def test_a_one_byte_abs_send_time_that_crashes_aiortc_is_carried_without_harm() -> None:
    # aiortc 1.16's parser raises struct.error on this (issue F2); ours keeps the bytes as-is
    data = b"\x90\x60\x00\x01" + b"\x00" * 8 + b"\xbe\xde\x00\x01" + b"\x30\x01\x00\x00" + b"x"
    parsed = parse_rtp(data)
    assert parsed.extensions[3] == b"\x01"
    assert parsed.payload == b"x"


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=1600))
def test_arbitrary_bytes_never_raise_anything_but_value_error(data: bytes) -> None:
    try:
        parsed = parse_rtp(data)
    except ValueError:
        return
    assert parsed.payload_start <= parsed.payload_end <= len(data)


@settings(max_examples=2000, deadline=None)
@given(
    st.binary(min_size=12, max_size=12),
    st.lists(st.tuples(st.integers(1, 14), st.binary(min_size=1, max_size=16)), max_size=6),
    st.binary(max_size=200),
)
def test_extension_blocks_survive_mutation(
    header: bytes, elements: list[tuple[int, bytes]], payload: bytes
) -> None:
    block = bytearray(build_extension_block(elements))
    if block:
        block[-1] ^= 0xFF
    data = bytes([0x90 | (header[0] & 0x20)]) + header[1:] + bytes(block) + payload
    with contextlib.suppress(ValueError):
        parse_rtp(data)


def vp8(descriptor: bytes, first_payload_byte: int) -> bytes:
    return descriptor + bytes([first_payload_byte]) + b"\x00" * 9


@pytest.mark.parametrize(
    ("payload", "keyframe"),
    [
        (vp8(b"\x10", 0x00), True),  # S=1, PID=0, P=0
        (vp8(b"\x10", 0x01), False),  # interframe
        (vp8(b"\x00", 0x00), False),  # not the start of a partition
        (vp8(b"\x90\x80\x81\x23", 0x00), True),  # X, I with a 15-bit picture id
        (vp8(b"\x90\x80\x23", 0x00), True),  # X, I with a 7-bit picture id
        (vp8(b"\x90\xe0\x81\x23\x05\x40", 0x00), True),  # X, I, L, T
        (vp8(b"\x11", 0x00), False),  # partition 1
        (b"", False),
        (b"\x90", False),
    ],
)
def test_vp8_keyframes_are_recognised_from_the_payload_descriptor(
    payload: bytes, keyframe: bool
) -> None:
    assert vp8_is_keyframe(payload) is keyframe


def test_extension_blocks_are_padded_to_whole_words() -> None:
    block = build_extension_block([(3, b"\x01\x02\x03")])
    profile, words = struct.unpack_from("!HH", block)
    assert profile == 0xBEDE and words == 1 and len(block) == 8
    assert build_extension_block([]) == b""
