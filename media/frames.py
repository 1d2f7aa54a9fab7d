"""Whole encoded frames out of forwarded RTP, for the recorder: depacketized, never decoded.

VP8 (RFC 7741): the payload descriptor is stripped and the packets of one picture (one RTP
timestamp, from the start of partition 0 to the marker bit, with no sequence gap) are joined.
A picture with a missing packet is dropped, and so is every picture after it until the next
keyframe (a delta frame after a gap would not decode); `keyframe_wanted` tells the owner to
ask the publisher for one. Opus: one packet is one frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from media.rtp import ParsedRtp

MAX_PENDING_PICTURES = 8
MAX_PICTURE_PACKETS = 512
_VP8_START_CODE = b"\x9d\x01\x2a"


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One encoded frame, as the publisher's encoder produced it."""

    data: bytes
    timestamp: int
    """The RTP timestamp, unwrapped so that it only grows (64-bit)."""
    keyframe: bool
    arrival: float
    """When its last packet arrived (the assembler's clock, `time.monotonic` by default)."""


def vp8_descriptor(payload: bytes) -> tuple[int, bool]:
    """(length of the RFC 7741 payload descriptor, whether this packet starts a picture).
    Raise ValueError if the descriptor is cut short."""
    if not payload:
        raise ValueError("empty VP8 payload")
    first = payload[0]
    pos = 1
    if first & 0x80:
        if len(payload) < 2:
            raise ValueError("VP8 descriptor extension cut short")
        ext = payload[1]
        pos = 2
        if ext & 0x80:
            if len(payload) <= pos:
                raise ValueError("VP8 picture id cut short")
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:
            pos += 1
        if ext & 0x30:
            pos += 1
    if pos > len(payload):
        raise ValueError("VP8 descriptor longer than the payload")
    return pos, bool(first & 0x10) and first & 0x0F == 0


def vp8_dimensions(frame: bytes) -> tuple[int, int] | None:
    """(width, height) from a VP8 keyframe's header, or None if `frame` is not a keyframe."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != _VP8_START_CODE:
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None


class TimestampUnwrapper:
    """RTP's 32-bit timestamps, made monotonic across wrap-around."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: int | None = None

    def __call__(self, timestamp: int) -> int:
        if self._last is None:
            self._last = timestamp
            return timestamp
        delta = (timestamp - self._last) & 0xFFFFFFFF
        if delta >= 0x80000000:
            delta -= 1 << 32
        self._last += delta
        return self._last


@dataclass(slots=True)
class _Picture:
    packets: dict[int, tuple[bytes, bool]] = field(default_factory=dict)
    start: int | None = None
    end: int | None = None


class FrameAssembler:
    """Turns one track's packets (duplicates already dropped) into `EncodedFrame`s."""

    def __init__(self, kind: str, clock: Callable[[], float] = time.monotonic) -> None:
        if kind not in ("audio", "video"):
            raise ValueError(f"no frame assembly for {kind!r}")
        self.kind = kind
        self._clock = clock
        self._unwrap = TimestampUnwrapper()
        self._pending: dict[int, _Picture] = {}
        self._last_emitted: int | None = None
        self.keyframe_wanted = kind == "video"
        """True until a keyframe is emitted: the owner should ask the publisher for one."""
        self.frames = 0
        self.pictures_lost = 0
        self.packets_malformed = 0

    def push(self, packet: ParsedRtp) -> list[EncodedFrame]:
        timestamp = self._unwrap(packet.timestamp)
        if self.kind == "audio":
            self.frames += 1
            return [EncodedFrame(packet.payload, timestamp, True, self._clock())]
        if self._last_emitted is not None and timestamp <= self._last_emitted:
            return []  # a late packet of a picture already written or given up
        payload = packet.payload
        try:
            skip, starts = vp8_descriptor(payload)
        except ValueError:
            self.packets_malformed += 1
            return []
        picture = self._pending.get(timestamp)
        if picture is None:
            picture = self._pending[timestamp] = _Picture()
        if len(picture.packets) >= MAX_PICTURE_PACKETS:
            return []
        seq = packet.sequence_number
        picture.packets[seq] = (payload[skip:], starts)
        if starts:
            picture.start = seq
        if packet.marker:
            picture.end = seq
        return self._complete(timestamp, picture)

    def _complete(self, timestamp: int, picture: _Picture) -> list[EncodedFrame]:
        if picture.start is None or picture.end is None:
            self._evict_overflow()
            return []
        count = ((picture.end - picture.start) & 0xFFFF) + 1
        seqs = [(picture.start + i) & 0xFFFF for i in range(count)]
        if count > MAX_PICTURE_PACKETS or any(s not in picture.packets for s in seqs):
            self._evict_overflow()
            return []
        data = b"".join(picture.packets[s][0] for s in seqs)
        self._give_up_before(timestamp)
        del self._pending[timestamp]
        self._last_emitted = timestamp
        keyframe = bool(data) and data[0] & 0x01 == 0
        if keyframe:
            self.keyframe_wanted = False
        elif self.keyframe_wanted:
            return []  # a delta frame after a gap would not decode
        self.frames += 1
        return [EncodedFrame(data, timestamp, keyframe, self._clock())]

    def _give_up_before(self, timestamp: int) -> None:
        for older in [t for t in self._pending if t < timestamp]:
            del self._pending[older]
            self._lose()

    def _evict_overflow(self) -> None:
        while len(self._pending) > MAX_PENDING_PICTURES:
            oldest = min(self._pending)
            del self._pending[oldest]
            self._last_emitted = max(self._last_emitted or oldest, oldest)
            self._lose()

    def _lose(self) -> None:
        self.pictures_lost += 1
        self.keyframe_wanted = True
