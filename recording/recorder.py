"""One hearing's recording: started when the court sits (or when the judge starts it),
paused in recess, stopped at adjournment. It decides for itself, from the court's policy,
which tracks it may record: a consultation, a caucus, the deliberation or a conciliation is
refused whoever asks.

Every permitted track is written to its own segments (`recording/track.py`), sealed under the
recording's current data key. The manifest is re-signed as each segment closes. A recording
found still open when the hearing starts recording again (the node crashed) is resumed: the
segments the crash cut short enter the manifest as `crash`, and a new data key is used.

One node writes a recording at a time (`docs/cluster.md#leases`): each manifest is written
under the audit log's lock with the lease's epoch, and never over one of a newer epoch; once
this node no longer holds the hearing the recorder is `fenced`: it drops its segments as they
are (the new host adopts them as cut short) and writes nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from hearing.model import HearingType
from hearing.phases import SITTING, Phase
from hearing.policy import can_record
from hearing.profiles import HearingRules
from hearing.rooms import Room
from media.forwarder import PublishedTrack
from recording.anchor import MANIFEST_ACTION
from recording.errors import RecordingFenced, RecordingForbidden
from recording.keys import RecordingKeys
from recording.layout import RecordingPaths, new_id
from recording.manifest import Manifest, SegmentEntry, TrackEntry, read_signed, write_fenced
from recording.segment import CODECS, SegmentSummary, SegmentWriter
from recording.track import TrackRecorder
from security import AuditLog, AuditLogClosed, SigningKey
from security.keyring import KeyRing
from security.sealing import DataKey, SealHeader, open_sealed

log = logging.getLogger(__name__)
FLUSH_INTERVAL = 0.1
ACTOR = "recorder"


@dataclass(frozen=True)
class RecordingSettings:
    segment_seconds: float = 10.0
    chunk_seconds: float = 0.4
    chunk_bytes: int = 65536
    fsync: bool = False


@dataclass(frozen=True)
class Candidate:
    """A published track, whose it is and where its publisher sits; the recorder decides."""

    track: PublishedTrack
    participant_id: str
    role: str
    room: Room


class HearingRecorder:
    def __init__(
        self,
        *,
        hearing_id: str,
        rules: HearingRules,
        recordings_dir: Path,
        keyring: KeyRing,
        signing_key: SigningKey,
        audit: AuditLog,
        settings: RecordingSettings = RecordingSettings(),
    ) -> None:
        self.hearing_id = hearing_id
        self._rules = rules
        self._dir = recordings_dir
        self._keyring = keyring
        self._signing_key = signing_key
        self._audit = audit
        self._settings = settings
        self.state = "idle"
        self.paused_by: str | None = None
        self._paths: RecordingPaths | None = None
        self._keys: RecordingKeys | None = None
        self._dek: DataKey | None = None
        self._manifest: Manifest | None = None
        self._origin = 0.0
        self._tracks: dict[PublishedTrack, TrackRecorder] = {}
        self._open: dict[tuple[str, int], str] = {}
        self._serial = 0
        self._ticker: asyncio.Task[None] | None = None
        self._phase = Phase.SCHEDULED

    @property
    def recording_id(self) -> str | None:
        return None if self._paths is None else self._paths.recording_id

    @property
    def manifest(self) -> Manifest | None:
        return self._manifest

    def allowed(self) -> bool:
        """Whether this hearing may ever be recorded (a conciliation never is)."""
        return self._rules.type is HearingType.TRIAL

    def start(self, actor: str, phase: Phase) -> str:
        """Start (or resume) recording; raise RecordingForbidden where the policy refuses."""
        if not self.allowed():
            raise RecordingForbidden(f"a {self._rules.type.value} is never recorded")
        if phase not in SITTING:
            raise RecordingForbidden(f"the court is not sitting ({phase.value})")
        self._phase = phase
        if self.state == "recording":
            assert self._paths is not None
            return self._paths.recording_id
        if self.state == "paused":
            return self._resume(actor)
        self._begin()
        assert self._paths is not None and self._manifest is not None
        self._audit.record(actor, "recording_started", target=self._paths.recording_id)
        self._ticker = asyncio.get_running_loop().create_task(self._tick())
        return self._paths.recording_id

    def _begin(self) -> None:
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        now_ms = int(time.time() * 1000)
        crashed = self._find_unfinished()
        if crashed is not None:
            self._paths = crashed
            self._keys = self._keys_of(crashed)
            manifest = read_signed(crashed.manifest).manifest
            planned = bool(manifest.events) and manifest.events[-1][1] == "handed_over"
            manifest = self._adopt_orphans(crashed, manifest)
            event = "resumed_after_handover" if planned else "resumed_after_crash"
            self._manifest = manifest.with_event(now_ms, event)
            self._serial = len(crashed.segment_ids_on_disk())
        else:
            self._paths = RecordingPaths.of(self._dir, new_id("r"))
            self._paths.create()
            self._keys = self._keys_of(self._paths)
            self._keys.create(self.hearing_id)
            self._manifest = Manifest(self._paths.recording_id, self.hearing_id, now_ms)
            self._manifest = self._manifest.with_event(now_ms, "started")
        self._dek = self._keys.new_data_key()  # a restart never reuses a key, so never a nonce
        self._manifest = replace(
            self._manifest,
            state="recording",
            phases=(*self._manifest.phases, (now_ms, self._phase.value)),
        )
        self._origin = time.monotonic() - (now_ms - self._manifest.started_at_ms) / 1000
        self.state = "recording"
        self._save()

    def _keys_of(self, paths: RecordingPaths) -> RecordingKeys:
        return RecordingKeys(paths, self._keyring, self._signing_key, self._audit)

    def _find_unfinished(self) -> RecordingPaths | None:
        for root in sorted(self._dir.iterdir()) if self._dir.is_dir() else []:
            paths = RecordingPaths(root)
            try:
                manifest = read_signed(paths.manifest).manifest
            except Exception:
                continue
            if manifest.hearing_id == self.hearing_id and manifest.state != "stopped":
                return paths
        return None

    def _adopt_orphans(
        self, paths: RecordingPaths, manifest: Manifest, cause: str = "crash"
    ) -> Manifest:
        """Segments a crash cut short (or whose writing failed) enter the manifest as what
        they are: a prefix."""
        listed = {s.id for s in manifest.segments}
        keys = RecordingKeys(paths, self._keyring)
        for segment_id in paths.segment_ids_on_disk():
            if segment_id in listed:
                continue
            data = paths.segment(segment_id).read_bytes()
            try:
                opened = open_sealed(data, keys.key_for, allow_incomplete=True)
                track, key_id, chunks = (
                    opened.header.track,
                    opened.header.key_id,
                    len(opened.chunks),
                )
            except Exception:
                log.warning("segment %s of %s cannot be opened", segment_id, paths.recording_id)
                track, key_id, chunks = "", "", 0
            entry = SegmentEntry(
                id=segment_id,
                track=track,
                index=-1,
                key_id=key_id,
                sha256=hashlib.sha256(data).hexdigest(),
                chunks=chunks,
                sealed_bytes=len(data),
                frames=0,
                first_pts_ms=None,
                last_pts_ms=None,
                complete=False,
                cause=cause,
            )
            manifest = manifest.with_segment(entry)
        return manifest

    def sync(self, candidates: Iterable[Candidate], phase: Phase) -> None:
        """Record exactly the candidates the policy permits now; stop the others."""
        self._phase = phase
        if self.state != "recording":
            return
        wanted: dict[PublishedTrack, Candidate] = {}
        for c in candidates:
            if (
                c.track.mime_type in CODECS
                and not c.track.ended
                and can_record(self._rules, c.room, phase)
            ):
                wanted[c.track] = c
        for track in [t for t in self._tracks if t not in wanted]:
            self._tracks.pop(track).close()
        for track, candidate in wanted.items():
            if track not in self._tracks:
                self._tracks[track] = self._track_recorder(candidate)

    def record_track(self, candidate: Candidate, phase: Phase) -> None:
        """Record one track now, or raise RecordingForbidden saying why not."""
        if not can_record(self._rules, candidate.room, phase):
            raise RecordingForbidden(
                f"{candidate.room.kind.value} is not recorded in {phase.value}"
            )
        if self.state != "recording":
            raise RecordingForbidden("the hearing is not being recorded")
        if candidate.track not in self._tracks:
            self._tracks[candidate.track] = self._track_recorder(candidate)

    def _track_recorder(self, candidate: Candidate) -> TrackRecorder:
        track = candidate.track
        entry = TrackEntry(
            id=new_id("t"),
            participant=candidate.participant_id,
            role=candidate.role,
            kind=track.kind,
            codec=CODECS[track.mime_type][0],
            clock_rate=track.clock_rate,
            label=track.label,
        )
        assert self._manifest is not None
        roster = self._manifest.roster
        if (candidate.participant_id, candidate.role) not in roster:
            roster = (*roster, (candidate.participant_id, candidate.role))
        self._manifest = replace(self._manifest.with_track(entry), roster=roster)
        self._save()
        recorder = TrackRecorder(
            track=track,
            entry=entry,
            may_write=self._audit.serving,
            origin=self._origin,
            segment_seconds=self._settings.segment_seconds,
            open_segment=self._open_segment,
            segment_closed=self._segment_closed,
        )
        track.request_keyframe()
        return recorder

    def _open_segment(self, recorder: TrackRecorder, index: int) -> SegmentWriter:
        assert self._paths is not None and self._dek is not None
        segment_id = new_id("s")
        header = SealHeader(
            recording_id=self._paths.recording_id,
            hearing_id=self.hearing_id,
            track=recorder.entry.id,
            segment=self._serial,
            key_id=self._dek.key_id,
            nonce_prefix=self._dek.new_nonce_prefix(),
        )
        self._serial += 1
        fd = os.open(self._paths.segment(segment_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        sink: BinaryIO = os.fdopen(fd, "wb", buffering=0)
        self._open[(recorder.entry.id, index)] = segment_id
        return SegmentWriter(
            sink=sink,
            key=self._dek,
            header=header,
            mime_type=recorder.track.mime_type,
            chunk_seconds=self._settings.chunk_seconds,
            chunk_bytes=self._settings.chunk_bytes,
            fsync=self._settings.fsync,
        )

    def _segment_closed(self, recorder: TrackRecorder, index: int, summary: SegmentSummary) -> None:
        assert self._manifest is not None and self._dek is not None
        segment_id = self._open.pop((recorder.entry.id, index))
        entry = SegmentEntry(
            id=segment_id,
            track=recorder.entry.id,
            index=index,
            key_id=self._dek.key_id,
            sha256=summary.seal.sha256,
            chunks=summary.seal.chunks,
            sealed_bytes=summary.seal.sealed_bytes,
            frames=summary.frames,
            first_pts_ms=summary.first_pts_ms,
            last_pts_ms=summary.last_pts_ms,
            complete=True,
            cause="closed",
        )
        points = tuple(recorder.clock_points)
        recorder.clock_points.clear()
        manifest = self._manifest.with_segment(entry)
        self._manifest = replace(manifest, clock_map=(*manifest.clock_map, *points))
        self._save()

    def note_phase(self, actor: str, phase: Phase) -> None:
        """The court changed phase: pause out of session, resume in it, stop at adjournment."""
        previous, self._phase = self._phase, phase
        if self._manifest is not None and self.state in ("recording", "paused"):
            at = int(time.time() * 1000)
            self._manifest = replace(
                self._manifest, phases=(*self._manifest.phases, (at, phase.value))
            )
        if phase is Phase.ADJOURNED:
            self.stop(actor)
        elif phase not in SITTING and self.state == "recording":
            self.pause(actor, by="phase")
        elif phase in SITTING and self.state == "paused" and self.paused_by == "phase":
            self._resume(actor)
        elif phase is Phase.IN_SESSION and previous is not phase and self.state == "idle":
            if self.allowed():
                self.start(actor, phase)
        elif self._manifest is not None:
            self._save()

    def pause(self, actor: str, by: str = "judge") -> None:
        if self.state != "recording":
            if self.state == "paused" and by == "judge":
                self.paused_by = "judge"  # the judge's pause outlasts the recess
            return
        if not self._still_held():
            return
        for recorder in list(self._tracks.values()):
            recorder.pause()
        if self.state == "fenced":
            return
        self.state, self.paused_by = "paused", by
        assert self._manifest is not None and self._paths is not None
        at = int(time.time() * 1000)
        self._manifest = replace(self._manifest.with_event(at, f"paused_by_{by}"), state="paused")
        self._save()
        self._audit.record(actor, "recording_paused", target=self._paths.recording_id)

    def _resume(self, actor: str) -> str:
        assert self._manifest is not None and self._paths is not None
        if not self._still_held():
            raise RecordingFenced("this node no longer holds the hearing")
        for recorder in list(self._tracks.values()):
            recorder.resume()
        self.state, self.paused_by = "recording", None
        at = int(time.time() * 1000)
        self._manifest = replace(self._manifest.with_event(at, "resumed"), state="recording")
        self._save()
        self._audit.record(actor, "recording_resumed", target=self._paths.recording_id)
        return self._paths.recording_id

    def stop(self, actor: str) -> None:
        """Seal every segment and sign the final manifest. Idempotent."""
        if self.state not in ("recording", "paused") or not self._still_held():
            return
        for recorder in list(self._tracks.values()):
            recorder.close()
        self._tracks.clear()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        assert self._manifest is not None and self._paths is not None
        at = int(time.time() * 1000)
        manifest = self._adopt_orphans(self._paths, self._manifest, "write_failed")
        self._manifest = replace(manifest.with_event(at, "stopped"), state="stopped")
        self._save()
        if self.state == "fenced":  # lost while sealing its segments
            return
        self.state = "stopped"
        self._audit.record(actor, "recording_stopped", target=self._paths.recording_id)

    def hand_over(self) -> None:
        """This node stops but the hearing goes on elsewhere: seal every segment and leave
        the recording open (not stopped), so the next node resumes it with a new data key."""
        if self.state not in ("recording", "paused") or not self._still_held():
            return
        for recorder in list(self._tracks.values()):
            recorder.close()
        self._tracks.clear()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        assert self._manifest is not None and self._paths is not None
        at = int(time.time() * 1000)
        manifest = self._adopt_orphans(self._paths, self._manifest, "write_failed")
        self._manifest = manifest.with_event(at, "handed_over")
        self._save()
        if self.state == "fenced":
            return
        self.state = "handed_over"
        self._audit.record(ACTOR, "recording_handed_over", target=self._paths.recording_id)

    def _still_held(self) -> bool:
        """Whether this node still holds the hearing; if not, the recorder is fenced."""
        if self._audit.serving():
            return True
        self._fence("this node no longer holds the hearing")
        return False

    def _fence(self, reason: str) -> None:
        """Write nothing more: the segments are dropped as they are on disk (unsealed last
        chunk and all), and the manifest is left to the next host. Idempotent."""
        if self.state == "fenced":
            return
        log.warning("the recording of %s stops here: %s", self.hearing_id, reason)
        self.state = "fenced"
        for recorder in list(self._tracks.values()):
            recorder.abandon()
        self._tracks.clear()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            if not self._still_held():
                return
            for recorder in list(self._tracks.values()):
                try:
                    recorder.flush_due()
                except Exception:
                    log.exception("sealing a chunk of %s failed", recorder.entry.id)

    def _save(self) -> None:
        """Sign the next version of the manifest, then anchor it outside the directory: its
        `seq` and digest go to the hearing's audit log, and a checkpoint to the store."""
        assert self._paths is not None and self._manifest is not None
        if self.state == "fenced":
            return
        path, key = self._paths.manifest, self._signing_key
        following = replace(self._manifest, seq=self._manifest.seq + 1)

        def write(epoch: int) -> Manifest:
            stamped = replace(following, epoch=epoch)
            write_fenced(path, stamped, key)
            return stamped

        try:
            self._manifest = self._audit.under_lease(write)
        except (AuditLogClosed, RecordingFenced) as fenced:
            self._fence(str(fenced))
            return
        details = {
            "seq": self._manifest.seq,
            "hash": self._manifest.digest,
            "segments": len(self._manifest.segments),
            "state": self._manifest.state,
        }
        target = self._paths.recording_id
        try:
            self._audit.record(ACTOR, MANIFEST_ACTION, target=target, details=details)
            self._audit.checkpoint()
        except AuditLogClosed as fenced:  # the deadline passed since the write: one version past
            self._fence(str(fenced))  # the log, as a crash leaves it

    async def close(self) -> None:
        """Stop recording (a clean stop, not a crash). Idempotent."""
        self.stop(ACTOR)
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
