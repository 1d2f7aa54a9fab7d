"""RTP as the forwarding path needs it: a strict header parser and a forwarded-packet builder.

The parser never raises anything but `ValueError` on hostile bytes, so a malformed packet is
dropped without touching the transport (aiortc's own parser lets `struct.error` escape on a
short header extension). Payloads are never decoded.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_HEADER = struct.Struct("!BBHII")
ONE_BYTE_PROFILE = 0xBEDE
TWO_BYTE_PROFILE_MASK = 0xFFF0
TWO_BYTE_PROFILE = 0x1000
MAX_RTP_PACKET = 1500

URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
URI_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
_NTP_EPOCH_OFFSET = 2208988800


@dataclass(slots=True)
class ParsedRtp:
    """The fields of one received RTP packet that forwarding needs. Offsets point into `data`."""

    data: bytes
    marker: int
    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    extensions: dict[int, bytes]
    payload_start: int
    payload_end: int

    @property
    def payload(self) -> bytes:
        return self.data[self.payload_start : self.payload_end]

    @property
    def payload_size(self) -> int:
        return self.payload_end - self.payload_start


def parse_rtp(data: bytes) -> ParsedRtp:
    """Parse an RTP packet (RFC 3550, RFC 8285 extensions). Raise ValueError if malformed."""
    n = len(data)
    if n < 12 or n > MAX_RTP_PACKET:
        raise ValueError("RTP packet length out of range")
    b0, b1, seq, ts, ssrc = RTP_HEADER.unpack_from(data)
    if b0 >> 6 != 2:
        raise ValueError("RTP version is not 2")
    pos = 12 + 4 * (b0 & 0x0F)
    extensions: dict[int, bytes] = {}
    if b0 & 0x10:
        if pos + 4 > n:
            raise ValueError("RTP extension header truncated")
        profile, words = struct.unpack_from("!HH", data, pos)
        pos += 4
        end = pos + 4 * words
        if end > n:
            raise ValueError("RTP extension block truncated")
        if profile == ONE_BYTE_PROFILE:
            _parse_one_byte(data, pos, end, extensions)
        elif profile & TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE:
            _parse_two_byte(data, pos, end, extensions)
        pos = end
    payload_end = n
    if b0 & 0x20:
        if n == 0 or data[-1] == 0 or pos + data[-1] > n:
            raise ValueError("RTP padding length invalid")
        payload_end = n - data[-1]
    if pos > payload_end:
        raise ValueError("RTP header longer than packet")
    return ParsedRtp(data, b1 >> 7, b1 & 0x7F, seq, ts, ssrc, extensions, pos, payload_end)


def _parse_one_byte(data: bytes, pos: int, end: int, out: dict[int, bytes]) -> None:
    while pos < end:
        byte = data[pos]
        if byte == 0:
            pos += 1
            continue
        ext_id, length = byte >> 4, (byte & 0x0F) + 1
        if ext_id == 15:
            return
        pos += 1
        if pos + length > end:
            raise ValueError("RTP one-byte extension element truncated")
        out[ext_id] = data[pos : pos + length]
        pos += length


def _parse_two_byte(data: bytes, pos: int, end: int, out: dict[int, bytes]) -> None:
    while pos < end:
        ext_id = data[pos]
        if ext_id == 0:
            pos += 1
            continue
        if pos + 2 > end:
            raise ValueError("RTP two-byte extension header truncated")
        length = data[pos + 1]
        pos += 2
        if pos + length > end:
            raise ValueError("RTP two-byte extension element truncated")
        out[ext_id] = data[pos : pos + length]
        pos += length


def abs_send_time(at: float) -> bytes:
    """The 24-bit 6.18 fixed-point abs-send-time of the wall-clock time `at`."""
    value = int((at + _NTP_EPOCH_OFFSET) * (1 << 18)) & 0xFFFFFF
    return value.to_bytes(3, "big")


def build_extension_block(elements: list[tuple[int, bytes]]) -> bytes:
    """A one-byte-header extension block (RFC 8285 §4.2), padded to 32-bit words."""
    if not elements:
        return b""
    body = b"".join(
        [bytes(((ext_id << 4) | (len(value) - 1),)) + value for ext_id, value in elements]
    )
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("!HH", ONE_BYTE_PROFILE, len(body) // 4) + body


def build_rtp(
    marker: int,
    payload_type: int,
    sequence_number: int,
    timestamp: int,
    ssrc: int,
    extension_block: bytes,
    payload: bytes,
) -> bytes:
    """An RTP packet with no CSRCs and no padding."""
    b0 = 0x90 if extension_block else 0x80
    header = RTP_HEADER.pack(b0, (marker << 7) | payload_type, sequence_number, timestamp, ssrc)
    return header + extension_block + payload


def vp8_is_keyframe(payload: bytes) -> bool:
    """True for the first packet of a VP8 keyframe (RFC 7741 payload descriptor + header)."""
    if not payload:
        return False
    first = payload[0]
    pos = 1
    if first & 0x80:  # X: extension byte present
        if len(payload) < 2:
            return False
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id
            if len(payload) <= pos:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/KEYIDX byte
            pos += 1
    start_of_partition = first & 0x10
    partition_id = first & 0x0F
    if not start_of_partition or partition_id != 0 or len(payload) <= pos:
        return False
    return payload[pos] & 0x01 == 0
