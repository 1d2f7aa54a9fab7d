"""Masked variants: one server-side track per (original track, mask), whatever the number of
viewers who receive it.

A variant taps its original (after duplicates and probes are dropped), joins VP8 packets
into frames (`media/frames.py`, as the livestream does), and hands frames through a bounded
queue to a thread of its own, which decodes them (PyAV), masks them
(`media/masking_transforms.py`), encodes them again with aiortc's own encoders (VP8, Opus)
and packetizes them. The packets come back to the event loop and enter the variant's
`PublishedTrack` as if a publisher had sent them: the forwarder fans them out to the
masked viewers' sinks like any other track. Nothing of the original's payload is ever
copied into a variant's packet: every packet leaves the encoder.

A variant is started before any viewer is switched to it (the session asks for it while it
computes who receives what), and a masked viewer is never given the original: the gap until
the variant's first keyframe is a frozen or empty tile, never the witness's face. A variant
whose original ends ends with it; `MaskingHub.retain` closes the ones nobody receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import queue
import random
import threading
from fractions import Fraction
from typing import Any, Final

import av
import numpy as np
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder

from media.forwarder import PublishedTrack
from media.frames import EncodedFrame, FrameAssembler
from media.masking_transforms import MaskSpec, Screen, VoiceShifter
from media.rtp import RTP_HEADER, ParsedRtp

log = logging.getLogger(__name__)
MAX_QUEUED: Final = 60
"""Frames waiting for a variant's thread; past it frames are dropped (video until the next
keyframe, which is asked for)."""
MASKED_SUFFIX: Final = "~masked"
_VIDEO_TIME_BASE: Final = Fraction(1, 90_000)
_MASKABLE: Final = {"video/vp8": "video", "audio/opus": "audio"}
_STOP: Final = object()
_numbers = itertools.count(1)


def maskable(track: PublishedTrack) -> bool:
    return _MASKABLE.get(track.mime_type.lower()) == track.kind


class MaskedVariant:
    """The masked form of one track. `start` on the event loop; `close` is idempotent."""

    def __init__(self, original: PublishedTrack, spec: MaskSpec) -> None:
        if not maskable(original):
            raise ValueError(f"no masked form for {original.mime_type}")
        self.original = original
        self.spec = spec
        self._force_keyframe = True
        self.track = PublishedTrack(
            track_id=f"{original.id}{MASKED_SUFFIX}{next(_numbers)}",
            source=original.source,
            kind=original.kind,
            mime_type=original.mime_type,
            clock_rate=original.clock_rate,
            payload_type=original.payload_type,
            ssrc=random.randrange(1, 1 << 32),
            extension_ids={},
            request_keyframe=self._keyframe_requested,
            label=original.label,
        )
        self.track.form = "masked"
        self._assembler = FrameAssembler(original.kind)
        self._resync = False
        self._queue: queue.Queue[Any] = queue.Queue(MAX_QUEUED)
        self._thread = threading.Thread(target=self._run, name=f"mask-{original.id}", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._seq = random.randrange(0, 0x8000)
        self._picture_id = random.randrange(0, 1 << 15)
        self.frames_in = 0
        self.frames_out = 0
        self.dropped = 0
        self.errors = 0
        self.closed = False

    async def _keyframe_requested(self, _ssrc: int) -> None:
        self._force_keyframe = True

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread.start()
        self.original.add_tap(self._on_packet)
        self.original.request_keyframe()

    # -- the event loop's side ---------------------------------------------------------

    def _on_packet(self, packet: ParsedRtp) -> None:
        if self.closed:
            return
        for frame in self._assembler.push(packet):
            if self._resync and not frame.keyframe:
                continue
            try:
                self._queue.put_nowait(frame)
                self._resync = False
            except queue.Full:
                self.dropped += 1
                self._resync = self.original.kind == "video"
        if self.original.kind == "video" and (self._assembler.keyframe_wanted or self._resync):
            self.original.request_keyframe()

    def _emit(self, payloads: list[bytes], timestamp: int) -> None:
        if self.closed or self.track.ended:
            return
        ssrc = self.track.ssrc or 0
        last = len(payloads) - 1
        for i, payload in enumerate(payloads):
            marker = 1 if (self.track.kind == "video" and i == last) else 0
            self._seq = (self._seq + 1) & 0xFFFF
            header = RTP_HEADER.pack(
                0x80, (marker << 7) | self.track.payload_type, self._seq, timestamp, ssrc
            )
            data = header + payload
            packet = ParsedRtp(
                data,
                marker,
                self.track.payload_type,
                self._seq,
                timestamp,
                ssrc,
                {},
                len(header),
                len(data),
            )
            self.track.handle(packet)
        self.frames_out += 1

    # -- the thread's side ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            if self.original.kind == "video":
                self._run_video()
            else:
                self._run_audio()
        except Exception:
            log.exception(
                "the masked variant of %s failed; it sends nothing more", self.original.id
            )
            self.errors += 1

    def _next(self) -> EncodedFrame | None:
        item = self._queue.get()
        return None if item is _STOP else item

    def _run_video(self) -> None:
        decoder = av.CodecContext.create("vp8", "r")
        encoder = Vp8Encoder()
        screen = Screen(self.spec.screening)
        while (frame := self._next()) is not None:
            self.frames_in += 1
            try:
                pictures = decoder.decode(av.Packet(frame.data))
            except (av.FFmpegError, ValueError):
                self.errors += 1
                continue
            for picture in pictures:
                masked = screen.apply(picture)
                masked.pts = frame.timestamp
                masked.time_base = _VIDEO_TIME_BASE
                force, self._force_keyframe = self._force_keyframe, False
                payloads, _ = encoder.encode(masked, force_keyframe=force)
                self._post(payloads, frame.timestamp & 0xFFFFFFFF)

    def _run_audio(self) -> None:
        decoder = av.CodecContext.create("libopus", "r")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=48_000)
        shifter = VoiceShifter(self.spec.pitch, self.spec.formant)
        encoder = OpusEncoder()
        pts = 0
        while (frame := self._next()) is not None:
            self.frames_in += 1
            try:
                decoded = [
                    r for f in decoder.decode(av.Packet(frame.data)) for r in resampler.resample(f)
                ]
            except (av.FFmpegError, ValueError):
                self.errors += 1
                continue
            if not decoded:
                continue
            samples = np.concatenate([f.to_ndarray().reshape(-1) for f in decoded])
            shifted = shifter.process(samples.astype(np.float32))
            pcm = (np.clip(shifted, -1.0, 1.0) * 32767).astype(np.int16).reshape(1, -1)
            out = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
            out.sample_rate, out.pts, out.time_base = 48_000, pts, Fraction(1, 48_000)
            pts += out.samples
            payloads, _ = encoder.encode(out)
            if payloads:
                self._post(payloads[:1], frame.timestamp & 0xFFFFFFFF)

    def _post(self, payloads: list[bytes], timestamp: int) -> None:
        loop = self._loop
        if payloads and loop is not None and not loop.is_closed() and not self.closed:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._emit, payloads, timestamp)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.original.remove_tap(self._on_packet)
        self.track.end()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_STOP)
        if not self._queue.empty():  # full: make room for the stop
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()
            self._queue.put_nowait(_STOP)


class MaskingHub:
    """The masked variants of one hearing, made once per (track, mask)."""

    def __init__(self) -> None:
        self._variants: dict[tuple[str, MaskSpec], MaskedVariant] = {}
        self.enabled = True
        """Off, no variant is made and masked viewers receive nothing (tests switch it off)."""
        self._closed = False

    def variant(self, original: PublishedTrack, spec: MaskSpec) -> PublishedTrack | None:
        """The running masked variant of `original` (started on first ask); None if none can
        be made (the viewer then receives nothing of it: fail closed)."""
        if self._closed or not self.enabled or original.ended or not maskable(original):
            return None
        key = (original.id, spec)
        current = self._variants.get(key)
        if current is not None and not current.closed and not current.track.ended:
            return current.track
        try:
            made = MaskedVariant(original, spec)
            made.start()
        except Exception:
            log.exception("no masked variant of %s could be made", original.id)
            return None
        self._variants[key] = made
        return made.track

    def variants(self) -> tuple[MaskedVariant, ...]:
        return tuple(self._variants.values())

    def retain(self, track_ids: frozenset[str]) -> None:
        """Close every variant whose track is not in `track_ids` (nobody receives it)."""
        for key, made in list(self._variants.items()):
            if made.track.id not in track_ids or made.original.ended:
                made.close()
                del self._variants[key]

    def close(self) -> None:
        self._closed = True
        self.retain(frozenset())
