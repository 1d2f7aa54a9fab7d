"""Where a recording lives on disk. Every name in it is an opaque id this module made or
checked, so no caller can steer a path (no file name ever comes from a request).

```
<data dir>/recordings/<recording id>/
    keys.json          the wrapped data keys, the legal hold, the shredding record
    manifest.json      the signed manifest (segments, hash chain, clock map, roster, phases)
    segments/<segment id>.seal
```
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from recording.errors import RecordingNotFound

_ID = re.compile(r"^[a-z]{1,3}-[0-9a-f]{16}$")


def new_id(prefix: str) -> str:
    """A fresh opaque id such as `rec-1f0c9a...` (64 random bits)."""
    return f"{prefix}-{secrets.token_hex(8)}"


def check_id(value: object, what: str = "recording") -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise RecordingNotFound(f"no such {what}")
    return value


@dataclass(frozen=True)
class RecordingPaths:
    root: Path

    @classmethod
    def of(cls, recordings_dir: Path, recording_id: str) -> RecordingPaths:
        return cls(recordings_dir / check_id(recording_id))

    @property
    def recording_id(self) -> str:
        return self.root.name

    @property
    def keys(self) -> Path:
        return self.root / "keys.json"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def segments(self) -> Path:
        return self.root / "segments"

    def segment(self, segment_id: str) -> Path:
        return self.segments / f"{check_id(segment_id, 'segment')}.seal"

    def segment_ids_on_disk(self) -> list[str]:
        if not self.segments.is_dir():
            return []
        names = (p.name.removesuffix(".seal") for p in self.segments.glob("*.seal"))
        return sorted(n for n in names if _ID.fullmatch(n))

    def create(self) -> None:
        self.segments.mkdir(mode=0o700, parents=True, exist_ok=False)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so a crash leaves the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
