"""Export: verify the recording first (the strong form: the node's manifest key, the key ring,
the hearing's audit logs and the stored checkpoint), refuse anything but `valid`, then decrypt
its segments in memory and remux them, without decoding, into a playable file (one track as
WebM, or every track together as Matroska) for an authorised person.

With `allow_incomplete`, a recording the verifier calls `incomplete` *and* whose cut the audit
log shows (a crash) is exported too: segments cut short give up what their whole chunks hold,
and the file says `ECOURT_STATUS=incomplete` in its metadata. Every other state is refused,
whatever the flags: `invalid` (`recording_invalid`), `shredded` (`recording_shredded`),
`incomplete` without the flag or without a crash in the log (`recording_incomplete`). Nothing
that goes wrong while remuxing leaves as anything but a `RecordingError`."""

from __future__ import annotations

import hashlib
import heapq
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import av

from recording.errors import (
    RecordingError,
    RecordingIncomplete,
    RecordingInvalid,
    RecordingNotFound,
    RecordingShredded,
)
from recording.keys import RecordingKeys
from recording.layout import RecordingPaths
from recording.manifest import Manifest, TrackEntry, read_signed
from recording.verify import RecordingReport, Trust, verify_trusted
from security import SecurityError
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


@dataclass(frozen=True)
class Exported:
    """What was exported, and the verification it rests on."""

    report: RecordingReport
    tracks: list[TrackExport]

    @property
    def status(self) -> str:
        return self.report.status

    def sidecar(self) -> bytes:
        """The verification record written beside an exported file."""
        body = {
            "recording_id": self.report.recording_id,
            "status": self.status,
            "incomplete": list(self.report.incomplete),
            "crash_in_audit_log": self.report.crashed,
            "manifest_digest": self.report.manifest_digest,
            "tracks": [{"id": t.track, "codec": t.codec, "frames": t.frames} for t in self.tracks],
        }
        return json.dumps(body, indent=1, sort_keys=True).encode() + b"\n"


def refusal(report: RecordingReport, allow_incomplete: bool) -> RecordingError | None:
    """Why an export of what `report` describes is refused (None: it may go)."""
    status = report.status
    if status == "valid":
        return None
    if status == "shredded":
        return RecordingShredded("the recording's data keys were destroyed (shredded)")
    if status == "incomplete":
        if not allow_incomplete:
            why = "; ".join(report.incomplete[:3])
            return RecordingIncomplete(f"the recording is incomplete ({why}); see allow_incomplete")
        if report.crashed is not True and not report.anchored:
            return RecordingIncomplete("the recording is incomplete and the log shows no crash")
        return None
    problems = "; ".join(str(p) for p in report.problems[:5])
    more = f" (and {len(report.problems) - 5} more)" if len(report.problems) > 5 else ""
    return RecordingInvalid(f"the recording does not verify ({status}): {problems}{more}")


class Recording:
    """A recording opened for reading with the key ring."""

    def __init__(self, root: Path, keyring: KeyRing, manifest_digest: str) -> None:
        self.paths = RecordingPaths(root)
        self.manifest: Manifest = read_signed(self.paths.manifest).manifest
        if self.manifest.digest != manifest_digest:
            raise RecordingInvalid("the manifest changed after it was verified")
        self._keys = RecordingKeys(self.paths, keyring)

    @staticmethod
    def of_track(root: Path, track_id: str) -> None:
        """RecordingNotFound unless the manifest (as it reads) lists the track."""
        manifest = read_signed(RecordingPaths(root).manifest).manifest
        if not any(t.id == track_id for t in manifest.tracks):
            raise RecordingNotFound("no such track in this recording")

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
            if hashlib.sha256(data).hexdigest() != entry.sha256:
                raise RecordingInvalid(f"segment {entry.id} changed after it was verified")
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
    root: Path,
    keyring: KeyRing,
    out: Path | BinaryIO,
    track_id: str | None = None,
    *,
    trust: Trust,
    allow_incomplete: bool = False,
) -> Exported:
    """Verify, then write one track (WebM) or every track (Matroska) to `out`; nothing is
    decoded. Raises a `RecordingError` with the verifier's reason for anything but `valid`
    (or a crash prefix the log shows, with `allow_incomplete`)."""
    if trust.audit_log is None or trust.audit_key is None:
        raise RecordingInvalid("an export is verified against the hearing's audit log and key")
    if track_id is not None:
        Recording.of_track(root, track_id)  # an unknown track is not found, whatever else
    report = verify_trusted(root, trust, keyring)
    refused = refusal(report, allow_incomplete)
    if refused is not None:
        raise refused
    try:
        tracks = _remux(root, keyring, out, track_id, report)
    except RecordingError:
        raise
    except (SecurityError, av.FFmpegError, OSError, ValueError, TypeError) as exc:
        raise RecordingInvalid(f"the export failed: {type(exc).__name__}") from exc
    return Exported(report, tracks)


def _remux(
    root: Path,
    keyring: KeyRing,
    out: Path | BinaryIO,
    track_id: str | None,
    report: RecordingReport,
) -> list[TrackExport]:
    recording = Recording(root, keyring, report.manifest_digest)
    entries = [recording.track(track_id)] if track_id else list(recording.manifest.tracks)
    if not entries:
        raise RecordingInvalid("the recording holds no track")
    fmt = "webm" if track_id else "matroska"
    tallies = [_Tally() for _ in entries]
    target = str(out) if isinstance(out, Path) else out
    with av.open(target, "w", format=fmt) as container:
        container.metadata["ECOURT_RECORDING"] = report.recording_id
        container.metadata["ECOURT_STATUS"] = report.status
        if report.incomplete:
            container.metadata["ECOURT_INCOMPLETE"] = "; ".join(report.incomplete)[:1000]
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
