"""Export: decrypt a recording's segments in memory and remux them, without decoding, into a
playable file (one track as WebM, or every track together as Matroska) for an authorised
person. Segments cut short by a crash give up what their whole chunks hold."""

from __future__ import annotations

import heapq
import io
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import av

from recording.errors import RecordingInvalid, RecordingNotFound
from recording.keys import RecordingKeys
from recording.layout import RecordingPaths
from recording.manifest import Manifest, TrackEntry, read_signed
from security.keyring import KeyRing
from security.sealing import open_sealed

MILLISECONDS = Fraction(1, 1000)


@dataclass(frozen=True)
class _Frame:
    pts: int
    order: int
    data: bytes
    keyframe: bool


@dataclass
class _Tally:
    frames: int = 0
    first: int | None = None
    last: int | None = None

    def add(self, pts: int) -> None:
        self.frames += 1
        self.first = pts if self.first is None else self.first
        self.last = pts


@dataclass(frozen=True)
class TrackExport:
    track: str
    codec: str
    frames: int
    first_pts_ms: int | None
    last_pts_ms: int | None


class Recording:
    """A recording opened for reading with the key ring."""

    def __init__(self, root: Path, keyring: KeyRing) -> None:
        self.paths = RecordingPaths(root)
        self.manifest: Manifest = read_signed(self.paths.manifest).manifest
        self._keys = RecordingKeys(self.paths, keyring)

    def track(self, track_id: str) -> TrackEntry:
        entry = next((t for t in self.manifest.tracks if t.id == track_id), None)
        if entry is None:
            raise RecordingNotFound("no such track in this recording")
        return entry

    def plaintext_segments(self, track_id: str) -> Iterator[bytes]:
        """Each segment of the track, decrypted in memory, in recording order."""
        listed = [s for s in self.manifest.segments if s.track == track_id]
        for entry in sorted(listed, key=lambda s: (s.first_pts_ms is None, s.first_pts_ms or 0)):
            data = self.paths.segment(entry.id).read_bytes()
            yield open_sealed(
                data, self._keys.key_for, allow_incomplete=not entry.complete
            ).plaintext

    def frames(self, track_id: str, order: int = 0) -> Iterator[_Frame]:
        last = -1
        for plaintext in self.plaintext_segments(track_id):
            for packet in _demux(plaintext):
                pts = max(int(packet.pts), last + 1)
                last = pts
                yield _Frame(pts, order, bytes(packet), bool(packet.is_keyframe))

    def dimensions(self, track_id: str) -> tuple[int, int]:
        for plaintext in self.plaintext_segments(track_id):
            with av.open(io.BytesIO(plaintext), "r") as container:
                video = container.streams.video
                if video:
                    return int(video[0].codec_context.width), int(video[0].codec_context.height)
        return 0, 0


def _demux(plaintext: bytes) -> Iterator[Any]:
    try:
        container = av.open(io.BytesIO(plaintext), "r")
    except av.FFmpegError:
        return  # a segment cut before its first cluster holds no frame
    with container:
        try:
            for packet in container.demux(container.streams[0]):
                if packet.size and packet.pts is not None:
                    yield packet
        except av.FFmpegError:
            return  # the end of a segment cut short by a crash


def _add_stream(out: Any, recording: Recording, entry: TrackEntry) -> Any:
    if entry.kind == "video":
        width, height = recording.dimensions(entry.id)
        return out.add_mux_stream(entry.codec, width=width, height=height, time_base=MILLISECONDS)
    return out.add_mux_stream(entry.codec, rate=48000, time_base=MILLISECONDS)


def export(
    root: Path, keyring: KeyRing, out: Path | BinaryIO, track_id: str | None = None
) -> list[TrackExport]:
    """Write one track (WebM) or every track (Matroska) to `out`; nothing is decoded."""
    recording = Recording(root, keyring)
    entries = [recording.track(track_id)] if track_id else list(recording.manifest.tracks)
    if not entries:
        raise RecordingInvalid("the recording holds no track")
    fmt = "webm" if track_id else "matroska"
    tallies = [_Tally() for _ in entries]
    target = str(out) if isinstance(out, Path) else out
    with av.open(target, "w", format=fmt) as container:
        streams = [_add_stream(container, recording, e) for e in entries]
        merged = heapq.merge(
            *(recording.frames(e.id, i) for i, e in enumerate(entries)),
            key=lambda f: (f.pts, f.order),
        )
        for frame in merged:
            packet = av.Packet(frame.data)
            packet.pts = packet.dts = frame.pts
            packet.time_base = MILLISECONDS
            packet.stream = streams[frame.order]
            packet.is_keyframe = frame.keyframe
            container.mux(packet)
            tallies[frame.order].add(frame.pts)
    return [
        TrackExport(e.id, e.codec, t.frames, t.first, t.last)
        for e, t in zip(entries, tallies, strict=True)
    ]
