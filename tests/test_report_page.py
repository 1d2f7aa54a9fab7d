"""The day's report under the supervision board: a printable page in the page's language and
CSV downloads of the same tables, from this node's real audit logs; only for a logged-in
court administrator, and every report made is in the court's own audit log."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from security import Secret
from signaling.client import HearingClient
from signaling.errors import LeaveReason
from tests.conftest import RunningServer, running_server
from tests.test_board import ADMIN_KEY, court_log, log_in
from tests.test_lobby_news import enter_as
from web.board import COOKIE
from web.i18n import CATALOGUES, t
from web.keys import SETTINGS
from web.report import HEARING_COLUMNS, PARTICIPANT_COLUMNS
from web.report_page import COLUMN_WORDS, VALUE_WORDS


@pytest.fixture
async def court(tmp_path: Path) -> AsyncIterator[RunningServer]:
    key = Secret(ADMIN_KEY.encode())
    async with running_server(tmp_path / "court", court_admin_key=key) as running:
        yield running


async def fetch(
    server: RunningServer, path: str, cookie: str | None
) -> tuple[int, dict[str, str], str]:
    cookies = {} if cookie is None else {COOKIE: cookie}
    async with server.session.get(
        f"{server.base_url}{path}", cookies=cookies, allow_redirects=False
    ) as response:
        return response.status, dict(response.headers), await response.text()


async def test_the_report_is_only_for_a_logged_in_court_administrator(
    court: RunningServer, server: RunningServer
) -> None:
    status, headers, _ = await fetch(court, "/court/report", None)
    assert (status, headers["Location"]) == (303, "/court")  # to the board's login
    assert (await fetch(court, "/court/report.csv", None))[0] == 401
    assert (await fetch(court, "/court/report.csv", "1.forged"))[0] == 401
    assert (await fetch(server, "/court/report.csv", None))[0] == 403  # no board here


async def test_the_days_report_is_a_printable_page_and_csv_of_the_same_day(
    court: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await court.create_hearing()
    judge = await enter_as(court, clients, hearing["id"], "presiding_judge", "Judge Le")
    party = await enter_as(court, clients, hearing["id"], "plaintiff", "Ms Nguyen")
    await judge.wait_for_waiting(party.participant["id"])
    await judge.admit(party.participant["id"])
    await judge.request("phase", {"phase": "in_session"})
    await judge.request("phase", {"phase": "recess"})
    _, cookie = await log_in(court, ADMIN_KEY)
    today = datetime.now(court.app[SETTINGS].zone).date().isoformat()

    for lang in ("en", "vi"):
        status, headers, page = await fetch(
            court, f"/court/report?date={today}&lang={lang}", cookie
        )
        assert status == 200 and headers["Content-Language"] == lang
        assert t(lang, "report.title", date=today) in page
        assert t(lang, "report.col.sat_minutes") in page and hearing["id"] in page
        assert party.participant["id"] in page
        for secret in ("Judge Le", "Ms Nguyen", hearing["title"]):
            assert secret not in page
        assert "<script" not in page and "<style" not in page  # the pages' policy allows neither

    status, headers, text = await fetch(
        court, f"/court/report.csv?date={today}&table=hearings", cookie
    )
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"] == f'attachment; filename="hearings-{today}.csv"'
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert tuple(row) == HEARING_COLUMNS
    assert (row["hearing_id"], row["recesses"], row["recess_reasons"]) == (
        hearing["id"],
        "1",
        "ordered:1",
    )
    assert row["participants"] == "2"
    status, _, text = await fetch(
        court, f"/court/report.csv?date={today}&table=participants", cookie
    )
    people = list(csv.DictReader(io.StringIO(text)))
    assert {p["participant_id"] for p in people} == {
        judge.participant["id"],
        party.participant["id"],
    }
    reports = [entry for entry in court_log(court) if entry[0] == "report_day"]
    assert len(reports) == 4  # two pages, two downloads


async def test_a_bad_date_or_table_is_refused_naming_the_field(court: RunningServer) -> None:
    _, cookie = await log_in(court, ADMIN_KEY)
    for path, field in (
        ("/court/report.csv?date=2026-13-01", "date"),
        ("/court/report.csv?date=7%2F12%2F2026", "date"),
        ("/court/report?date=yesterday", "date"),
        ("/court/report.csv?date=2026-12-07&table=names", "table"),
    ):
        status, _, text = await fetch(court, path, cookie)
        assert status == 400 and f'"field": "{field}"' in text, (path, text)


def test_every_column_of_the_report_has_its_words_in_both_languages() -> None:
    assert set(COLUMN_WORDS) == set(HEARING_COLUMNS) | set(PARTICIPANT_COLUMNS)
    for key in COLUMN_WORDS.values():
        assert key in CATALOGUES["en"] and key in CATALOGUES["vi"], key


def test_every_code_the_page_puts_in_words_has_them_in_both_languages() -> None:
    for key in VALUE_WORDS.values():
        assert key in CATALOGUES["en"] and key in CATALOGUES["vi"], key
    assert set(LeaveReason) <= set(VALUE_WORDS)  # every reason someone leaves for
