"""`ecourt recording verify|export|shred|hold`, `ecourt keys rotate` and `ecourt keys public`.

`verify` works on a copied recording directory. The strong form names the court's manifest key
(`--trust`), the key ring (`--keyring`: every chunk's tag) and the hearing's audit log with its
key (`--audit`, `--audit-key`: the anchor outside the directory, which tells a crash from a
stop and a rollback from the last version). Without `--trust` it says `unverified` (exit 4):
a signature by a key nobody vouched for proves nothing. The other commands act on this node's
recordings (ECOURT_DATA_DIR, ECOURT_KEYRING) and write to the hearing's custody log; `export`
verifies first, against this node's keys, and refuses anything but `valid`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from recording.errors import (
    AnchorUnavailable,
    RecordingError,
    RecordingIncomplete,
    RecordingInvalid,
    RecordingShredded,
)
from recording.layout import RecordingPaths, write_atomically
from recording.manifest import read_signed
from recording.verify import verify_recording
from security import Checkpoint
from security.ed25519 import key_id
from security.keyring import KeyRing
from web.audit import AuditLogs
from web.recordings import Recordings
from web.settings import Settings

EXIT_VALID, EXIT_INVALID, EXIT_CANNOT, EXIT_INCOMPLETE, EXIT_UNVERIFIED = 0, 1, 2, 3, 4
EXIT_OF_STATUS = {
    "valid": EXIT_VALID,
    "incomplete": EXIT_INCOMPLETE,
    "shredded": EXIT_INCOMPLETE,
    "unverified": EXIT_UNVERIFIED,
}
SIDECAR_SUFFIX = ".verification.json"


def add_commands(commands: Any) -> None:
    recording = commands.add_parser("recording", help="verify, export or shred a recording")
    actions = recording.add_subparsers(dest="recording_command", required=True, metavar="ACTION")

    verify = actions.add_parser("verify", help="check a recording directory offline")
    verify.add_argument("directory", type=Path)
    verify.add_argument("--keyring", type=Path, help="also authenticate every chunk")
    verify.add_argument("--trust", metavar="HEX", help="the manifest key you expect (64 hex)")
    verify.add_argument("--audit", type=Path, help="the hearing's audit log (JSON lines)")
    verify.add_argument("--audit-key", metavar="HEX", help="the audit log's checkpoint key")
    verify.add_argument(
        "--custody", type=Path, help="the custody log (default: <hearing>.custody.jsonl beside it)"
    )
    verify.add_argument(
        "--against-store",
        action="store_true",
        help="also compare the audit log with the checkpoint kept in Redis (ECOURT_REDIS_URL): "
        "finds the log cut back together with the recording",
    )
    verify.set_defaults(run=_verify)

    export = actions.add_parser("export", help="decrypt to a playable file (audited)")
    export.add_argument("directory", type=Path)
    export.add_argument("--out", type=Path, required=True, help="the file to write")
    export.add_argument("--track", help="one track's id (default: every track, as Matroska)")
    export.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="also export a crash prefix that the audit log shows (marked incomplete)",
    )
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
    custody = args.custody
    if custody is None and args.audit is not None:
        sibling = args.audit.with_name(args.audit.name.removesuffix(".jsonl") + ".custody.jsonl")
        custody = sibling if sibling.exists() else None
    audit_key = _hex_key(args.audit_key, "--audit-key")
    anchor = None
    if args.against_store:
        if args.audit is None or audit_key is None:
            raise RecordingError("--against-store needs --audit and --audit-key")
        settings = Settings.from_env()
        if settings.redis_url is None:
            raise RecordingError("--against-store needs ECOURT_REDIS_URL")
        hearing_id = read_signed(RecordingPaths(args.directory).manifest).manifest.hearing_id
        anchor = _fetch_anchor(settings, hearing_id, key_id(audit_key))
        if anchor is None:
            print(f"note: the store holds no checkpoint of {hearing_id} by this audit key")
    report = verify_recording(
        args.directory,
        keyring=keyring,
        trusted_keys=None if trust is None else frozenset({trust}),
        audit_log=args.audit,
        audit_key=audit_key,
        custody_log=custody,
        audit_anchor=anchor,
    )
    print(report.summary())
    return EXIT_OF_STATUS.get(report.status, EXIT_INVALID)


def _node() -> Recordings:
    return _node_and_settings()[0]


def _node_and_settings() -> tuple[Recordings, Settings]:
    settings = Settings.from_env()
    return Recordings(settings, AuditLogs(settings.data_dir)), settings


def _local(recordings: Recordings, directory: Path) -> tuple[Path, str]:
    """The recording's directory and hearing, if it is one of this node's recordings."""
    root = directory.resolve()
    if root.parent != recordings.directory.resolve():
        raise RecordingError(f"{directory} is not under {recordings.directory}")
    hearing_id = read_signed(RecordingPaths(root).manifest).manifest.hearing_id
    return root, hearing_id


def _export(args: argparse.Namespace) -> int:
    """Exit 0 exported; 1 refused as invalid; 3 refused as incomplete or shredded; 2 other."""
    recordings, settings = _node_and_settings()
    root, hearing_id = _local(recordings, args.directory)
    anchor = _fetch_anchor(settings, hearing_id, recordings.audit_key_id)
    trust = recordings.trust(hearing_id, anchor)
    try:
        with recordings.audit_log(hearing_id) as audit:
            data, exported = recordings.export_bytes(
                root, args.track, audit, "cli", trust, allow_incomplete=args.allow_incomplete
            )
    except RecordingError as exc:
        print(f"ecourt: export refused: {exc.code}: {exc}")
        if isinstance(exc, RecordingInvalid):
            return EXIT_INVALID
        if isinstance(exc, (RecordingIncomplete, RecordingShredded)):
            return EXIT_INCOMPLETE
        raise
    sidecar = args.out.with_name(args.out.name + SIDECAR_SUFFIX)
    try:
        args.out.write_bytes(data)
        write_atomically(sidecar, exported.sidecar())
    except OSError as exc:
        raise RecordingError(f"cannot write {args.out}: {exc.strerror}") from exc
    for track in exported.tracks:
        span = 0 if track.first_pts_ms is None else (track.last_pts_ms or 0) - track.first_pts_ms
        print(f"{track.track}: {track.codec}, {track.frames} frames, {span / 1000:.1f} s")
    print(f"recording {root.name}: {exported.status}")
    for why in exported.report.incomplete:
        print(f"  incomplete: {why}")
    print(f"wrote {args.out} and {sidecar.name}")
    return EXIT_VALID


def _fetch_anchor(settings: Settings, hearing_id: str, audit_key_id: str) -> Checkpoint | None:
    """The checkpoint Redis keeps for the hearing's log (None on the embedded default, whose
    store lives in the server's memory only). A store that does not answer refuses."""
    if settings.redis_url is None:
        return None
    from redis.asyncio import Redis

    from signaling.redis_store import RedisAuditCheckpoints

    async def fetch(url: str) -> Checkpoint | None:
        redis = Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        try:
            store = RedisAuditCheckpoints(redis, settings.redis_prefix)
            return await store.latest(hearing_id, audit_key_id)
        except Exception as exc:
            raise AnchorUnavailable(f"the audit checkpoint store did not answer: {exc}") from exc
        finally:
            await redis.aclose()

    return asyncio.run(fetch(settings.redis_url))


def _shred(args: argparse.Namespace) -> int:
    recordings = _node()
    root, hearing_id = _local(recordings, args.directory)
    with recordings.audit_log(hearing_id) as audit:
        count = recordings.shred(root, audit, "cli", recordings.trust(hearing_id))
    print(f"destroyed {count} data keys of {root.name}: its media can never be read again")
    return 0


def _hold(args: argparse.Namespace) -> int:
    recordings = _node()
    root, hearing_id = _local(recordings, args.directory)
    with recordings.audit_log(hearing_id) as audit:
        recordings.hold(root, not args.lift, audit, "cli", recordings.trust(hearing_id))
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
