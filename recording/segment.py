"""One segment of one track: encoded frames muxed by PyAV into WebM, straight into a sealed
file. PyAV gets a write-only sink whose bytes go to `SealedWriter`, which keeps them in memory
until it seals a chunk: no plaintext media ever reaches the disk.

The streams are made with `add_mux_stream`, so no codec context exists: nothing is decoded or
encoded. Matroska clusters are closed every `CLUSTER_MS`, so the muxer never holds more than
that; with the sealer's chunk time, a crash loses at most about a second per track.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, BinaryIO

import av

from media.frames import EncodedFrame, vp8_dimensions
from recording.errors import RecordingError
from security.sealing import DataKey, SealedWriter, SealHeader, SealSummary

log = logging.getLogger(__name__)
CLUSTER_MS = 300
MILLISECONDS = Fraction(1, 1000)
CODECS = {"video/vp8": ("vp8", "video"), "audio/opus": ("opus", "audio")}


class _SealSink:
    """The file object PyAV writes to. It cannot seek, so the muxer writes a live stream."""

    def __init__(self, sealed: SealedWriter) -> None:
        self._sealed = sealed
        self.dropping = False

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        if not self.dropping:
            self._sealed.write(chunk)
        return len(chunk)


@dataclass(frozen=True)
class SegmentSummary:
    seal: SealSummary
    frames: int
    first_pts_ms: int | None
    last_pts_ms: int | None


class SegmentWriter:
    def __init__(
        self,
        *,
        sink: BinaryIO,
        key: DataKey,
        header: SealHeader,
        mime_type: str,
        chunk_seconds: float,
        chunk_bytes: int = 65536,
        fsync: bool = False,
    ) -> None:
        if mime_type not in CODECS:
            raise RecordingError(f"cannot record {mime_type} without re-encoding")
        self._codec, self.kind = CODECS[mime_type]
        self._file = sink
        self._sealed = SealedWriter(
            sink, key, header, chunk_bytes=chunk_bytes, chunk_seconds=chunk_seconds, fsync=fsync
        )
        self._sink = _SealSink(self._sealed)
        self._container: Any = None
        self._stream: Any = None
        self.frames = 0
        self.first_pts_ms: int | None = None
        self.last_pts_ms: int | None = None
        self._summary: SegmentSummary | None = None

    def _open(self, frame: EncodedFrame) -> None:
        options = {"cluster_time_limit": str(CLUSTER_MS), "live": "1"}
        self._container = av.open(self._sink, "w", format="webm", options=options)
        if self.kind == "video":
            width, height = vp8_dimensions(frame.data) or (0, 0)
            self._stream = self._container.add_mux_stream(
                self._codec, width=width, height=height, time_base=MILLISECONDS
            )
        else:
            self._stream = self._container.add_mux_stream(
                self._codec, rate=48000, time_base=MILLISECONDS
            )

    def add(self, frame: EncodedFrame, pts_ms: int) -> None:
        if self._summary is not None:
            raise RecordingError("the segment is closed")
        if self._container is None:
            self._open(frame)
        if self.last_pts_ms is not None and pts_ms <= self.last_pts_ms:
            pts_ms = self.last_pts_ms + 1  # timestamps only grow inside a file
        packet = av.Packet(frame.data)
        packet.pts = packet.dts = pts_ms
        packet.time_base = MILLISECONDS
        packet.stream = self._stream
        packet.is_keyframe = frame.keyframe
        self._container.mux(packet)
        self.frames += 1
        if self.first_pts_ms is None:
            self.first_pts_ms = pts_ms
        self.last_pts_ms = pts_ms

    def flush_due(self) -> None:
        """Seal what is buffered if it has waited a chunk's time (called by a timer)."""
        if self._summary is None:
            self._sealed.flush_due()

    def abandon(self) -> None:
        """Close the file and write nothing more to it, not even the sealed last chunk: what
        is on disk stays as it is (a prefix that verifies). Idempotent; `close` after it
        writes nothing either."""
        if self._summary is not None:
            return
        self._sink.dropping = True
        try:
            if self._container is not None:
                self._container.close()  # its last bytes go nowhere
        except Exception:
            log.debug("closing an abandoned segment's muxer failed", exc_info=True)
        finally:
            self._file.close()
        empty = SealSummary(sha256="", chunks=0, plaintext_bytes=0, sealed_bytes=0)
        self._summary = SegmentSummary(empty, self.frames, self.first_pts_ms, self.last_pts_ms)

    def close(self) -> SegmentSummary:
        """Finish the WebM, seal the last chunk and close the file. Idempotent."""
        if self._summary is None:
            try:
                try:
                    if self._container is not None:
                        self._container.close()
                finally:
                    seal = self._sealed.close()  # what was written stays authentic
            finally:
                self._file.close()
            self._summary = SegmentSummary(seal, self.frames, self.first_pts_ms, self.last_pts_ms)
        return self._summary
