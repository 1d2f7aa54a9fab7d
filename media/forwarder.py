"""The forwarding path: one published track fans its RTP packets out to its sinks.

Per packet and per sink the work is: rewrite SSRC, payload type, sequence number and timestamp,
rebuild the (small) header-extension block, and hand header and payload to the sink's way out
(`RtpOut`: SRTP protect, then the subscriber's socket). All of it is synchronous; nothing
is decoded. A new sink waits for a keyframe; feedback from sinks (PLI, FIR) reaches the
publisher throttled, and NACKs are answered from each sink's packet cache.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from media.ratelimit import RateLimitedLog
from media.rtp import (
    RTP_HEADER,
    URI_AUDIO_LEVEL,
    ParsedRtp,
    abs_send_time,
    build_extension_block,
    vp8_is_keyframe,
)
from media.srtp import fan_out, next_index, sink_core

if TYPE_CHECKING:
    from media._srtp_native import GcmSender, SinkCore

log = logging.getLogger(__name__)
_sink_errors = RateLimitedLog(log, interval=10.0)

NACK_CACHE = 512
LOUDNESS_SMOOTHING = 0.1
"""Weight of each packet's audio level (about 0.2 s of 20 ms packets to follow a change)."""
KEYFRAME_INTERVAL = 1.0
SEEN_WINDOW = 1024


class RtpOut(Protocol):
    """The way out to one subscriber: SRTP protect, then its ICE socket. Both methods raise
    ConnectionError when the subscriber's transport is not up."""

    @property
    def native_sender(self) -> GcmSender | None:
        """The C sender of the subscriber's leg, once it is up and has one: the sink then
        hands its numbering to a `SinkCore`, and `fan_out` forwards to it (in C)."""

    def send(self, header: bytes, payload: bytes, ssrc: int, index: int) -> bytes:
        """Protect and send the RTP packet `header` + `payload` (packet index `index` on
        `ssrc`); return the protected packet as sent."""

    def resend(self, packet: bytes) -> None:
        """Send a protected packet again, as it is (a retransmission)."""


KeyframeRequester = Callable[[int], Coroutine[Any, Any, None]]
PacketTap = Callable[[ParsedRtp], None]
"""Sees every packet of a track that is forwarded (the recorder); must not raise."""


class SenderReport(NamedTuple):
    """What an RTCP sender report says: this RTP timestamp was sampled at this NTP time."""

    ntp_timestamp: int
    rtp_timestamp: int
    received_at: float
    """The server's wall clock (`time.time()`) when the report arrived."""


SENDER_REPORTS_KEPT = 8


def _seq_newer(a: int, b: int) -> bool:
    """True if sequence number a comes after b (mod 2^16)."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000


class ReceptionStats:
    """What an RTCP receiver report needs about one incoming stream (RFC 3550 A.3)."""

    __slots__ = ("base", "cycles", "expected_prior", "highest", "received", "received_prior")

    def __init__(self) -> None:
        self.base: int | None = None
        self.highest = 0
        self.cycles = 0
        self.received = 0
        self.expected_prior = 0
        self.received_prior = 0

    def add(self, seq: int) -> None:
        self.received += 1
        if self.base is None:
            self.base = self.highest = seq
        elif _seq_newer(seq, self.highest):
            if seq < self.highest:
                self.cycles += 1 << 16
            self.highest = seq

    @property
    def extended_highest(self) -> int:
        return self.cycles | self.highest

    def interval_report(self) -> tuple[int, int]:
        """(fraction lost in 1/256, cumulative packets lost) since the previous call."""
        if self.base is None:
            return 0, 0
        expected = self.extended_highest - self.base + 1
        lost = max(0, expected - self.received)
        expected_interval = expected - self.expected_prior
        received_interval = self.received - self.received_prior
        self.expected_prior, self.received_prior = expected, self.received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        return fraction, min(lost, 0x7FFFFF)


class TrackSink:
    """One subscriber's copy of one published track: its own SSRC, numbering and cache.

    Once its leg is up with a C sender (`RtpOut.native_sender`), the sink hands its numbering,
    cache and counters to a `SinkCore` and the track forwards to it in C (`fan_out`); what
    the sink reports is then read from there. Reconfigured (another payload type, extension
    ids or way out), it takes them back and forwards in Python until handed over again.
    """

    def __init__(self, out: RtpOut, ssrc: int, kind: str, clock_rate: int) -> None:
        self._out = out
        self.ssrc = ssrc
        self.kind = kind
        self.clock_rate = clock_rate
        self._payload_type = 0
        self.cname = ""
        self._abs_send_time_id: int | None = None
        self._audio_level_id: int | None = None
        self.started = False
        self.waiting_keyframe = kind == "video"
        self._seq_offset = 0
        self._ts_offset = 0
        self._next_seq = random.randrange(0, 0x8000)
        self._ts_base = random.randrange(0, 1 << 32)
        self._begun = False
        self._highest = -1
        """The highest packet index (rollover counter and sequence number) sent so far."""
        self._history: list[bytes | None] = [None] * NACK_CACHE
        """The protected packets sent, by sequence number, to answer NACKs as they were."""
        self._packets_sent = 0
        self._packets_refused = 0
        self._octets_sent = 0
        self._last_timestamp = 0
        self._last_sent_at = 0.0
        self.core: SinkCore | None = None
        """The C sink forwarding for this one, once handed over."""
        self.regroup: Callable[[], None] | None = None
        """Set by the track: called when the sink takes its numbering back from C."""
        self._permitted = False
        """Whether the court allows this pair now (the leg's allow-set): checked on every
        packet and every resend. False until the leg says otherwise: fail closed."""
        self._packets_withheld = 0
        self.closed = False
        self.began_at: float | None = None
        """When the first packet was forwarded here (`time.monotonic()`; media/counters.py)."""
        self.remb: int | None = None
        """The subscriber's receive estimate for this stream (its REMB, shared out over the
        streams it names), in bit/s; None until one arrives."""

    # -- what reconfigures the sink ------------------------------------------------------------

    @property
    def out(self) -> RtpOut:
        return self._out

    @out.setter
    def out(self, value: RtpOut) -> None:
        if value is not self._out:
            self._take_back()
            self._out = value

    @property
    def payload_type(self) -> int:
        return self._payload_type

    @payload_type.setter
    def payload_type(self, value: int) -> None:
        if value != self._payload_type:
            self._take_back()
            self._payload_type = value

    @property
    def abs_send_time_id(self) -> int | None:
        return self._abs_send_time_id

    @abs_send_time_id.setter
    def abs_send_time_id(self, value: int | None) -> None:
        if value != self._abs_send_time_id:
            self._take_back()
            self._abs_send_time_id = value

    @property
    def audio_level_id(self) -> int | None:
        return self._audio_level_id

    @audio_level_id.setter
    def audio_level_id(self, value: int | None) -> None:
        if value != self._audio_level_id:
            self._take_back()
            self._audio_level_id = value

    @property
    def extension_key(self) -> tuple[int | None, int | None]:
        return (self._abs_send_time_id, self._audio_level_id)

    @property
    def permitted(self) -> bool:
        return self._permitted

    @permitted.setter
    def permitted(self, value: bool) -> None:
        if value and not self._permitted and self.kind == "video" and self._begun:
            self.waiting_keyframe = True  # permitted again: start clean, on a keyframe
            self._take_back()  # (the C fan-out does not wait for keyframes)
        self._permitted = value
        if self.core is not None:
            self.core.permitted = value

    # -- what the sender reports read ----------------------------------------------------------

    @property
    def packets_withheld(self) -> int:
        """Packets not sent because the court did not allow this pair at the time."""
        core = 0 if self.core is None else self.core.packets_withheld
        return self._packets_withheld + core

    @property
    def packets_sent(self) -> int:
        return self._packets_sent if self.core is None else self.core.packets_sent

    @property
    def packets_refused(self) -> int:
        """Late packets not sent because their index was already used (or too old to tell)."""
        return self._packets_refused if self.core is None else self.core.packets_refused

    @property
    def octets_sent(self) -> int:
        return self._octets_sent if self.core is None else self.core.octets_sent

    @property
    def last_timestamp(self) -> int:
        return self._last_timestamp if self.core is None else self.core.last_timestamp

    @property
    def last_sent_at(self) -> float:
        return self._last_sent_at if self.core is None else self.core.last_sent_at

    @property
    def highest(self) -> int:
        """The highest packet index sent so far (-1 before the first)."""
        return self._highest if self.core is None else self.core.highest

    # -- forwarding ----------------------------------------------------------------------------

    def follow(self, previous: TrackSink) -> None:
        """Carry on `previous`'s stream on the same SSRC (a reused section), before the first
        packet: the sequence numbers and the packet index go on from where it stopped, so no
        index is ever protected twice under the leg's key (it is the AES-GCM nonce), and the
        timestamps from where its clock would be now."""
        highest = previous.highest
        if highest >= 0:
            self._highest = highest
            self._next_seq = (highest + 1) & 0xFFFF
        if previous.packets_sent:
            elapsed = max(0.0, time.time() - previous.last_sent_at)
            ticks = int(elapsed * self.clock_rate) + 1
            self._ts_base = (previous.last_timestamp + ticks) & 0xFFFFFFFF

    def begin(self, seq: int, timestamp: int) -> None:
        self._seq_offset = (self._next_seq - seq) & 0xFFFF
        self._ts_offset = (self._ts_base - timestamp) & 0xFFFFFFFF
        self._begun = True
        if self.began_at is None:
            self.began_at = time.monotonic()

    def forward(
        self, packet: ParsedRtp, seq: int, block: bytes, payload: bytes, now: float
    ) -> None:
        """Forward in Python (media/_srtp_native_fanout.c forward_one does the same in C)."""
        if not self._permitted:
            self._packets_withheld += 1
            return
        if not self._begun:
            self.begin(seq, packet.timestamp)
        out_seq = (seq + self._seq_offset) & 0xFFFF
        out_ts = (packet.timestamp + self._ts_offset) & 0xFFFFFFFF
        highest = self._highest
        if (out_seq - highest) & 0xFFFF == 1 and highest >= 0:
            index = self._highest = highest + 1  # the next in order: the common case
        else:
            index = next_index(highest, out_seq)
            if index > highest:
                self._highest = index
            elif highest - index >= NACK_CACHE or self._sent(out_seq):
                # Late, and either too late to tell or under an index already sent: never
                # protect two payloads under one index (it is the AES-GCM nonce).
                self._packets_refused += 1
                return
        header = RTP_HEADER.pack(
            0x90 if block else 0x80,
            packet.marker << 7 | self._payload_type,
            out_seq,
            out_ts,
            self.ssrc,
        )
        self._history[out_seq % NACK_CACHE] = self._out.send(
            header + block, payload, self.ssrc, index
        )
        self._packets_sent += 1
        self._octets_sent += len(payload)
        self._last_timestamp = out_ts
        self._last_sent_at = now
        sender = self._out.native_sender
        if sender is not None:
            self._hand_over(sender)

    def _hand_over(self, sender: GcmSender) -> None:
        """Give the numbering, cache and counters to a C sink on the leg's C sender."""
        self.core = sink_core(
            sender=sender,
            ssrc=self.ssrc,
            payload_type=self._payload_type,
            abs_send_time_id=self._abs_send_time_id or 0,
            audio_level_id=self._audio_level_id or 0,
            seq_offset=self._seq_offset,
            ts_offset=self._ts_offset,
            highest=self._highest,
            history=self._history,
            packets_sent=self._packets_sent,
            packets_refused=self._packets_refused,
            octets_sent=self._octets_sent,
            last_timestamp=self._last_timestamp,
            last_sent_at=self._last_sent_at,
        )
        self.core.permitted = self._permitted

    def _take_back(self) -> None:
        """Take the numbering back from the C sink (before a reconfiguration)."""
        core = self.core
        if core is None:
            return
        core.retire()
        self.core = None
        self._highest = core.highest
        self._history = core.history()
        self._packets_sent = core.packets_sent
        self._packets_refused = core.packets_refused
        self._octets_sent = core.octets_sent
        self._last_timestamp = core.last_timestamp
        self._last_sent_at = core.last_sent_at
        self._packets_withheld += core.packets_withheld
        if self.regroup is not None:
            self.regroup()

    def _sent(self, seq: int) -> bool:
        data = self._history[seq % NACK_CACHE]
        return data is not None and int.from_bytes(data[2:4], "big") == seq

    def retransmit(self, lost: list[int]) -> int:
        """Resend cached packets a subscriber reported lost; return how many were found."""
        if self.core is not None:
            return self.core.retransmit(lost)
        if not self._permitted:
            return 0  # a revoked pair gets nothing again, not even a resend
        found = 0
        for seq in lost:
            data = self._history[seq % NACK_CACHE]
            if data is not None and int.from_bytes(data[2:4], "big") == seq:
                found += 1
                self._out.resend(data)
        return found


class PublishedTrack:
    """One track a publisher sends, and the sinks it is forwarded to."""

    def __init__(
        self,
        *,
        track_id: str,
        source: str,
        kind: str,
        mime_type: str,
        clock_rate: int,
        payload_type: int,
        ssrc: int | None,
        extension_ids: dict[str, int],
        request_keyframe: KeyframeRequester,
        label: str | None = None,
    ) -> None:
        self.id = track_id
        self.source = source
        self.kind = kind
        self.label = label or kind
        """What the track shows: `audio`, `video`, or `screen` (a video track of an exhibit)."""
        self.form = "natural"
        """`natural`, or `masked` for a server-side masked variant (`media/masking.py`)."""
        self.mime_type = mime_type
        self.clock_rate = clock_rate
        self.payload_type = payload_type
        self.ssrc = ssrc
        self._audio_level_id = extension_ids.get(URI_AUDIO_LEVEL)
        self._request_keyframe = request_keyframe
        self.sinks: tuple[TrackSink, ...] = ()
        self._cores: tuple[SinkCore, ...] = ()
        """The sinks forwarded to in C."""
        self._python_sinks: tuple[TrackSink, ...] = ()
        """The sinks forwarded to in Python (not handed over, or no C sender)."""
        self.taps: tuple[PacketTap, ...] = ()
        self.stats = ReceptionStats()
        self.sender_reports: deque[SenderReport] = deque(maxlen=SENDER_REPORTS_KEPT)
        self._seq_shift = 0
        self._seen: list[int] = [-1] * SEEN_WINDOW
        self._last_keyframe_request = -KEYFRAME_INTERVAL
        self._deferred_request: asyncio.TimerHandle | None = None
        self._pending_requests: set[asyncio.Task[None]] = set()
        self.packets_received = 0
        self.packets_dropped = 0
        self.loudness = 0.0
        """RFC 6464 audio level, smoothed: 0 (silence, -127 dBov) to 127 (0 dBov). Read from
        the header extension the publisher sends; nothing is decoded."""
        self.last_packet_at: float | None = None
        """When media (not a probe or a duplicate) last arrived, by `time.monotonic()`."""
        self.ended = False

    @property
    def audio_level_id(self) -> int | None:
        """The id of the RFC 6464 audio-level header extension on this track, if negotiated."""
        return self._audio_level_id

    def add_sink(self, sink: TrackSink) -> None:
        if self.ended or sink in self.sinks:
            return
        self.sinks = (*self.sinks, sink)
        sink.regroup = self._regroup
        self._regroup()
        if sink.waiting_keyframe:
            self.request_keyframe()

    def remove_sink(self, sink: TrackSink) -> None:
        self.sinks = tuple(s for s in self.sinks if s is not sink)
        self._regroup()

    def _regroup(self) -> None:
        self._cores = tuple(s.core for s in self.sinks if s.core is not None)
        self._python_sinks = tuple(s for s in self.sinks if s.core is None)

    def weakest_remb(self) -> int | None:
        """The lowest receive estimate of any subscriber of this track (None if none sent)."""
        estimates = [s.remb for s in self.sinks if s.remb is not None]
        return min(estimates) if estimates else None

    def add_tap(self, tap: PacketTap) -> None:
        if not self.ended and tap not in self.taps:
            self.taps = (*self.taps, tap)

    def remove_tap(self, tap: PacketTap) -> None:
        self.taps = tuple(t for t in self.taps if t is not tap)

    def handle(self, packet: ParsedRtp) -> None:
        seq = packet.sequence_number
        self.packets_received += 1
        self.stats.add(seq)
        slot = seq % SEEN_WINDOW
        if self._seen[slot] == seq:
            self.packets_dropped += 1  # a duplicate: RTX or a repeated packet
            return
        self._seen[slot] = seq
        if packet.payload_end == packet.payload_start:
            # padding-only bandwidth probe: drop it and close the gap it leaves
            self._seq_shift += 1
            self.packets_dropped += 1
            return
        self.last_packet_at = time.monotonic()
        if self._audio_level_id is not None:
            level = packet.extensions.get(self._audio_level_id)
            if level is not None and len(level) == 1:
                self.loudness += LOUDNESS_SMOOTHING * ((127 - (level[0] & 0x7F)) - self.loudness)
        for tap in self.taps:
            try:
                tap(packet)
            except Exception:
                _sink_errors.exception("a tap of track %s failed", self.id)
        if not self.sinks:
            return
        out_seq = (seq - self._seq_shift) & 0xFFFF
        payload = packet.data[packet.payload_start : packet.payload_end]
        now = time.time()
        if self._cores:
            level = None
            if self._audio_level_id is not None:
                level = packet.extensions.get(self._audio_level_id)
                if level is not None and len(level) != 1:
                    level = None
            try:
                fan_out(
                    self._cores,
                    out_seq,
                    packet.timestamp,
                    packet.marker,
                    payload,
                    now,
                    abs_send_time(now),
                    level,
                )
            except Exception:
                _sink_errors.exception("forwarding to a sink of track %s failed", self.id)
        if self._python_sinks:
            self._forward_in_python(packet, out_seq, payload, now)

    def _forward_in_python(
        self, packet: ParsedRtp, out_seq: int, payload: bytes, now: float
    ) -> None:
        keyframe: bool | None = None
        blocks: dict[tuple[int | None, int | None], bytes] = {}
        handed_over = False
        for sink in self._python_sinks:
            if sink.waiting_keyframe:
                if keyframe is None:
                    keyframe = vp8_is_keyframe(payload)
                if not keyframe:
                    continue
                sink.waiting_keyframe = False
            key = sink.extension_key
            block = blocks.get(key)
            if block is None:
                block = blocks[key] = self._extension_block(packet, sink, now)
            try:
                sink.forward(packet, out_seq, block, payload, now)
            except ConnectionError:
                pass  # the subscriber's transport is closing; its owner removes the sink
            except Exception:
                _sink_errors.exception("forwarding to a sink of track %s failed", self.id)
            handed_over = handed_over or sink.core is not None
        if handed_over:
            self._regroup()

    def _extension_block(self, packet: ParsedRtp, sink: TrackSink, now: float) -> bytes:
        elements: list[tuple[int, bytes]] = []
        if sink.abs_send_time_id is not None:
            elements.append((sink.abs_send_time_id, abs_send_time(now)))
        if sink.audio_level_id is not None and self._audio_level_id is not None:
            level = packet.extensions.get(self._audio_level_id)
            if level is not None and len(level) == 1:
                elements.append((sink.audio_level_id, level))
        return build_extension_block(elements)

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, at most about once per second."""
        if self.kind != "video" or self.ended or self.ssrc is None:
            return
        now = time.monotonic()
        wait = self._last_keyframe_request + KEYFRAME_INTERVAL - now
        if wait > 0:
            if self._deferred_request is None:
                loop = asyncio.get_running_loop()
                self._deferred_request = loop.call_later(wait, self._send_deferred)
            return
        self._last_keyframe_request = now
        task = asyncio.get_running_loop().create_task(self._request_keyframe(self.ssrc))
        self._pending_requests.add(task)
        task.add_done_callback(self._pending_requests.discard)

    def _send_deferred(self) -> None:
        self._deferred_request = None
        self.request_keyframe()

    def end(self) -> None:
        """The publisher is gone: stop forwarding and cancel pending keyframe requests."""
        self.ended = True
        self.sinks = ()
        self._regroup()
        self.taps = ()
        if self._deferred_request is not None:
            self._deferred_request.cancel()
            self._deferred_request = None
        for task in self._pending_requests:
            task.cancel()
