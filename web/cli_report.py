"""`ecourt report day --date D`: the day's report from this node's audit logs (`web/report.py`),
as CSV on stdout (the hearings; `--participants` for who joined and for how long), and with
`--html FILE` as a printable page in `--lang`. Every report made is written to the court's own
audit log (`report_day`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from web.audit import AuditLogs
from web.cli_errors import CliError
from web.i18n import LANGUAGES
from web.report import (
    HEARING_COLUMNS,
    PARTICIPANT_COLUMNS,
    day_bounds,
    days_of,
    hearing_rows,
    participant_rows,
    to_csv,
    to_html,
    zone_of,
)
from web.settings import Settings


def add_commands(commands: Any) -> None:
    report = commands.add_parser("report", help="reports from this node's audit logs")
    kinds = report.add_subparsers(dest="report_command", required=True, metavar="KIND")
    day = kinds.add_parser("day", help="one day's hearings (CSV), and a printable page")
    day.add_argument("--date", required=True, help="the day, YYYY-MM-DD")
    day.add_argument("--utc-offset", default="+00:00", help="the court's offset, e.g. +07:00")
    day.add_argument(
        "--participants", action="store_true", help="print who joined and for how long instead"
    )
    day.add_argument("--html", type=Path, help="also write a printable page to this file")
    day.add_argument("--lang", choices=sorted(LANGUAGES), default="en")
    day.set_defaults(run=_day)


def _day(args: argparse.Namespace) -> int:
    try:
        start, end = day_bounds(args.date, args.utc_offset)
        zone = zone_of(args.utc_offset)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    audit = AuditLogs(Settings.from_env().data_dir)
    since = start / 1000 - 1
    days = days_of(audit.recent(since), start, end)
    hearings = hearing_rows(days, zone)
    people = participant_rows(days, zone)
    if args.participants:
        sys.stdout.write(to_csv(people, PARTICIPANT_COLUMNS))
    else:
        sys.stdout.write(to_csv(hearings, HEARING_COLUMNS))
    if args.html is not None:
        tables = {
            "report.hearings": (hearings, HEARING_COLUMNS),
            "report.participants": (people, PARTICIPANT_COLUMNS),
        }
        try:
            args.html.write_text(to_html(args.date, tables, args.lang), encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {args.html}: {exc.strerror}") from None
    log = audit.open_court()
    try:
        log.record("court_admin", "report_day", details={"date": args.date, "hearings": len(days)})
    finally:
        log.release()
    return 0
