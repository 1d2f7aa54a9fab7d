"""The per-sink forwarding in C (`media/_srtp_native_fanout.c`) against the same rules in
Python (`TrackSink.forward`): one track, two subscribers under the same key and numbering,
one forwarded in Python and one handed over to C, must receive the same datagrams."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from media import srtp
from media.forwarder import NACK_CACHE, PublishedTrack, TrackSink
from media.rtp import build_extension_block, build_rtp, parse_rtp
from media.srtp import GcmProtector, native_sender
from tests.test_forwarder import track as published_track

if TYPE_CHECKING:
    from media._srtp_native import GcmSender

pytestmark = pytest.mark.skipif(
    not srtp.NATIVE, reason="media/_srtp_native is not built (tools/build-native)"
)

KEY = bytes(range(44))
KEYFRAME = b"\x10\x00keyframe"
SUBSCRIBERS: list[Subscriber] = []
"""The subscribers of the track being fed."""


class PythonOut:
    """A way out protected by the Python protector and sent with `socket.sendto`."""

    native_sender = None

    def __init__(self, sock: socket.socket, address: tuple[str, int]) -> None:
        self._protect = GcmProtector(KEY).protect
        self._sock, self._address = sock, address

    def send(self, header: bytes, payload: bytes, ssrc: int, index: int) -> bytes:
        packet = self._protect(header, payload, ssrc, index)
        self._sock.sendto(packet, self._address)
        return packet

    def resend(self, packet: bytes) -> None:
        self._sock.sendto(packet, self._address)


class NativeOut:
    """A way out on a C sender, as `hooks.RtpRoute` is once its leg is up."""

    def __init__(self, sender: GcmSender) -> None:
        self.native_sender: GcmSender | None = sender
        self.send, self.resend = sender.send, sender.resend


@dataclass
class Subscriber:
    sink: TrackSink
    inbox: socket.socket
    arrived: list[bytes] = field(default_factory=list)

    def drain(self) -> None:
        while True:
            try:
                self.arrived.append(self.inbox.recv(2048))
            except BlockingIOError:
                return

    def received(self) -> list[bytes]:
        """What arrived since the last call."""
        self.drain()
        packets, self.arrived = self.arrived, []
        return packets


@contextmanager
def two_subscribers(kind: str = "video") -> Iterator[tuple[PublishedTrack, Subscriber, Subscriber]]:
    """A track with a Python-forwarded and a C-forwarded subscriber, numbered alike."""

    track, _requests = published_track(kind)
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
    try:
        out, python_inbox, c_inbox = sockets
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        sender = native_sender(KEY, out.fileno(), c_inbox.getsockname())
        assert sender is not None
        subscribers = []
        for way_out, inbox in (
            (PythonOut(out, python_inbox.getsockname()), python_inbox),
            (NativeOut(sender), c_inbox),
        ):
            sink = TrackSink(way_out, 0xABC, kind, track.clock_rate)
            sink._next_seq, sink._ts_base = 65530, 4_000_000_000  # both wrap soon
            sink.payload_type, sink.abs_send_time_id, sink.audio_level_id = 100, 3, 4
            sink.permitted = True
            subscribers.append(Subscriber(sink, inbox))
            track.add_sink(sink)
        SUBSCRIBERS[:] = subscribers
        yield track, subscribers[0], subscribers[1]
        sender.close()
    finally:
        SUBSCRIBERS.clear()
        for sock in sockets:
            sock.close()


def rtp(seq: int, ts: int, payload: bytes, level: int | None = 0x30, marker: int = 0) -> bytes:
    block = build_extension_block([(1, bytes([level]))] if level is not None else [])
    return build_rtp(
        marker=marker,
        payload_type=96,
        sequence_number=seq & 0xFFFF,
        timestamp=ts & 0xFFFFFFFF,
        ssrc=555,
        extension_block=block,
        payload=payload,
    )


def feed(track: PublishedTrack, packets: list[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    """Each packet at a fixed wall clock, so both subscribers' abs-send-time agree; the
    subscribers' sockets are read as it goes (a socket buffer holds about 150 packets)."""
    for i, data in enumerate(packets):
        monkeypatch.setattr("media.forwarder.time.time", lambda i=i: 1_800_000_000.0 + i / 50)
        track.handle(parse_rtp(data))
        for subscriber in SUBSCRIBERS:
            subscriber.drain()


def a_hard_stream(count: int, seed: int) -> list[bytes]:
    """A keyframe, then frames with reordering, duplicates, losses, packets far too late,
    padding-only probes and sizes up to a full datagram; sequence numbers wrap."""
    chance = random.Random(seed)
    packets = [rtp(65500, 0, KEYFRAME, marker=1)]
    for i in range(1, count):
        payload = bytes([0x10, 0x01]) + chance.randbytes(chance.choice([1, 60, 700, 1180]))
        level = chance.choice([None, 0x05, 0x7F])
        packets.append(rtp(65500 + i, i * 3000, payload, level, marker=i % 5 == 0))
    for _ in range(count // 10):
        i = chance.randrange(1, len(packets) - 3)
        packets[i], packets[i + 2] = packets[i + 2], packets[i]
    for _ in range(count // 20):
        packets.insert(chance.randrange(1, len(packets)), chance.choice(packets))
    for _ in range(count // 20):
        del packets[chance.randrange(1, len(packets))]
    late = packets[5]
    packets.insert(len(packets) - 5, late)  # hundreds of packets late
    probe = bytearray(rtp(65500 + count, count * 3000, b"", None))
    probe[0] |= 0x20  # padding only: the track drops it and closes the gap
    packets.insert(count // 2, bytes(probe) + bytes(7) + b"\x08")
    return packets


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_c_forwarding_sends_the_very_datagrams_python_forwarding_sends(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with two_subscribers() as (track, python, c):
        stream = a_hard_stream(700, seed)
        feed(track, stream[:1], monkeypatch)
        assert python.sink.core is None and c.sink.core is not None  # handed over at once
        feed(track, stream[1:], monkeypatch)
        sent_python, sent_c = python.received(), c.received()
        assert len(sent_python) > 500
        assert sent_c == sent_python
        for attribute in (
            "packets_sent",
            "packets_refused",
            "octets_sent",
            "last_timestamp",
            "last_sent_at",
        ):
            assert getattr(c.sink, attribute) == getattr(python.sink, attribute), attribute
        assert c.sink.packets_refused > 0  # the late packet: its index was used
        # The receivers see one valid SRTP stream: strictly one index per sequence number.
        numbers = [parse_rtp(p).sequence_number for p in sent_c]
        assert len(set(numbers)) == len(numbers)


async def test_nacks_are_answered_from_the_c_cache_as_from_the_python_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with two_subscribers() as (track, python, c):
        feed(track, [rtp(100 + i, i * 3000, KEYFRAME) for i in range(600)], monkeypatch)
        first = python.received()
        assert c.received() == first
        newest = parse_rtp(first[-1]).sequence_number
        lost = [(newest - back) & 0xFFFF for back in (0, 3, 511, 512, 700)] + [70000, -1]
        assert c.sink.retransmit(lost) == python.sink.retransmit(lost) == 3
        again = python.received()
        assert c.received() == again and len(again) == 3
        assert again == [first[-1], first[-4], first[-512]]


async def test_a_reconfigured_sink_takes_its_numbering_back_and_hands_it_over_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with two_subscribers("audio") as (track, python, c):
        feed(track, [rtp(i, i * 960, b"opus") for i in range(10)], monkeypatch)
        core = c.sink.core
        assert core is not None
        for subscriber in (python, c):  # a renegotiation gave the codec another number
            subscriber.sink.payload_type = 111
        assert core.retired and c.sink.core is None
        assert c.sink.packets_sent == 10  # the counters came back with the numbering
        feed(track, [rtp(i, i * 960, b"opus") for i in range(10, 20)], monkeypatch)
        assert c.sink.core is not None and c.sink.core is not core
        sent_python, sent_c = python.received(), c.received()
        assert sent_c == sent_python and len(sent_c) == 20
        assert [parse_rtp(p).payload_type for p in sent_c] == [100] * 10 + [111] * 10
        numbers = [parse_rtp(p).sequence_number for p in sent_c]
        assert numbers == [(numbers[0] + i) & 0xFFFF for i in range(20)]


async def test_a_closed_leg_is_skipped_and_the_others_are_still_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with two_subscribers("audio") as (track, python, c):
        feed(track, [rtp(i, i * 960, b"opus") for i in range(3)], monkeypatch)
        assert c.sink.core is not None
        cached = parse_rtp(c.received()[0]).sequence_number
        sender = c.sink.out.native_sender
        assert sender is not None
        sender.close()  # the leg is no longer connected (hooks.RtpRoute closes it then)
        feed(track, [rtp(i, i * 960, b"opus") for i in range(3, 6)], monkeypatch)
        assert len(python.received()) == 6
        assert c.received() == [] and c.sink.packets_sent == 3
        with pytest.raises(ConnectionError):
            c.sink.retransmit([cached])


def core_fields(sender: GcmSender, **changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "sender": sender,
        "ssrc": 1,
        "payload_type": 96,
        "abs_send_time_id": 0,
        "audio_level_id": 0,
        "seq_offset": 0,
        "ts_offset": 0,
        "highest": -1,
        "history": [None] * NACK_CACHE,
        "packets_sent": 0,
        "packets_refused": 0,
        "octets_sent": 0,
        "last_timestamp": 0,
        "last_sent_at": 0.0,
    }
    return fields | changes


async def test_the_c_sink_and_fan_out_refuse_what_they_cannot_take() -> None:
    closed = native_sender(KEY, -1, ("127.0.0.1", 9))  # no socket: a closed leg
    assert closed is not None and closed.closed
    for changes in (
        {"ssrc": 1 << 32},
        {"payload_type": 128},
        {"audio_level_id": 15},
        {"seq_offset": 1 << 16},
        {"highest": 1 << 48},
        {"history": [None] * 3},
    ):
        with pytest.raises((ValueError, OverflowError)):
            srtp.sink_core(**core_fields(closed, **changes))
    with pytest.raises(TypeError):
        srtp.sink_core(**core_fields(closed, history=["packet"] * NACK_CACHE))
    with pytest.raises(TypeError):
        srtp.sink_core(**(core_fields(closed) | {"sender": "not a sender"}))
    core = srtp.sink_core(**core_fields(closed))
    good = ((core,), 1, 2, 0, b"payload", 0.0, b"\x00\x00\x00", None)
    srtp.fan_out(*good)
    assert core.packets_sent == 0 and core.highest == -1  # skipped, numbering untouched
    for position, bad in (
        (0, ["not a tuple"]),
        (0, ("not a core",)),
        (1, 1 << 16),
        (4, "not bytes"),
        (6, b"\x00"),
        (7, b"\x00\x00"),
    ):
        arguments: list[object] = list(good)
        arguments[position] = bad
        with pytest.raises((TypeError, ValueError, OverflowError)):
            srtp.fan_out(*arguments)
    with pytest.raises(TypeError):
        srtp.fan_out(*good[:7])
    assert core.retransmit([1, 2]) == 0


@contextmanager
def sending_to_itself() -> Iterator[tuple[socket.socket, GcmSender]]:
    """A C sender whose packets come back to its own loopback socket."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
        out.bind(("127.0.0.1", 0))
        out.setblocking(False)
        sender = native_sender(KEY, out.fileno(), out.getsockname())
        assert sender is not None
        try:
            yield out, sender
        finally:
            sender.close()


async def test_an_oversized_packet_fails_its_sink_alone() -> None:
    with sending_to_itself() as (out, sender):
        small = srtp.sink_core(**core_fields(sender, ssrc=1))
        other = srtp.sink_core(**core_fields(sender, ssrc=2))
        small.permitted = other.permitted = True
        with pytest.raises(ValueError, match="too large"):
            srtp.fan_out((small, other), 7, 0, 0, bytes(1500), 0.0, b"\x00\x00\x00", None)
        srtp.fan_out((small, other), 8, 0, 0, bytes(100), 0.0, b"\x00\x00\x00", None)
        assert (small.packets_sent, other.packets_sent) == (1, 1)
        assert len(out.recv(2048)) == len(out.recv(2048)) == 12 + 100 + 16


async def test_a_c_sink_forwards_and_resends_only_while_the_court_permits_the_pair() -> None:
    with sending_to_itself() as (out, sender):
        core = srtp.sink_core(**core_fields(sender))
        assert core.permitted is False  # a new sink forwards nothing until it is permitted

        def packet(seq: int) -> None:
            srtp.fan_out((core,), seq, 0, 0, bytes(100), 0.0, b"\x00\x00\x00", None)

        packet(1)
        assert (core.packets_sent, core.packets_withheld) == (0, 1)
        core.permitted = True
        packet(2)
        assert len(out.recv(2048)) == 12 + 100 + 16
        assert core.retransmit([2]) == 1 and out.recv(2048)
        core.permitted = False  # revoked: the very next packet stops, and so do resends
        packet(3)
        assert (core.packets_sent, core.packets_withheld) == (1, 2)
        assert core.retransmit([2]) == 0
        with pytest.raises(BlockingIOError):
            out.recv(2048)
        with pytest.raises(TypeError):
            core.permitted = 1  # type: ignore[assignment]
