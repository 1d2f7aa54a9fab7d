"""Incoming RTCP, parsed so that a malformed compound packet is refused and never routed.

aiortc 1.16 parses RTCP with `RtcpPacket.parse`, then routes each packet; routing a REMB whose
SSRC count runs past its FCI raises `struct.error`, which closes the whole DTLS transport.
`parse_rtcp` only ever raises `ValueError`, and refuses any packet that routing or the
feedback handlers could choke on.
"""

from __future__ import annotations

import struct

from aiortc.rtp import RTCP_PSFB_APP, AnyRtcpPacket, RtcpPacket, RtcpPsfbPacket

MAX_RTCP_PACKET = 1500


def parse_rtcp(data: bytes) -> list[AnyRtcpPacket]:
    """Parse a compound RTCP packet (after SRTCP unprotect); raise only `ValueError`."""
    if not 4 <= len(data) <= MAX_RTCP_PACKET:
        raise ValueError("RTCP packet length out of range")
    try:
        packets = RtcpPacket.parse(data)
    except struct.error as exc:
        raise ValueError(f"malformed RTCP: {exc}") from exc
    for packet in packets:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            check_remb(packet.fci)
    return packets


def check_remb(fci: bytes) -> None:
    """Refuse a REMB feedback whose SSRC list is longer than its FCI (draft-alvestrand-rmcat-
    remb-03); other application-layer feedback passes untouched."""
    if fci[:4] == b"REMB" and (len(fci) < 8 or len(fci) < 8 + 4 * fci[4]):
        raise ValueError("REMB feedback truncated")
