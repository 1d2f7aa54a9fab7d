"""One published track being recorded: its packets become frames (no decoding), its frames
go to the current segment, and a new segment starts every `segment_seconds` (on a keyframe
for video, so each segment plays on its own)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from media.forwarder import PublishedTrack
from media.frames import EncodedFrame, FrameAssembler
from media.ratelimit import RateLimitedLog
from media.rtp import ParsedRtp
from recording.manifest import ClockPoint, TrackEntry
from recording.segment import SegmentSummary, SegmentWriter

log = logging.getLogger(__name__)
_failures = RateLimitedLog(log, interval=10.0)

SegmentOpener = Callable[["TrackRecorder", int], SegmentWriter]
SegmentClosed = Callable[["TrackRecorder", int, SegmentSummary], None]


class TrackRecorder:
    def __init__(
        self,
        *,
        track: PublishedTrack,
        entry: TrackEntry,
        origin: float,
        segment_seconds: float,
        open_segment: SegmentOpener,
        segment_closed: SegmentClosed,
        may_write: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.track = track
        self.entry = entry
        self._origin = origin
        """The recording's time zero, on `clock`."""
        self._segment_ms = int(segment_seconds * 1000)
        self._open_segment = open_segment
        self._segment_closed = segment_closed
        self._clock = clock
        self._may_write = may_write
        """False once this node no longer holds the hearing: packets are then not written."""
        self._assembler = FrameAssembler(track.kind, clock)
        self._segment: SegmentWriter | None = None
        self._index = 0
        self._rtp_base: int | None = None
        self._pts_base = 0
        self.clock_points: list[ClockPoint] = []
        self.paused = False
        self.closed = False
        self.failures = 0
        track.add_tap(self.on_packet)

    def on_packet(self, packet: ParsedRtp) -> None:
        if self.paused or self.closed or not self._may_write():
            return
        for frame in self._assembler.push(packet):
            self._write(frame)
        if self._assembler.keyframe_wanted:
            self.track.request_keyframe()

    def pts_of(self, frame: EncodedFrame) -> int:
        """Milliseconds on the recording's time line, from the RTP clock (the first frame is
        placed by its arrival; later ones keep the publisher's own spacing)."""
        if self._rtp_base is None:
            self._rtp_base = frame.timestamp
            self._pts_base = max(0, int((frame.arrival - self._origin) * 1000))
        return self._pts_base + (frame.timestamp - self._rtp_base) * 1000 // self.entry.clock_rate

    def _write(self, frame: EncodedFrame) -> None:
        pts = self.pts_of(frame)
        segment = self._segment
        first = None if segment is None else segment.first_pts_ms
        if first is not None and pts - first >= self._segment_ms:
            if self.track.kind == "audio" or frame.keyframe:
                self._close_segment()
                segment = None
            else:
                self.track.request_keyframe()  # the next segment starts on a keyframe
        if segment is None:
            if self.track.kind == "video" and not frame.keyframe:
                self.track.request_keyframe()
                return
            segment = self._segment = self._open_segment(self, self._index)
            self._note_clock(frame, pts)
        try:
            segment.add(frame, pts)
        except Exception:
            # a frame the muxer refuses must not wedge the track: seal what is there (it
            # verifies) and start a new segment at the next keyframe
            _failures.exception("recording a frame of %s failed", self.entry.id)
            self.failures += 1
            self._close_segment()
            self.track.request_keyframe()

    def _note_clock(self, frame: EncodedFrame, pts: int) -> None:
        report = self.track.sender_reports[-1] if self.track.sender_reports else None
        self.clock_points.append(
            ClockPoint(
                track=self.entry.id,
                pts_ms=pts,
                rtp_timestamp=frame.timestamp & 0xFFFFFFFF,
                server_time_ms=int(time.time() * 1000),
                ntp_timestamp=None if report is None else report.ntp_timestamp,
                ntp_rtp_timestamp=None if report is None else report.rtp_timestamp,
            )
        )

    def flush_due(self) -> None:
        if self._segment is not None and self._may_write():
            self._segment.flush_due()

    def _close_segment(self) -> None:
        segment, self._segment = self._segment, None
        if segment is not None:
            index, self._index = self._index, self._index + 1
            self._segment_closed(self, index, segment.close())

    def pause(self) -> None:
        """Seal the current segment; frames are ignored until `resume`."""
        self.paused = True
        self._close_segment()

    def resume(self) -> None:
        self.paused = False
        self.track.request_keyframe()

    def close(self) -> None:
        """Seal the current segment and stop listening. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self.track.remove_tap(self.on_packet)
        self._close_segment()

    def abandon(self) -> None:
        """Stop listening and leave the current segment as it is on disk (its last chunk
        unsealed): this node may write no more of it. Idempotent."""
        if not self.closed:
            self.closed = True
            self.track.remove_tap(self.on_packet)
        segment, self._segment = self._segment, None
        if segment is not None:
            segment.abandon()

    @property
    def frames_lost(self) -> int:
        return self._assembler.pictures_lost
