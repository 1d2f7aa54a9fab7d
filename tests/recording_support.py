"""A hearing recorder on a temporary directory, with its own key ring, keys and audit log."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from hearing.model import HearingType, new_hearing_id, new_participant_id
from hearing.phases import Phase
from hearing.profiles import HearingRules
from hearing.rooms import COURTROOM, Room
from media.forwarder import PublishedTrack
from recording.export import Exported, export
from recording.recorder import Candidate, HearingRecorder, RecordingSettings
from recording.verify import RecordingReport, Trust, verify_trusted
from security import AuditLog, FileAuditSink, SigningKey, verify_file
from security.keyring import KeyRing
from tests.media_samples import Publisher, published_track


@dataclass
class Bench:
    """Everything a recorder needs, and what a verifier needs afterwards."""

    root: Path
    hearing_id: str = field(default_factory=new_hearing_id)
    signing_key: SigningKey = field(default_factory=SigningKey.generate)
    audit_key: SigningKey = field(default_factory=SigningKey.generate)

    def __post_init__(self) -> None:
        self.keyring = KeyRing.open(self.keyring_path)
        node_key = self.root / "data" / "audit-signing.key"  # where the node keeps it
        if not node_key.exists():
            node_key.parent.mkdir(parents=True, exist_ok=True)
            self.audit_key.save(node_key)
        manifest_key = self.root / "data" / "recording-signing.key"
        if not manifest_key.exists():
            self.signing_key.save(manifest_key)

    @property
    def keyring_path(self) -> Path:
        return self.root / "keys" / "keyring.json"

    @property
    def recordings(self) -> Path:
        return self.root / "data" / "recordings"

    @property
    def audit_path(self) -> Path:
        return self.root / "data" / "audit" / f"{self.hearing_id}.jsonl"

    @property
    def custody_path(self) -> Path:
        return self.audit_path.with_name(f"{self.hearing_id}.custody.jsonl")

    def trust(self) -> Trust:
        """What the court vouches for: its manifest key, the hearing's logs and their key."""
        return Trust(
            manifest_keys=frozenset({self.signing_key.public_key}),
            audit_log=self.audit_path,
            audit_key=self.audit_key.public_key,
            custody_log=self.custody_path,
        )

    def export(
        self,
        recording_id: str,
        out: Path | io.BytesIO,
        track_id: str | None = None,
        *,
        allow_incomplete: bool = False,
    ) -> Exported:
        return export(
            self.recordings / recording_id,
            self.keyring,
            out,
            track_id,
            trust=self.trust(),
            allow_incomplete=allow_incomplete,
        )

    def audit(self) -> AuditLog:
        self.audit_path.parent.mkdir(parents=True, exist_ok=True)
        head = None
        if self.audit_path.exists() and self.audit_path.stat().st_size:
            head = verify_file(self.audit_path, self.audit_key.public_key).head
        sink = FileAuditSink(self.audit_path)
        return AuditLog(self.hearing_id, sink, self.audit_key, head=head)

    def recorder(
        self,
        kind: HearingType = HearingType.TRIAL,
        segment_seconds: float = 10.0,
        audit: AuditLog | None = None,
        chunk_bytes: int = 65536,
    ) -> HearingRecorder:
        return HearingRecorder(
            hearing_id=self.hearing_id,
            rules=HearingRules(type=kind),
            recordings_dir=self.recordings,
            keyring=self.keyring,
            signing_key=self.signing_key,
            audit=audit or self.audit(),
            settings=RecordingSettings(segment_seconds=segment_seconds, chunk_bytes=chunk_bytes),
        )

    def verify(self, recording_id: str, *, keys: bool = True) -> RecordingReport:
        """The strong form: trusted manifest key, key ring, and the hearing's logs."""
        return verify_trusted(
            self.recordings / recording_id, self.trust(), self.keyring if keys else None
        )


def recording_court(
    bench: Bench, **recorder: Any
) -> tuple[HearingRecorder, str, list[tuple[Candidate, Publisher]]]:
    """A recorder started in session, recording one participant's video and audio."""
    started = bench.recorder(**recorder)
    recording_id = started.start("p-judge", Phase.IN_SESSION)
    tracks = participant_tracks(1)
    started.sync([c for c, _ in tracks], Phase.IN_SESSION)
    return started, recording_id, tracks


def participant_tracks(
    count: int, room: Room = COURTROOM, role: str = "witness"
) -> list[tuple[Candidate, Publisher]]:
    """`count` participants, each publishing video and audio, seated in `room`."""
    out = []
    for n in range(count):
        pid = new_participant_id()
        for kind in ("video", "audio"):
            track: PublishedTrack = published_track(kind, source=f"p{n}")
            out.append((Candidate(track, pid, role, room), Publisher(track)))
    return out


def probe(data: bytes) -> tuple[str, float, int]:
    """(codec, duration in seconds, frames that decode) of an exported file, decoding it here."""
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams[0]
        codec = stream.codec_context.name
        decoded = 0
        first = last = None
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            first = packet.pts if first is None else first
            last = packet.pts
            decoded += len(packet.decode())
        base = stream.time_base
        span = (
            0.0 if first is None or last is None or base is None else float((last - first) * base)
        )
        return codec, span, decoded
