"""`ecourt exhibits export HEARING OUT` and `ecourt exhibits verify OUT`.

`export` acts on this node's exhibits (ECOURT_DATA_DIR, ECOURT_KEYRING): it writes the
admitted exhibits, decrypted, with `index.json` signed by the manifest key, and writes the
export to the hearing's custody log. `verify` needs only the directory; with `--trust` (the
court's recording key, `ecourt keys public`) it says `valid`, without it `unverified` (exit 4):
a signature by a key nobody named proves nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from recording.exhibits.index import export_exhibits, verify_export
from recording.exhibits.ledger import ExhibitLedger
from web.cli_recording import EXIT_INVALID, EXIT_OF_STATUS, _hex_key, _node_and_settings


def add_commands(commands: Any) -> None:
    exhibits = commands.add_parser("exhibits", help="export or verify a hearing's exhibits")
    actions = exhibits.add_subparsers(dest="exhibits_command", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export", help="write the admitted exhibits and a signed index (audited)"
    )
    export.add_argument("hearing_id", help="the hearing")
    export.add_argument("out", type=Path, help="a new (or empty) directory")
    export.set_defaults(run=_export)
    verify = actions.add_parser("verify", help="check an exported directory offline")
    verify.add_argument("directory", type=Path)
    verify.add_argument("--trust", help="the court's recording key, 64 hex digits")
    verify.set_defaults(run=_verify)


def _export(args: argparse.Namespace) -> int:
    recordings, settings = _node_and_settings()
    ledger = ExhibitLedger(
        settings.data_dir / "exhibits", recordings.keyring, max_bytes=settings.exhibit_max_bytes
    )
    exported = export_exhibits(
        ledger,
        args.hearing_id,
        args.out,
        recordings.signing_key,
        lambda: recordings.audit_log(args.hearing_id),
        "cli",
    )
    print(f"exported {len(exported.numbers)} exhibits: {', '.join(exported.numbers) or 'none'}")
    print(f"index {exported.index_sha256}, signed by {recordings.signing_key.key_id}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    trust = _hex_key(args.trust, "--trust")
    report = verify_export(args.directory, None if trust is None else frozenset({trust}))
    print(report.summary())
    return EXIT_OF_STATUS.get(report.status, EXIT_INVALID)
