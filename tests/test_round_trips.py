"""The round trip the server measures to a person (`media.round_trips`), from the bytes of the
RTCP it receives, and what a slow line does to their media health."""

from __future__ import annotations

import pytest

from hearing.media_health import MediaHealth, TrackWindow, media_health
from media.round_trips import RoundTrips, leg_round_trip, report_round_trips
from media.rtcp import parse_rtcp

OUR_SSRC = 0xAABBCCDD
"""The SSRC our subscribe leg sends one of its streams on."""
SR_SENT_AT = (3_900_000_000 << 32) | 0x80000000
"""The NTP time of our last sender report on it: 3 900 000 000.5 s (LSR 0x47008000)."""

# A compound RTCP packet as a subscriber sends it: a receiver report (PT 201) with one block
# about our stream (2 packets lost, highest sequence 0x11234, jitter 16, LSR 0x47008000, DLSR
# 0x4000: it held our sender report for 0.25 s), then an SDES with its CNAME.
RECEIVER_REPORT = bytes.fromhex(
    "81c90007"
    "11223344"  # RR, 7 words; the subscriber's SSRC
    "aabbccdd"
    "00000002"
    "00011234"
    "00000010"
    "47008000"
    "00004000"
    "81ca0003"
    "11223344"
    "0104616263640000"  # SDES: CNAME "abcd"
)
# The first receiver report, before it had any sender report from us: LSR and DLSR are zero.
FIRST_RECEIVER_REPORT = bytes.fromhex(
    "81c9000711223344aabbccdd0000000000000100000000000000000000000000"
)


def ntp_after(ntp: int, seconds: float) -> int:
    return ntp + int(seconds * (1 << 32))


def test_a_receiver_report_answering_our_sender_report_gives_the_round_trip() -> None:
    packets = parse_rtcp(RECEIVER_REPORT)
    arrived = ntp_after(SR_SENT_AT, 0.33)  # 0.25 s held there, so 80 ms on the wire
    [rtt] = report_round_trips(packets, {OUR_SSRC}, arrived)
    assert rtt == pytest.approx(0.08, abs=2 / 65536)


def test_the_round_trip_is_measured_across_the_wrap_of_the_compact_ntp_clock() -> None:
    sent = (0x1FFFF << 32) | 0xFFFF0000  # LSR 0xFFFFFFFF: the next second wraps it to zero
    lsr = (sent >> 16) & 0xFFFFFFFF
    block = RECEIVER_REPORT[:24] + lsr.to_bytes(4, "big") + RECEIVER_REPORT[28:]
    [rtt] = report_round_trips(parse_rtcp(block), {OUR_SSRC}, ntp_after(sent, 0.75))
    assert rtt == pytest.approx(0.5, abs=2 / 65536)


def test_reports_that_do_not_answer_our_sender_reports_give_no_round_trip() -> None:
    later = ntp_after(SR_SENT_AT, 0.33)
    assert report_round_trips(parse_rtcp(FIRST_RECEIVER_REPORT), {OUR_SSRC}, later) == []
    assert report_round_trips(parse_rtcp(RECEIVER_REPORT), {0x01020304}, later) == []
    # one that claims to answer a sender report from the future is no round trip either
    assert report_round_trips(parse_rtcp(RECEIVER_REPORT), {OUR_SSRC}, SR_SENT_AT) == []


def test_one_late_answer_or_a_burst_read_at_once_is_not_a_slow_line() -> None:
    trips = RoundTrips(span=4.0)
    trips.record(10.0, 0.9)
    assert trips.sustained(10.0) is None  # one measurement
    trips.record(10.1, 0.9)
    assert trips.sustained(10.1) is None  # read together, as after a stalled loop
    trips.record(12.0, 0.5)
    assert trips.sustained(12.0) == 0.5  # held for two seconds: the lowest of them
    trips.record(13.0, 0.05)
    assert trips.sustained(13.0) == 0.05
    assert trips.sustained(30.0) is None  # all too old


def test_a_leg_prefers_its_receiver_reports_to_its_consent_checks() -> None:
    reports, checks = RoundTrips(4.0), RoundTrips(12.0)
    for at, rtt in ((0.0, 0.7), (5.0, 0.6)):
        checks.record(at, rtt)  # a check may have waited for a retransmission
    assert leg_round_trip(reports, checks, 6.0) == 0.6
    for at in (4.0, 5.0, 6.0):
        reports.record(at, 0.03)
    assert leg_round_trip(reports, checks, 6.0) == 0.03
    assert leg_round_trip(None, checks, 6.0) == 0.6  # a publish leg has no report blocks


@pytest.mark.parametrize(
    ("round_trip", "silent_for", "state"),
    [
        (None, 0.05, MediaHealth.LIVE),  # not measured yet
        (0.03, 0.05, MediaHealth.LIVE),
        (0.39, 0.05, MediaHealth.LIVE),
        (0.45, 0.05, MediaHealth.WEAK),  # every packet arrives, but half a second late
        (0.45, 3.0, MediaHealth.FROZEN),  # a slow line that also stopped is frozen
    ],
)
def test_a_round_trip_held_over_400_ms_makes_the_media_weak(
    round_trip: float | None, silent_for: float, state: MediaHealth
) -> None:
    window = TrackWindow("video", True, silent_for, 60, 60, 2.0, "connected", round_trip)
    assert media_health(window) is state
