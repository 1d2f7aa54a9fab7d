"""The day's report, from real audit logs: the summary of a hearing's day as a table, and
`ecourt report day` as a real subprocess (CSV, the printable page, its own audit entry, and
a bad date refused in one line)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from security import AuditEntry, AuditLog, MemoryAuditSink, Secret, SigningKey
from security.audit_record import parse_line
from web.audit import COURT_LOG, AuditLogs
from web.report import day_bounds, hearing_rows, participant_rows, summarize, zone_of

REPO = Path(__file__).resolve().parents[1]
HANOI = zone_of("+07:00")
JUDGE, PARTY = "p_judge0001", "p_party0001"


class Clock:
    """Hanoi time on 7 December 2026, set by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def at(self, hhmm: str) -> None:
        hour, minute = map(int, hhmm.split(":"))
        self.now = datetime(2026, 12, 7, hour, minute, tzinfo=HANOI).timestamp()

    def __call__(self) -> float:
        return self.now


def a_day_in_court() -> list[AuditEntry]:
    clock = Clock()
    log = AuditLog(
        "h_report0001", MemoryAuditSink(), SigningKey.from_secret(Secret(bytes(32))), clock=clock
    )
    entries = []
    for hhmm, actor, action, kw in (
        ("09:00", JUDGE, "arrive", {"result": "admitted"}),
        ("09:01", PARTY, "arrive", {"result": "waiting"}),
        ("09:02", JUDGE, "admit", {"target": PARTY}),
        ("09:05", JUDGE, "phase", {"details": {"phase": "in_session"}}),
        ("10:05", JUDGE, "phase", {"details": {"phase": "recess"}}),
        ("10:20", JUDGE, "phase", {"details": {"phase": "in_session"}}),
        (
            "10:50",
            "system",
            "due_process_recess",
            {"target": PARTY, "details": {"phase": "recess"}},
        ),
        ("10:55", "system", "media_quality", {"details": {"live": 300_000, "frozen": 60_000}}),
        ("11:00", JUDGE, "phase", {"details": {"phase": "in_camera"}}),
        (
            "11:30",
            "system",
            "recording_manifest",
            {"target": "rec_000001", "details": {"state": "stopped", "hash": "ab" * 32}},
        ),
        ("11:30", "system", "media_quality", {"details": {"live": 540_000}}),
        ("11:30", JUDGE, "end_hearing", {}),
        ("11:31", PARTY, "leave", {"result": "hearing_ended"}),
    ):
        clock.at(hhmm)
        entries.append(log.record(actor, action, **kw))
    return entries


def test_a_days_summary_says_how_long_the_court_sat_why_it_recessed_and_who_was_there() -> None:
    start, end = day_bounds("2026-12-07", "+07:00")
    day = summarize("h_report0001", a_day_in_court(), start, end)
    assert day is not None
    (row,) = hearing_rows([day], HANOI)
    assert row == {
        "hearing_id": "h_report0001",
        "first_entry": "2026-12-07T09:00:00+07:00",
        "last_entry": "2026-12-07T11:31:00+07:00",
        "sat_minutes": "120.0",  # 9:05-10:05, 10:20-10:50, 11:00-11:30
        "recesses": "2",
        "recess_reasons": "due_process:1;ordered:1",
        "adjourned": "yes",
        "ended": "yes",
        "participants": "2",
        "recordings_sealed": "1",
        "manifest_hashes": "ab" * 32,
        "media_live_share": "0.93",  # 840 of 900 camera and microphone seconds were live
    }
    people = participant_rows([day], HANOI)
    assert [(p["participant_id"], p["minutes"], p["reason"]) for p in people] == [
        (JUDGE, "151.0", "still_there"),
        (PARTY, "150.0", "hearing_ended"),
    ]
    assert summarize("h_report0001", a_day_in_court(), *day_bounds("2026-12-08", "+07:00")) is None


def ecourt(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ECOURT_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "web.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_ecourt_report_day_prints_csv_writes_a_printable_page_and_is_audited(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    audit = AuditLogs(data_dir)
    log = await audit.open("h_report0002")
    log.record(JUDGE, "arrive", result="admitted")
    log.record(JUDGE, "phase", details={"phase": "in_session"})
    log.record(JUDGE, "end_hearing")
    log.close()
    await audit.close()
    today = datetime.now(UTC).date().isoformat()
    page = tmp_path / "report.html"
    done = ecourt(data_dir, "report", "day", "--date", today, "--html", str(page), "--lang", "vi")
    assert done.returncode == 0, done.stderr
    (row,) = list(csv.DictReader(io.StringIO(done.stdout)))
    assert (row["hearing_id"], row["ended"], row["participants"]) == ("h_report0002", "yes", "1")
    printable = page.read_text(encoding="utf-8")
    assert f"Các phiên tòa ngày {today}" in printable and "h_report0002" in printable
    people = ecourt(data_dir, "report", "day", "--date", today, "--participants")
    assert people.stdout.splitlines()[0] == "hearing_id,participant_id,arrived,left,minutes,reason"
    court_log = (data_dir / "audit" / f"{COURT_LOG}.court.jsonl").read_bytes().splitlines()
    reports = [r for r in map(parse_line, court_log) if isinstance(r, AuditEntry)]
    assert [r.action for r in reports] == ["report_day", "report_day"]
    refused = ecourt(data_dir, "report", "day", "--date", "7/12/2026")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith("ecourt: error: --date is YYYY-MM-DD")
