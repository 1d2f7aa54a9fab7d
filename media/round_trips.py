"""Round-trip times a leg measures, and the one it has held lately.

Two measurements reach the server (docs/protocol.md, "Media health"):

- on a subscribe leg, RTCP: the subscriber's receiver reports answer our sender reports. A
  report block carries LSR (the middle 32 bits of the NTP time of the last sender report it
  had from us) and DLSR (how long it held it, in 1/65536 s), so the round trip is the
  arrival time minus LSR minus DLSR (RFC 3550, 6.4.1), about once a second per stream;
- on any leg, the ICE consent checks the server sends (RFC 7675, every 4-6 s): from a
  binding request to its response. A check answered only after a retransmission counts its
  whole wait, an upper bound (the first request may have been lost).

A publisher sends no report blocks on its publish leg (it receives nothing there), so that
leg's round trip is its consent checks'.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from aiortc.rtp import AnyRtcpPacket, RtcpRrPacket, RtcpSrPacket

NTP_SHORT: Final = 65536.0
"""Units of the compact NTP format (LSR, DLSR) in one second."""
LONGEST: Final = 60.0
"""A round trip beyond this is not one (a report answering a sender report of long ago)."""
REPORTS_SPAN: Final = 4.0
"""Receiver reports come about once a second: the last 4 s say what the leg holds."""
CHECKS_SPAN: Final = 12.0
"""Consent checks come every 4-6 s: the last 12 s hold two or three."""


def compact_ntp(ntp: int) -> int:
    """The middle 32 bits of a 64-bit NTP timestamp (what LSR holds)."""
    return (ntp >> 16) & 0xFFFFFFFF


def report_round_trips(
    packets: list[AnyRtcpPacket], ssrcs: set[int] | frozenset[int], arrival_ntp: int
) -> list[float]:
    """Seconds of round trip from each report block about one of our `ssrcs` that answers a
    sender report of ours (LSR not zero), in receiver or sender reports that arrived at
    `arrival_ntp` (a 64-bit NTP time); implausible ones (negative, over a minute) are left out."""
    arrived = compact_ntp(arrival_ntp)
    found = []
    for packet in packets:
        if not isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            continue
        for report in packet.reports:
            if report.ssrc not in ssrcs or report.lsr == 0:
                continue
            units = (arrived - report.lsr - report.dlsr) & 0xFFFFFFFF
            seconds = units / NTP_SHORT
            if seconds < LONGEST:
                found.append(seconds)
    return found


class RoundTrips:
    """The round trips one source measured on one leg, with when (`time.monotonic()`)."""

    def __init__(self, span: float) -> None:
        if span <= 0:
            raise ValueError("a span of time must be positive")
        self.span = span
        self._samples: deque[tuple[float, float]] = deque(maxlen=64)

    def record(self, at: float, seconds: float) -> None:
        if 0.0 <= seconds < LONGEST:
            self._samples.append((at, seconds))

    @property
    def latest(self) -> float | None:
        return self._samples[-1][1] if self._samples else None

    def sustained(self, now: float) -> float | None:
        """The round trip held over the last `span` seconds: the lowest measured in them, if
        they were measured at least a third of the span apart (one late answer is not a slow
        line, nor are the answers a stalled server reads all at once when it wakes); None
        otherwise."""
        recent = [(at, rtt) for at, rtt in self._samples if now - at <= self.span]
        if not recent or recent[-1][0] - recent[0][0] < self.span / 3:
            return None
        return min(rtt for _, rtt in recent)


def leg_round_trip(reports: RoundTrips | None, checks: RoundTrips, now: float) -> float | None:
    """A leg's sustained round trip: its receiver reports' if it has them (the finer
    measure), else its consent checks'."""
    measured = None if reports is None else reports.sustained(now)
    return measured if measured is not None else checks.sustained(now)
