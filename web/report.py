"""The day's report: what each hearing's audit log says happened on one day, as CSV (one
table of hearings, one of participants) and as a printable page. Pseudonymous ids only (the
logs hold no names); the case-management system maps them.

Per hearing: when its log first and last speaks that day, how long the court sat (in session
or in camera), its recesses and why (ordered, or due process), whether it was adjourned or
ended, how many people joined, the recordings sealed with their manifest hashes, and the
share of the cameras' and microphones' measured time that was `live` (`media_quality`). Per
participant: when they arrived, when they left and why, and the minutes between (until the
day's last entry for someone still there).
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from security import AuditEntry
from signaling.health import MEDIA_QUALITY
from signaling.webhook_events import RECORDING_MANIFEST, SEALED_STATE
from web.i18n import t

SITTING = ("in_session", "in_camera")
HEARING_COLUMNS = (
    "hearing_id",
    "first_entry",
    "last_entry",
    "sat_minutes",
    "recesses",
    "recess_reasons",
    "adjourned",
    "ended",
    "participants",
    "recordings_sealed",
    "manifest_hashes",
    "media_live_share",
)
PARTICIPANT_COLUMNS = ("hearing_id", "participant_id", "arrived", "left", "minutes", "reason")


@dataclass
class Presence:
    participant_id: str
    arrived_ms: int
    left_ms: int | None = None
    reason: str = ""


@dataclass
class HearingDay:
    hearing_id: str
    first_ms: int
    last_ms: int
    sat_ms: int = 0
    recesses: dict[str, int] = field(default_factory=dict)
    adjourned: bool = False
    ended: bool = False
    presences: list[Presence] = field(default_factory=list)
    sealed: list[str] = field(default_factory=list)
    media_seconds: dict[str, float] = field(default_factory=dict)
    """Seconds of cameras and microphones in each health state (`media_quality` notes)."""

    @property
    def live_share(self) -> float | None:
        """The share of measured camera and microphone time that was `live`; None if none."""
        total = sum(self.media_seconds.values())
        return None if total <= 0 else self.media_seconds.get("live", 0.0) / total


def day_bounds(day: str, offset: str = "+00:00") -> tuple[int, int]:
    """The day `YYYY-MM-DD` in the court's UTC offset (`+07:00`), as [start, end) in ms."""
    try:
        zone = timezone(timedelta(minutes=_minutes(offset)))
        start = datetime.fromisoformat(day).replace(tzinfo=zone)
    except ValueError as exc:
        raise ValueError(f"--date is YYYY-MM-DD and --utc-offset +HH:MM ({exc})") from None
    if len(day) != 10:
        raise ValueError("--date is YYYY-MM-DD")
    begin = int(start.timestamp() * 1000)
    return begin, begin + 24 * 3600 * 1000


def bounds_in(day: str, zone: tzinfo) -> tuple[int, int]:
    """The day `YYYY-MM-DD` in the court's time zone (`Asia/Ho_Chi_Minh`), as [start, end)
    in ms (a day of 23 or 25 hours where the zone changes its clocks)."""
    first = date.fromisoformat(day)
    if len(day) != 10:
        raise ValueError("a date is YYYY-MM-DD")
    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    after = first + timedelta(days=1)
    end = datetime(after.year, after.month, after.day, tzinfo=zone)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def zone_of(offset: str) -> timezone:
    return timezone(timedelta(minutes=_minutes(offset)))


def _minutes(offset: str) -> int:
    sign = -1 if offset.startswith("-") else 1
    hours, _, minutes = offset.lstrip("+-").partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(offset) == 6):
        raise ValueError(f"not an offset: {offset!r}")
    return sign * (int(hours) * 60 + int(minutes))


def summarize(
    hearing_id: str, entries: Iterable[AuditEntry], start: int, end: int
) -> HearingDay | None:
    """What the entries of one hearing's log within [start, end) say; None if none is."""
    day = [e for e in entries if start <= e.time_ms < end]
    if not day:
        return None
    summary = HearingDay(hearing_id, day[0].time_ms, day[-1].time_ms)
    phase, since = "", day[0].time_ms
    present: dict[str, Presence] = {}
    for entry in day:
        details = dict(entry.details)
        new_phase = None
        if entry.action in ("phase", "state_restored") and entry.result == "ok":
            new_phase = str(details.get("phase", ""))
            if new_phase == "recess" and entry.action == "phase":
                summary.recesses["ordered"] = summary.recesses.get("ordered", 0) + 1
            summary.adjourned |= new_phase == "adjourned"
        elif entry.action == "due_process_recess":
            new_phase = "recess"
            summary.recesses["due_process"] = summary.recesses.get("due_process", 0) + 1
        elif entry.action == "end_hearing":
            new_phase, summary.ended = "adjourned", True
        elif entry.action == "arrive" and entry.actor not in present:
            present[entry.actor] = Presence(entry.actor, entry.time_ms)
            summary.presences.append(present[entry.actor])
        elif entry.action == "leave" and entry.actor in present:
            gone = present.pop(entry.actor)
            gone.left_ms, gone.reason = entry.time_ms, entry.result
        elif entry.action == MEDIA_QUALITY and entry.result == "ok":
            for state, ms in details.items():
                if type(ms) is int and ms > 0:
                    summary.media_seconds[state] = summary.media_seconds.get(state, 0.0) + ms / 1000
        elif entry.action == RECORDING_MANIFEST and details.get("state") == SEALED_STATE:
            summary.sealed.append(str(details.get("hash", "")))
        if new_phase is not None:
            if phase in SITTING:
                summary.sat_ms += entry.time_ms - since
            phase, since = new_phase, entry.time_ms
    if phase in SITTING:
        summary.sat_ms += summary.last_ms - since
    return summary


def _when(ms: int | None, zone: tzinfo) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone).isoformat(timespec="seconds")


def hearing_rows(days: Iterable[HearingDay], zone: tzinfo) -> list[dict[str, str]]:
    return [
        {
            "hearing_id": d.hearing_id,
            "first_entry": _when(d.first_ms, zone),
            "last_entry": _when(d.last_ms, zone),
            "sat_minutes": f"{d.sat_ms / 60000:.1f}",
            "recesses": str(sum(d.recesses.values())),
            "recess_reasons": ";".join(f"{k}:{v}" for k, v in sorted(d.recesses.items())),
            "adjourned": "yes" if d.adjourned or d.ended else "no",
            "ended": "yes" if d.ended else "no",
            "participants": str(len({p.participant_id for p in d.presences})),
            "recordings_sealed": str(len(d.sealed)),
            "manifest_hashes": ";".join(d.sealed),
            "media_live_share": "" if d.live_share is None else f"{d.live_share:.2f}",
        }
        for d in days
    ]


def participant_rows(days: Iterable[HearingDay], zone: tzinfo) -> list[dict[str, str]]:
    rows = []
    for d in days:
        for p in d.presences:
            until = p.left_ms if p.left_ms is not None else d.last_ms
            rows.append(
                {
                    "hearing_id": d.hearing_id,
                    "participant_id": p.participant_id,
                    "arrived": _when(p.arrived_ms, zone),
                    "left": _when(p.left_ms, zone),
                    "minutes": f"{(until - p.arrived_ms) / 60000:.1f}",
                    "reason": p.reason or "still_there",
                }
            )
    return rows


def to_csv(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_html(
    day: str, tables: Mapping[str, tuple[list[dict[str, str]], tuple[str, ...]]], lang: str
) -> str:
    """A printable page: the day's tables, headed in the page's language."""
    parts = [
        "<!doctype html>",
        f'<html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{html.escape(t(lang, 'report.title', date=day))}</title>",
        "<style>body{font-family:sans-serif}table{border-collapse:collapse;margin:1em 0}"
        "th,td{border:1px solid #999;padding:2px 6px;font-size:10pt}@page{size:landscape}"
        "</style></head><body>",
        f"<h1>{html.escape(t(lang, 'report.title', date=day))}</h1>",
    ]
    for key, (rows, columns) in tables.items():
        parts.append(f"<table><caption>{html.escape(t(lang, key))}</caption><tr>")
        parts.extend(f'<th scope="col">{html.escape(c)}</th>' for c in columns)
        parts.append("</tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(row[c])}</td>" for c in columns))
            parts.append("</tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "".join(parts)


def days_of(logs: Iterable[tuple[str, list[AuditEntry]]], start: int, end: int) -> list[HearingDay]:
    """The summaries of the hearings whose logs speak within [start, end)."""
    return [
        summary
        for hearing_id, entries in logs
        if (summary := summarize(hearing_id, entries, start, end)) is not None
    ]
