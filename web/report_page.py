"""The day's report under the supervision board: `GET /court/report?date=YYYY-MM-DD` is a
printable page (both tables of `ecourt report day`, headed in the page's language, at the
court's time zone), `GET /court/report.csv?date=…&table=hearings|participants` the same as
CSV to download. For a logged-in court administrator only (a page without the session goes
to the board's login); every report made is written to the court's own audit log
(`report_day`, with the date, the number of hearings and the format), like the CLI's.
Pseudonymous ids only: the logs hold no names.
"""

from __future__ import annotations

import asyncio
import html
import time
from datetime import date, datetime, timedelta
from typing import Final

from aiohttp import web

from web.board import ACTOR, check_session
from web.board import COOKIE as BOARD_COOKIE
from web.errors import BadRequest, BoardDisabled, Unauthorized
from web.i18n import LANGUAGES, choose_language, t
from web.keys import AUDIT, SETTINGS
from web.report import (
    HEARING_COLUMNS,
    PARTICIPANT_COLUMNS,
    HearingDay,
    bounds_in,
    days_of,
    hearing_rows,
    participant_rows,
    to_csv,
)

TABLES: Final = {"hearings": HEARING_COLUMNS, "participants": PARTICIPANT_COLUMNS}
COLUMN_WORDS: Final = {
    "hearing_id": "report.col.hearing_id",
    "first_entry": "report.col.first_entry",
    "last_entry": "report.col.last_entry",
    "sat_minutes": "report.col.sat_minutes",
    "recesses": "report.col.recesses",
    "recess_reasons": "report.col.recess_reasons",
    "adjourned": "report.col.adjourned",
    "ended": "report.col.ended",
    "participants": "report.col.participants",
    "recordings_sealed": "report.col.recordings_sealed",
    "manifest_hashes": "report.col.manifest_hashes",
    "participant_id": "report.col.participant_id",
    "arrived": "report.col.arrived",
    "left": "report.col.left",
    "minutes": "report.col.minutes",
    "reason": "report.col.reason",
    "media_live_share": "report.col.media_live_share",
}
"""The words heading each column on the page (the CSV keeps the column names)."""
VALUE_WORDS: Final = {
    "yes": "report.value.yes",
    "no": "report.value.no",
    "ordered": "report.value.ordered",
    "due_process": "report.value.due_process",
    "still_there": "report.value.still_there",
    "left": "report.value.left",
    "disconnected": "report.value.disconnected",
    "denied": "report.value.denied",
    "ejected": "report.value.ejected",
    "revoked": "report.value.revoked",
    "hearing_ended": "report.value.hearing_ended",
    "replaced": "report.value.replaced",
    "abuse": "report.value.abuse",
    "node_draining": "report.value.node_draining",
    "node_lost": "report.value.node_lost",
    "protocol_error": "report.value.protocol_error",
}
"""The words for the codes in the columns below (the CSV keeps the codes)."""
WORDED: Final = ("adjourned", "ended", "recess_reasons", "reason")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/court/report", report_page)
    app.router.add_get("/court/report.csv", report_csv)


def _logged_in(request: web.Request) -> None:
    key = request.app[SETTINGS].court_admin_key
    if key is None:
        raise BoardDisabled("the supervision board is off on this node: set ECOURT_COURT_ADMIN_KEY")
    if not check_session(key, request.cookies.get(BOARD_COOKIE, ""), time.time()):
        raise Unauthorized("log in to the supervision board first")


def _day(request: web.Request) -> str:
    asked = request.query.get("date")
    if asked is None:
        return datetime.now(request.app[SETTINGS].zone).date().isoformat()
    try:
        if len(asked) != 10:
            raise ValueError(asked)
        return date.fromisoformat(asked).isoformat()
    except ValueError:
        raise BadRequest("date is YYYY-MM-DD", field="date") from None


async def _days(request: web.Request, day: str, form: str) -> list[HearingDay]:
    """The day's summaries from this node's audit logs (read off the event loop), and the
    report written to the court's own log."""
    audit = request.app[AUDIT]
    start, end = bounds_in(day, request.app[SETTINGS].zone)
    days = await asyncio.to_thread(lambda: days_of(audit.recent(start / 1000 - 1), start, end))
    log = audit.open_court()
    try:
        details = {"date": day, "hearings": len(days), "format": form}
        log.record(ACTOR, "report_day", details=details)
    finally:
        log.release()
    return days


async def report_csv(request: web.Request) -> web.Response:
    _logged_in(request)
    day = _day(request)
    table = request.query.get("table", "hearings")
    if table not in TABLES:
        raise BadRequest("table is hearings or participants", field="table")
    days = await _days(request, day, "csv")
    zone = request.app[SETTINGS].zone
    rows = hearing_rows(days, zone) if table == "hearings" else participant_rows(days, zone)
    return web.Response(
        text=to_csv(rows, TABLES[table]),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{table}-{day}.csv"',
        },
    )


async def report_page(request: web.Request) -> web.Response:
    try:
        _logged_in(request)
    except Unauthorized:
        raise web.HTTPSeeOther("/court") from None
    day = _day(request)
    lang = choose_language(request)
    days = await _days(request, day, "html")
    zone = request.app[SETTINGS].zone
    page = render_report(day, hearing_rows(days, zone), participant_rows(days, zone), lang)
    headers = {"Cache-Control": "no-store", "Content-Language": lang}
    return web.Response(text=page, content_type="text/html", headers=headers)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _value(column: str, value: str, lang: str) -> str:
    """A cell as the page shows it: codes in words (`ordered:1` is `ordered by the court: 1`)."""
    if column not in WORDED or not value:
        return value
    words = []
    for part in value.split(";"):
        code, _, count = part.partition(":")
        word = t(lang, VALUE_WORDS[code]) if code in VALUE_WORDS else code
        words.append(f"{word}: {count}" if count else word)
    return "; ".join(words)


def _table(caption: str, rows: list[dict[str, str]], columns: tuple[str, ...], lang: str) -> str:
    heads = "".join(f'<th scope="col">{_e(t(lang, COLUMN_WORDS[c]))}</th>' for c in columns)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{_e(_value(c, row[c], lang))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    if not rows:
        body = f'<tr><td colspan="{len(columns)}">{_e(t(lang, "report.empty"))}</td></tr>'
    return (
        f'<div class="report-scroll" tabindex="0" role="region" aria-label="{_e(caption)}">'
        f'<table class="report-table"><caption>{_e(caption)}</caption>\n'
        f"<thead><tr>{heads}</tr></thead>\n<tbody>\n{body}\n</tbody></table></div>"
    )


def render_report(
    day: str, hearings: list[dict[str, str]], people: list[dict[str, str]], lang: str
) -> str:
    """The printable page: the day's two tables, links to the days around it, to the CSV,
    to the board, and to the other language; every value escaped."""
    first = date.fromisoformat(day)
    before, after = (first - timedelta(days=1)).isoformat(), (first + timedelta(days=1)).isoformat()
    title = t(lang, "report.title", date=day)
    switch = "".join(
        f'<li><a href="?date={day}&amp;lang={code}" hreflang="{code}" lang="{code}"'
        + (' aria-current="true"' if code == lang else "")
        + f">{_e(name)}</a></li>"
        for code, name in LANGUAGES.items()
    )
    links = [
        ("/court", t(lang, "report.back")),
        (f"?date={before}", t(lang, "report.previous_day")),
        (f"?date={after}", t(lang, "report.next_day")),
        (f"/court/report.csv?date={day}&table=hearings", t(lang, "report.csv_hearings")),
        (f"/court/report.csv?date={day}&table=participants", t(lang, "report.csv_participants")),
    ]
    nav = "".join(f'<li><a href="{_e(href)}">{_e(text)}</a></li>' for href, text in links)
    return _PAGE.format(
        lang=_e(lang),
        title=_e(title),
        skip=_e(t(lang, "common.skip")),
        court=_e(t(lang, "common.court")),
        language=_e(t(lang, "common.language")),
        switch=switch,
        actions=_e(t(lang, "report.actions")),
        nav=nav,
        note=_e(t(lang, "report.note")),
        hearings=_table(t(lang, "report.hearings"), hearings, HEARING_COLUMNS, lang),
        people=_table(t(lang, "report.participants"), people, PARTICIPANT_COLUMNS, lang),
    )


_PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/hearing.css">
<link rel="stylesheet" href="/static/language.css">
<link rel="stylesheet" href="/static/report.css">
</head>
<body>
<a class="skip" href="#main">{skip}</a>
<header class="bar with-language">
<p class="court">{court}</p>
<h1>{title}</h1>
<nav class="language" aria-label="{language}"><ul>{switch}</ul></nav>
</header>
<main id="main" class="report-main">
<nav class="report-actions" aria-label="{actions}"><ul>{nav}</ul></nav>
<p class="report-note">{note}</p>
{hearings}
{people}
</main>
</body>
</html>
"""
