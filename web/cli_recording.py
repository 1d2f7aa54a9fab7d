"""`ecourt recording verify|export|shred|hold`, `ecourt keys rotate` and `ecourt keys public`.

`verify` works on a copied recording directory with nothing else: the manifest names its
signing key (pass `--trust` to insist on yours), `--keyring` adds the check of every chunk's
tag, and `--audit` the hearing's audit log (crash or stop). The other commands act on this
node's recordings (ECOURT_DATA_DIR, ECOURT_KEYRING) and write to the hearing's audit log.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from recording.errors import RecordingError
from recording.layout import RecordingPaths
from recording.manifest import read_signed
from recording.verify import verify_recording
from security.keyring import KeyRing
from web.audit import AuditLogs
from web.recordings import Recordings
from web.settings import Settings

EXIT_VALID, EXIT_INVALID, EXIT_INCOMPLETE = 0, 1, 3


def add_commands(commands: Any) -> None:
    recording = commands.add_parser("recording", help="verify, export or shred a recording")
    actions = recording.add_subparsers(dest="recording_command", required=True, metavar="ACTION")

    verify = actions.add_parser("verify", help="check a recording directory offline")
    verify.add_argument("directory", type=Path)
    verify.add_argument("--keyring", type=Path, help="also authenticate every chunk")
    verify.add_argument("--trust", metavar="HEX", help="the manifest key you expect (64 hex)")
    verify.add_argument("--audit", type=Path, help="the hearing's audit log (JSON lines)")
    verify.add_argument("--audit-key", metavar="HEX", help="the audit log's checkpoint key")
    verify.set_defaults(run=_verify)

    export = actions.add_parser("export", help="decrypt to a playable file (audited)")
    export.add_argument("directory", type=Path)
    export.add_argument("--out", type=Path, required=True, help="the file to write")
    export.add_argument("--track", help="one track's id (default: every track, as Matroska)")
    export.set_defaults(run=_export)

    shred = actions.add_parser("shred", help="destroy the data keys (unless on legal hold)")
    shred.add_argument("directory", type=Path)
    shred.add_argument("--yes", action="store_true", required=True, help="yes, for ever")
    shred.set_defaults(run=_shred)

    hold = actions.add_parser("hold", help="set or lift a legal hold")
    hold.add_argument("directory", type=Path)
    hold.add_argument("--lift", action="store_true", help="lift the hold")
    hold.set_defaults(run=_hold)

    keys = commands.add_parser("keys", help="the key ring")
    key_actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    rotate = key_actions.add_parser("rotate", help="new KEK; re-wrap every data key")
    rotate.set_defaults(run=_rotate)
    public = key_actions.add_parser(
        "public", help="this node's public keys: audit checkpoints and recording manifests"
    )
    only = public.add_mutually_exclusive_group()
    only.add_argument("--audit", action="store_true", help="only the audit key, as 64 hex")
    only.add_argument("--recording", action="store_true", help="only the manifest key, as hex")
    public.set_defaults(run=_public)


def _hex_key(text: str | None, flag: str) -> bytes | None:
    if text is None:
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise RecordingError(f"{flag} must be 64 hex digits")
    return key


def _verify(args: argparse.Namespace) -> int:
    trust = _hex_key(args.trust, "--trust")
    keyring = KeyRing.open_existing(args.keyring) if args.keyring else None
    report = verify_recording(
        args.directory,
        keyring=keyring,
        trusted_keys=None if trust is None else frozenset({trust}),
        audit_log=args.audit,
        audit_key=_hex_key(args.audit_key, "--audit-key"),
    )
    print(report.summary())
    return {"valid": EXIT_VALID, "incomplete": EXIT_INCOMPLETE}.get(report.status, EXIT_INVALID)


def _node() -> Recordings:
    settings = Settings.from_env()
    return Recordings(settings, AuditLogs(settings.data_dir))


def _local(recordings: Recordings, directory: Path) -> tuple[Path, str]:
    """The recording's directory and hearing, if it is one of this node's recordings."""
    root = directory.resolve()
    if root.parent != recordings.directory.resolve():
        raise RecordingError(f"{directory} is not under {recordings.directory}")
    hearing_id = read_signed(RecordingPaths(root).manifest).manifest.hearing_id
    return root, hearing_id


def _export(args: argparse.Namespace) -> int:
    recordings = _node()
    root, hearing_id = _local(recordings, args.directory)
    with recordings.audit_log(hearing_id) as audit:
        data, tracks = recordings.export_bytes(root, args.track, audit, "cli")
    args.out.write_bytes(data)
    for track in tracks:
        span = 0 if track.first_pts_ms is None else (track.last_pts_ms or 0) - track.first_pts_ms
        print(f"{track.track}: {track.codec}, {track.frames} frames, {span / 1000:.1f} s")
    print(f"wrote {args.out}")
    return 0


def _shred(args: argparse.Namespace) -> int:
    recordings = _node()
    root, hearing_id = _local(recordings, args.directory)
    with recordings.audit_log(hearing_id) as audit:
        count = recordings.shred(root, audit, "cli")
    print(f"destroyed {count} data keys of {root.name}: its media can never be read again")
    return 0


def _hold(args: argparse.Namespace) -> int:
    recordings = _node()
    root, hearing_id = _local(recordings, args.directory)
    with recordings.audit_log(hearing_id) as audit:
        recordings.hold(root, not args.lift, audit, "cli")
    print(f"legal hold {'lifted from' if args.lift else 'set on'} {root.name}")
    return 0


def _rotate(_args: argparse.Namespace) -> int:
    version, count = _node().rotate()
    print(f"key ring now at KEK version {version}; {count} data keys re-wrapped")
    return 0


def _public(args: argparse.Namespace) -> int:
    from web.public_keys import read_public_keys

    keys = {key.purpose: key for key in read_public_keys(Settings.from_env().data_dir)}
    if args.audit or args.recording:
        print(keys["audit" if args.audit else "recording"].public_key.hex())
    else:
        print(json.dumps({purpose: key.json() for purpose, key in keys.items()}, indent=2))
    return 0
