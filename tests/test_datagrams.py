"""What may arrive on an ICE socket (RFC 7983 classes), and STUN and RTCP parsed so that only
`ValueError` escapes, where aioice and aiortc let `struct.error` through."""

from __future__ import annotations

import struct

import pytest
from aioice import stun
from aiortc.rtcdtlstransport import RtpRouter
from aiortc.rtp import RtcpPacket

from media.datagrams import MAX_DATAGRAM, Drop, DropCounts, Kind, classify, parse_stun
from media.rtcp import parse_rtcp


@pytest.mark.parametrize(
    ("first", "kind"),
    [
        (0, Kind.STUN),
        (3, Kind.STUN),
        (20, Kind.DTLS),
        (63, Kind.DTLS),
        (128, Kind.MEDIA),
        (191, Kind.MEDIA),
    ],
)
def test_stun_dtls_and_media_are_told_apart_by_the_first_byte(first: int, kind: Kind) -> None:
    assert classify(bytes([first]) + b"\x00" * 40) is kind


@pytest.mark.parametrize("first", [4, 16, 19, 64, 79, 80, 127, 192, 255])
def test_every_other_first_byte_is_dropped(first: int) -> None:
    """ZRTP (16-19), TURN channels (64-79) and the unassigned classes have no place here."""
    assert classify(bytes([first]) * 20) is Drop.UNKNOWN_CLASS


def test_empty_and_oversized_datagrams_are_dropped_whatever_their_class() -> None:
    assert classify(b"") is Drop.EMPTY
    assert classify(b"\x80" * MAX_DATAGRAM) is Kind.MEDIA
    assert classify(b"\x80" * (MAX_DATAGRAM + 1)) is Drop.OVERSIZED
    assert classify(b"\x00" * 65507) is Drop.OVERSIZED


def binding_request(*attributes: tuple[int, bytes]) -> bytes:
    body = b"".join(
        struct.pack("!HH", kind, len(value)) + value + b"\x00" * (-len(value) % 4)
        for kind, value in attributes
    )
    return struct.pack("!HHI12s", 0x0001, len(body), 0x2112A442, b"transaction1") + body


def test_a_short_priority_attribute_is_refused_where_aioice_lets_struct_error_escape() -> None:
    data = binding_request((0x0024, b"\x00\x01"))  # PRIORITY must be 4 bytes
    with pytest.raises(struct.error):
        stun.parse_message(data)  # the control: aioice 0.13 as shipped
    with pytest.raises(ValueError, match="malformed STUN attribute"):
        parse_stun(data)


def test_a_well_formed_binding_request_parses() -> None:
    message = parse_stun(binding_request((0x0006, b"abcd:efgh"), (0x0024, b"\x00\x00\x00\x01")))
    assert message.message_method == stun.Method.BINDING
    assert message.attributes["USERNAME"] == "abcd:efgh"
    assert message.attributes["PRIORITY"] == 1


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01",
        binding_request()[:19],
        binding_request() + b"\x00",  # not a whole number of words
        b"\x00\x01\x00\x00" + b"\x00\x00\x00\x00" + b"t" * 12,  # no magic cookie
    ],
)
def test_what_is_not_a_stun_header_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_stun(data)


def remb(ssrc_count: int, ssrcs: bytes) -> bytes:
    fci = b"REMB" + bytes([ssrc_count, 0x08, 0x00, 0x00]) + ssrcs
    payload = struct.pack("!LL", 1, 0) + fci
    return struct.pack("!BBH", 0x80 | 15, 206, len(payload) // 4) + payload


def test_a_remb_whose_ssrc_count_runs_past_its_fci_is_refused_before_routing() -> None:
    data = remb(2, b"")
    packets = RtcpPacket.parse(data)  # aiortc's parser accepts it...
    with pytest.raises(struct.error):
        RtpRouter().route_rtcp(packets[0])  # ...and its router raises, closing the transport
    with pytest.raises(ValueError, match="REMB"):
        parse_rtcp(data)


def test_a_remb_with_its_ssrcs_and_other_application_feedback_pass() -> None:
    assert len(parse_rtcp(remb(1, b"\x00\x00\x00\x07"))) == 1
    other = struct.pack("!BBH", 0x80 | 15, 206, 3) + struct.pack("!LL", 1, 0) + b"GOOG"
    assert len(parse_rtcp(other)) == 1


def rtcp(packet_type: int, count: int, payload: bytes, length: int | None = None) -> bytes:
    words = len(payload) // 4 if length is None else length
    return struct.pack("!BBH", 0x80 | count, packet_type, words) + payload


MALFORMED_RTCP = {
    "sender report without sender info": rtcp(200, 0, b"\x00" * 8),
    "receiver report missing its report block": rtcp(201, 1, b"\x00" * 4),
    "SDES item longer than the packet": rtcp(202, 1, b"\x00\x00\x00\x01\x01\x40ab"),
    "BYE naming more sources than it holds": rtcp(203, 3, b"\x00" * 4),
    "NACK shorter than its header": rtcp(205, 1, b"\x00" * 4),
    "PLI shorter than its header": rtcp(206, 1, b"\x00" * 4),
    "length field past the end": rtcp(200, 0, b"\x00" * 24, length=40),
    "version 1": bytes([0x40]) + rtcp(201, 0, b"\x00" * 4)[1:],
    "padding longer than the packet": bytes([0xA0, 201, 0, 1]) + b"\x00\x00\x00\x09",
    "three bytes": b"\x80\xc9\x00",
}


@pytest.mark.parametrize("data", MALFORMED_RTCP.values(), ids=MALFORMED_RTCP.keys())
def test_malformed_rtcp_is_refused_with_value_error_only(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_rtcp(data)


def test_drops_are_counted_by_reason() -> None:
    counts = DropCounts()
    counts.add(Drop.EMPTY)
    counts.add(Drop.EMPTY)
    counts.add(Drop.UNVALIDATED_SOURCE)
    assert counts[Drop.EMPTY] == 2 and counts.total == 3
    assert counts.as_dict() == {"empty": 2, "unvalidated_source": 1}
