"""`ecourt`: run the server (optionally with a demo hearing), sign a join token, verify an
audit log offline, verify, export or shred recordings (`web/cli_recording.py`), and export or
verify a hearing's exhibits (`web/cli_exhibits.py`)."""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import socket
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from aiohttp import web

from hearing import HearingError, Participant, Role, new_participant_id
from hearing.model import check_display_name
from recording.errors import RecordingError
from security import Checkpoint, SecurityError, TokenSigner, verify_file
from security.ed25519 import key_id
from signaling.errors import SignalingError
from web import cli_exhibits, cli_recording, cli_report
from web.cli_errors import CliError
from web.logs import configure_logging
from web.openapi import MIN_TOKEN_TTL
from web.settings import Settings, SettingsError
from web.versions import UntestedVersion, check_tested_versions
from web.workers import default_workers, run_workers

DEMO_CAST = (
    ("presiding judge", Role.PRESIDING_JUDGE, "Judge Amara Osei"),
    ("clerk", Role.CLERK, "Jonas Lind"),
    ("plaintiff", Role.PLAINTIFF, "Maria Rivera"),
    ("respondent", Role.RESPONDENT, "Daniel Okafor"),
)
DEMO_TITLE = "Rivera v. Okafor (breach of contract) - demo"
DEMO_CAST_VI = (
    ("presiding judge", Role.PRESIDING_JUDGE, "Lê Minh Tâm"),
    ("clerk", Role.CLERK, "Hồ Thị Lan"),
    ("plaintiff", Role.PLAINTIFF, "Nguyễn Thị Hoa"),
    ("respondent", Role.RESPONDENT, "Trần Quốc Bảo"),
)
DEMO_TITLE_VI = "Nguyễn Thị Hoa kiện Trần Quốc Bảo (tranh chấp hợp đồng mua bán) - thử nghiệm"
"""The demo in the court's language (ECOURT_LANGUAGE): names the pages and the stream write."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except (
        CliError,
        SettingsError,
        HearingError,
        SecurityError,
        RecordingError,
        UntestedVersion,
        SignalingError,
    ) as exc:
        reason = getattr(exc, "code", None)
        prefix = f"{reason}: " if isinstance(reason, str) and reason not in str(exc) else ""
        parser.exit(2, f"ecourt: error: {prefix}{exc}\n")
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ecourt", description="Virtual courtroom hearings.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (ECOURT_HOST)")
    serve.add_argument("--port", type=_port, help="port to listen on; 0 picks a free one")
    serve.add_argument(
        "--demo", action="store_true", help="open a demo civil trial and print its join links"
    )
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="node processes on this machine (default: one per core with ECOURT_REDIS_URL)",
    )
    serve.set_defaults(run=_serve)

    token = commands.add_parser("token", help="print a join token signed with ECOURT_TOKEN_KEY")
    token.add_argument("--hearing", required=True, metavar="ID", help="the hearing's id")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--name", required=True, help="the display name")
    token.add_argument("--ttl", type=int, metavar="SECONDS", help="lifetime (ECOURT_TOKEN_TTL)")
    token.set_defaults(run=_token)

    audit = commands.add_parser("audit", help="work with a hearing's audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check = audit_commands.add_parser("verify", help="check an audit log offline")
    check.add_argument("log", help="the audit log file (one JSON line per record)")
    check.add_argument(
        "--public-key", required=True, metavar="HEX", help="the checkpoint key, 64 hex digits"
    )
    check.add_argument(
        "--open", action="store_true", help="the hearing is still running: no final checkpoint"
    )
    check.add_argument(
        "--against-store",
        action="store_true",
        help="also compare with the latest checkpoint kept in Redis (ECOURT_REDIS_URL), else "
        "in the records of ECOURT_DATA_DIR: finds a log cut back or rewritten",
    )
    check.set_defaults(run=_audit_verify)
    cli_recording.add_commands(commands)
    cli_exhibits.add_commands(commands)
    cli_report.add_commands(commands)
    return parser


def _audit_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the log is intact, 1 when anything was found, 2 when it cannot be read."""
    try:
        public_key = bytes.fromhex(args.public_key)
    except ValueError as exc:
        raise CliError("--public-key must be 64 hex digits") from exc
    if len(public_key) != 32:
        raise CliError("--public-key must be 64 hex digits")
    try:
        report = verify_file(args.log, public_key, require_closed=not args.open)
        if args.against_store:
            hearing_id = report.hearing_id or os.path.basename(args.log).split(".")[0]
            anchor = asyncio.run(_stored_checkpoint(hearing_id, key_id(public_key)))
            report = verify_file(args.log, public_key, require_closed=not args.open, anchor=anchor)
    except OSError as exc:
        raise CliError(f"cannot read {args.log}: {exc.strerror}") from exc
    print(report.summary())
    return 0 if report.ok else 1


async def _stored_checkpoint(hearing_id: str, key: str) -> Checkpoint | None:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from signaling.redis_store import RedisAuditCheckpoints

    settings = Settings.from_env()
    if settings.redis_url is None:
        return _stored_checkpoint_in_data_dir(settings, hearing_id, key)
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        stored = await RedisAuditCheckpoints(redis, settings.redis_prefix).latest(hearing_id, key)
    except (OSError, RedisError) as exc:
        raise CliError(f"the checkpoint store did not answer: {exc}") from exc
    finally:
        await redis.aclose()
    if stored is None:
        print(f"note: the store holds no checkpoint of {hearing_id} signed by key {key}")
    return stored


def _stored_checkpoint_in_data_dir(
    settings: Settings, hearing_id: str, key: str
) -> Checkpoint | None:
    from signaling.sqlite_store import FILE_NAME, read_checkpoint

    records = settings.data_dir / FILE_NAME
    if not records.is_file():
        raise CliError(
            f"--against-store needs ECOURT_REDIS_URL, or the records of ECOURT_DATA_DIR"
            f" ({records} does not exist)"
        )
    stored = read_checkpoint(records, hearing_id, key)
    if stored is None:
        print(f"note: the store holds no checkpoint of {hearing_id} signed by key {key}")
    return stored


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("a port is between 0 and 65535")
    return port


def _serve(args: argparse.Namespace) -> int:
    check_tested_versions()
    from web.app import SHUTDOWN_TIMEOUT, create_app  # the server; `ecourt token` needs none
    from web.keys import SIGNALING
    from web.shutdown import Shutdown
    from web.stores import check_redis_persists
    from web.token_key import kept_token_key

    given = {"host": args.host, "port": args.port}
    settings = Settings.from_env(**{k: v for k, v in given.items() if v is not None})
    check_redis_persists(settings)
    if settings.token_key_generated:  # links issued before a restart still open after it
        settings = replace(settings, token_key=kept_token_key(settings.data_dir))
    workers = default_workers(settings) if args.workers is None else args.workers
    if workers < 1:
        raise CliError("--workers must be at least 1")
    if workers > 1:
        return run_workers(settings, workers, args.demo)
    # Bound here: a port in use is then the operator's error, said in one line; and with port 0
    # every printed link carries the real port.
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    try:
        listener = socket.create_server((settings.host, settings.port), family=family)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise CliError(f"cannot listen on {settings.host}:{settings.port}: {reason}") from exc
    settings = replace(settings, port=listener.getsockname()[1])
    configure_logging(settings)
    app = create_app(settings)
    if args.demo:
        app.on_startup.append(functools.partial(_open_demo, settings=settings))
    stop = Shutdown(app[SIGNALING])  # SIGTERM drains within a bound; a second exits at once
    app.on_startup.append(stop.install)
    loop = new_event_loop(settings.event_loop)
    try:
        web.run_app(
            app,
            sock=listener,
            loop=loop,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
        )
    finally:
        stop.cancel()
    return 0


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """The server's event loop: uvloop's if asked for (the default), the standard one else."""
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


async def _open_demo(app: web.Application, *, settings: Settings) -> None:
    """Schedule a demo trial through the REST API's own code path and print how to join."""
    from web import api

    vietnamese = settings.court_language == "vi"
    cast = DEMO_CAST_VI if vietnamese else DEMO_CAST
    year = datetime.now(UTC).year
    hearing = await api.schedule_hearing(
        app,
        {
            "type": "trial",
            "case_number": f"42/{year}/DS-ST" if vietnamese else f"CIV-{year}-0042",
            "title": DEMO_TITLE_VI if vietnamese else DEMO_TITLE,
            "scheduled_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "public": True,
        },
    )
    lines = ["", "ecourt demo: a civil trial is open", f"  {'base URL:':<17} {settings.base_url}"]
    if settings.api_key_generated:  # never echo a key the operator chose
        key = settings.api_key.value.decode()
        lines.append(f"  {'API key:':<17} {key}  (generated; set ECOURT_API_KEY to choose one)")
    lines.append(f"  {'hearing:':<17} {hearing.id}  {hearing.case_number}  {hearing.title}")
    for label, role, name in cast:
        issued = await api.issue_token(app, hearing, {"role": role.value, "display_name": name})
        lines.append(f"  {label + ':':<17} {issued.join_url}")
    lines.append(f"  {'public stream:':<17} {settings.base_url}/watch/{hearing.id}")
    lines.append(f"  {'public docket:':<17} {settings.base_url}/docket")
    lines.append(
        "  Open the judge's link, admit the others from the console, then press Open session"
        f" (and Open livestream to stream it, {settings.livestream_delay:g} s behind)."
    )
    print("\n".join([*lines, ""]), flush=True)


def _token(args: argparse.Namespace) -> int:
    if not os.environ.get("ECOURT_TOKEN_KEY"):
        raise CliError("ECOURT_TOKEN_KEY is not set; tokens must be signed with the server's key")
    settings = Settings.from_env()
    ttl = min(settings.default_token_ttl, settings.max_token_ttl) if args.ttl is None else args.ttl
    if not MIN_TOKEN_TTL <= ttl <= settings.max_token_ttl:
        raise CliError(f"--ttl must be between {MIN_TOKEN_TTL} and {settings.max_token_ttl}")
    participant = Participant(
        id=new_participant_id(),
        hearing_id=args.hearing,
        role=Role(args.role),
        display_name=check_display_name(args.name),
    )
    token, _grant = TokenSigner(settings.token_key).issue(participant, ttl)
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
