"""What may arrive on an ICE socket, decided before aioice or aiortc see a byte.

RFC 7983 demultiplexes a WebRTC port by the first byte: 0-3 STUN, 20-63 DTLS, 128-191 RTP and
RTCP. ecourt accepts nothing else (no ZRTP, no TURN channel data on a host socket), nothing
empty and nothing larger than an Ethernet MTU. STUN is parsed by `parse_stun`, which only ever
raises `ValueError` (aioice's own parser lets `struct.error` escape on a short attribute).
"""

from __future__ import annotations

import enum
import struct
import time

from aioice import stun

MAX_DATAGRAM = 1500
STUN_COOKIE = b"\x21\x12\xa4\x42"


class Kind(enum.Enum):
    STUN = "stun"
    DTLS = "dtls"
    MEDIA = "media"  # SRTP or SRTCP


class Drop(enum.StrEnum):
    """Why a datagram (or, for RTCP and stray RTP, a packet) was dropped before aioice or
    aiortc acted on it."""

    EMPTY = "empty"
    OVERSIZED = "oversized"
    UNKNOWN_CLASS = "unknown_class"
    MALFORMED_STUN = "malformed_stun"
    UNVALIDATED_SOURCE = "unvalidated_source"
    UNEXPECTED_RTP = "unexpected_rtp"
    SRTP_REJECTED = "srtp_rejected"
    MALFORMED_RTCP = "malformed_rtcp"


def classify(data: bytes) -> Kind | Drop:
    """The first-byte class of a datagram (RFC 7983), or why it is dropped outright."""
    if not data:
        return Drop.EMPTY
    if len(data) > MAX_DATAGRAM:
        return Drop.OVERSIZED
    first = data[0]
    if first < 4:
        return Kind.STUN
    if 19 < first < 64:
        return Kind.DTLS
    if 127 < first < 192:
        return Kind.MEDIA
    return Drop.UNKNOWN_CLASS


def parse_stun(data: bytes) -> stun.Message:
    """Parse a STUN message with aioice's parser; raise only `ValueError` if it is malformed."""
    if len(data) < 20 or data[4:8] != STUN_COOKIE or len(data) & 3:
        raise ValueError("not a STUN message (RFC 5389 header)")
    try:
        return stun.parse_message(data)
    except struct.error as exc:  # a numeric attribute of the wrong length
        raise ValueError(f"malformed STUN attribute: {exc}") from exc


class DropCounts:
    """Datagrams and packets dropped, by reason, on every socket of one ICE connection; and
    when the remote end was last heard from (any datagram from a validated address)."""

    __slots__ = ("_counts", "heard_at")

    def __init__(self) -> None:
        self._counts: dict[Drop, int] = dict.fromkeys(Drop, 0)
        self.heard_at = time.monotonic()
        """`time.monotonic()` when the remote end last sent anything (or when guarding began)."""

    def add(self, reason: Drop) -> None:
        self._counts[reason] += 1

    def __getitem__(self, reason: Drop) -> int:
        return self._counts[reason]

    @property
    def total(self) -> int:
        return sum(self._counts.values())

    def as_dict(self) -> dict[str, int]:
        return {str(reason): count for reason, count in self._counts.items() if count}
