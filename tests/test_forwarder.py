"""The forwarder's per-packet rules, driven with real RTP bytes into a recording sender.

The sender stands in for the subscriber's DTLS transport: the edge where packets leave.
"""

from __future__ import annotations

import asyncio
from typing import Any

from media.forwarder import PublishedTrack, ReceptionStats, TrackSink
from media.rtp import URI_AUDIO_LEVEL, build_extension_block, build_rtp, parse_rtp


class RecordingTransport:
    """Collects what would have been SRTP-protected and sent, with each packet's index."""

    native_sender = None

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[bytes] = []
        self.indexes: list[int] = []
        self.fail = fail

    def send(self, header: bytes, payload: bytes, ssrc: int, index: int) -> bytes:
        if self.fail:
            raise ConnectionError("closed")
        assert ssrc == int.from_bytes(header[8:12], "big")
        self.indexes.append(index)
        self.sent.append(header + payload)
        return header + payload

    def resend(self, packet: bytes) -> None:
        if self.fail:
            raise ConnectionError("closed")
        self.sent.append(packet)


def rtp(seq: int, ts: int = 1000, payload: bytes = b"\x10\x01frame", padding: int = 0) -> bytes:
    data = build_rtp(
        marker=0,
        payload_type=96,
        sequence_number=seq,
        timestamp=ts,
        ssrc=555,
        extension_block=build_extension_block([(1, b"\x7f")]),
        payload=payload,
    )
    if padding:
        data = bytes([data[0] | 0x20]) + data[1:] + b"\x00" * (padding - 1) + bytes([padding])
    return data


KEYFRAME = b"\x10\x00keyframe"


def track(kind: str = "video") -> tuple[PublishedTrack, list[int]]:
    requests: list[int] = []

    async def request(ssrc: int) -> None:
        requests.append(ssrc)

    published = PublishedTrack(
        track_id="t1",
        source="p_judge",
        kind=kind,
        mime_type="video/vp8" if kind == "video" else "audio/opus",
        clock_rate=90000 if kind == "video" else 48000,
        payload_type=96,
        ssrc=555,
        extension_ids={URI_AUDIO_LEVEL: 1},
        request_keyframe=request,
    )
    return published, requests


def sink(transport: RecordingTransport, kind: str = "video", ssrc: int = 0xABC) -> TrackSink:
    made = TrackSink(transport, ssrc, kind, 90000)
    made.payload_type = 100
    made.audio_level_id = 4
    made.permitted = True  # the court allows this pair (a sink forwards nothing until then)
    return made


async def feed(published: PublishedTrack, *packets: bytes) -> None:
    for data in packets:
        published.handle(parse_rtp(data))


def sent(transport: RecordingTransport) -> list[Any]:
    return [parse_rtp(data) for data in transport.sent]


async def test_a_sink_gets_its_own_ssrc_payload_type_and_continuous_numbering() -> None:
    published, _ = track()
    wire = RecordingTransport()
    published.add_sink(sink(wire))
    await feed(published, rtp(65534, 1000, KEYFRAME), rtp(65535, 4000), rtp(0, 7000))
    out = sent(wire)
    assert [p.ssrc for p in out] == [0xABC] * 3
    assert [p.payload_type for p in out] == [100] * 3
    first = out[0].sequence_number
    assert [p.sequence_number for p in out] == [first, (first + 1) & 0xFFFF, (first + 2) & 0xFFFF]
    assert [(p.timestamp - out[0].timestamp) & 0xFFFFFFFF for p in out] == [0, 3000, 6000]
    assert out[1].payload == b"\x10\x01frame"
    assert out[0].extensions == {4: b"\x7f"}  # audio level, re-numbered for the sink


async def test_a_new_video_sink_waits_for_a_keyframe_and_asks_for_one() -> None:
    published, requests = track()
    wire = RecordingTransport()
    published.add_sink(sink(wire))
    await asyncio.sleep(0)
    assert requests == [555]
    await feed(published, rtp(1), rtp(2))
    assert wire.sent == []
    await feed(published, rtp(3, payload=KEYFRAME), rtp(4))
    assert [p.payload for p in sent(wire)] == [KEYFRAME, b"\x10\x01frame"]


async def test_audio_sinks_start_at_once() -> None:
    published, requests = track("audio")
    wire = RecordingTransport()
    published.add_sink(sink(wire, "audio"))
    await feed(published, rtp(1, payload=b"opus"))
    assert len(wire.sent) == 1 and requests == []


async def test_padding_only_probes_and_duplicates_are_dropped_without_a_sequence_gap() -> None:
    published, _ = track()
    wire = RecordingTransport()
    published.add_sink(sink(wire))
    await feed(
        published,
        rtp(10, payload=KEYFRAME),
        rtp(11, payload=b"", padding=200),
        rtp(12),
        rtp(12),
        rtp(13),
    )
    numbers = [p.sequence_number for p in sent(wire)]
    assert len(numbers) == 3
    assert [(n - numbers[0]) & 0xFFFF for n in numbers] == [0, 1, 2]
    assert published.packets_dropped == 2


async def test_a_late_packet_is_never_sent_under_an_index_already_used() -> None:
    # 11 arrives after the probe 13 closed the gap: it would take 10's number, and with it
    # 10's AES-GCM nonce, so it is refused. 14 follows on as usual.
    published, _ = track()
    wire = RecordingTransport()
    viewer = sink(wire)
    published.add_sink(viewer)
    await feed(
        published,
        rtp(10, payload=KEYFRAME),
        rtp(12, payload=b"\x10\x01twelve"),
        rtp(13, payload=b"", padding=200),
        rtp(11, payload=b"\x10\x01eleven"),
        rtp(14, payload=b"\x10\x01fourteen"),
    )
    assert [p.payload for p in sent(wire)] == [KEYFRAME, b"\x10\x01twelve", b"\x10\x01fourteen"]
    assert len(set(wire.indexes)) == len(wire.indexes) == 3
    assert viewer.packets_refused == 1


async def test_a_late_packet_under_a_fresh_index_is_still_forwarded() -> None:
    published, _ = track()
    wire = RecordingTransport()
    published.add_sink(sink(wire))
    await feed(published, rtp(10, payload=KEYFRAME), rtp(12), rtp(11, payload=b"\x10\x01late"))
    out = sent(wire)
    assert [p.payload for p in out][-1] == b"\x10\x01late"
    assert wire.indexes[2] == wire.indexes[0] + 1  # between the two it came between


async def test_nacked_packets_are_resent_from_the_sinks_cache() -> None:
    published, _ = track()
    wire = RecordingTransport()
    viewer = sink(wire)
    published.add_sink(viewer)
    await feed(published, rtp(1, payload=KEYFRAME), rtp(2), rtp(3))
    second = sent(wire)[1].sequence_number
    found = viewer.retransmit([second, (second + 500) & 0xFFFF])
    assert found == 1
    assert wire.sent[-1] == wire.sent[1]


async def test_keyframe_requests_are_throttled_and_deferred_not_dropped() -> None:
    published, requests = track()
    published.add_sink(sink(RecordingTransport(), ssrc=1))
    published.add_sink(sink(RecordingTransport(), ssrc=2))
    published.request_keyframe()
    await asyncio.sleep(0)
    assert requests == [555]
    for _ in range(60):  # the deferred request is due about a second after the first
        if len(requests) == 2:
            break
        await asyncio.sleep(0.05)
    assert requests == [555, 555]


async def test_a_broken_sink_does_not_stop_the_others() -> None:
    published, _ = track("audio")
    broken, healthy = RecordingTransport(fail=True), RecordingTransport()
    published.add_sink(sink(broken, "audio", ssrc=1))
    published.add_sink(sink(healthy, "audio", ssrc=2))
    await feed(published, rtp(1), rtp(2))
    assert len(healthy.sent) == 2


async def test_an_ended_track_forwards_nothing_and_cancels_requests() -> None:
    published, _ = track("audio")
    wire = RecordingTransport()
    published.add_sink(sink(wire, "audio"))
    published.end()
    await feed(published, rtp(1))
    assert wire.sent == []


def test_receiver_reports_count_loss_across_a_wrap() -> None:
    stats = ReceptionStats()
    for seq in (65533, 65534, 0, 1, 3):  # 65535 and 2 are lost
        stats.add(seq)
    fraction, lost = stats.interval_report()
    assert lost == 2
    assert fraction == (2 << 8) // 7
    assert stats.extended_highest == (1 << 16) | 3


async def test_the_publisher_is_asked_for_what_the_weakest_subscriber_can_take() -> None:
    from media.publish import REMB_FLOOR, upstream_bitrate

    video, _ = track("video")
    audio, _ = track("audio")
    strong, weak = sink(RecordingTransport()), sink(RecordingTransport(), ssrc=0xDEF)
    video.add_sink(strong)
    video.add_sink(weak)
    cap = 2_500_000
    assert upstream_bitrate(cap, [video, audio]) == cap  # nobody has said anything yet
    strong.remb, weak.remb = 3_000_000, 600_000
    assert video.weakest_remb() == 600_000
    assert upstream_bitrate(cap, [video, audio]) == 600_000
    weak.remb = 20_000  # a subscriber on a dying link does not starve everyone else
    assert upstream_bitrate(cap, [video, audio]) == REMB_FLOOR
    video.remove_sink(weak)
    assert upstream_bitrate(cap, [video, audio]) == cap  # 3 Mbit/s, capped


async def test_a_sink_forwards_and_resends_only_while_the_court_permits_the_pair() -> None:
    published, requests = track()
    wire = RecordingTransport()
    viewer = TrackSink(wire, 0xABC, "video", 90000)
    published.add_sink(viewer)
    await feed(published, rtp(1, payload=KEYFRAME))
    assert wire.sent == [] and viewer.packets_withheld == 1  # not permitted yet: fail closed

    viewer.permitted = True
    await feed(published, rtp(2, payload=KEYFRAME), rtp(3))
    assert len(wire.sent) == 2
    second = sent(wire)[1].sequence_number
    viewer.permitted = False  # revoked: stopped at the very next packet, and no resends
    await feed(published, rtp(4), rtp(5, payload=KEYFRAME))
    assert viewer.retransmit([second]) == 0
    assert len(wire.sent) == 2 and viewer.packets_withheld == 3

    requests.clear()
    viewer.permitted = True  # permitted again: it starts clean, on a keyframe
    assert viewer.waiting_keyframe
    await feed(published, rtp(6), rtp(7, payload=KEYFRAME))
    assert [p.payload for p in sent(wire)[2:]] == [KEYFRAME]


async def test_a_sink_on_a_reused_section_carries_on_the_stream_it_replaces() -> None:
    published, _ = track()
    wire = RecordingTransport()
    first = sink(wire)
    published.add_sink(first)
    await feed(published, rtp(1, 1000, KEYFRAME), rtp(2, 4000))
    published.remove_sink(first)

    second = sink(wire)
    second.follow(first)  # same SSRC, same key: the numbering must go on, never repeat
    published.add_sink(second)
    await feed(published, rtp(900, 555_000, KEYFRAME), rtp(901, 558_000))
    out = sent(wire)
    numbers = [p.sequence_number for p in out]
    assert numbers == [(numbers[0] + i) & 0xFFFF for i in range(4)]
    assert wire.indexes == [wire.indexes[0] + i for i in range(4)]
    assert ((out[2].timestamp - out[1].timestamp) & 0xFFFFFFFF) < 0x80000000  # forward in time
