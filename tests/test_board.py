"""The court's supervision board: its own key and login (audited), a session cookie, and the
hearings of this node as counts and states, updated as the court acts. Real server, real
socket clients (no media)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from security import AuditEntry, Secret
from security.audit_record import parse_line
from signaling.client import HearingClient
from tests.conftest import RunningServer, running_server
from tests.test_lobby_news import enter_as
from web.audit import COURT_LOG
from web.board import COOKIE, check_session, session_cookie
from web.keys import AUDIT

ADMIN_KEY = "court-admin-key-0123456789"


@pytest.fixture
async def court(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path / "data", court_admin_key=Secret(ADMIN_KEY.encode())) as s:
        yield s


async def log_in(server: RunningServer, key: str) -> tuple[int, str | None]:
    async with server.session.post(f"{server.base_url}/court/login", json={"key": key}) as r:
        cookie = r.cookies.get(COOKIE)
        if cookie is not None:
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
            assert cookie["path"] == "/court"
        return r.status, None if cookie is None else cookie.value


async def read_board(server: RunningServer, cookie: str | None) -> tuple[int, Any]:
    cookies = {} if cookie is None else {COOKIE: cookie}
    async with server.session.get(
        f"{server.base_url}/court/board.json", cookies=cookies
    ) as response:
        return response.status, await response.json()


def court_log(server: RunningServer) -> list[tuple[str, str]]:
    path = server.app[AUDIT].directory / f"{COURT_LOG}.court.jsonl"
    records = [parse_line(line) for line in path.read_bytes().splitlines()]
    return [(r.action, r.result) for r in records if isinstance(r, AuditEntry)]


async def test_the_board_is_off_without_a_court_administrators_key(server: RunningServer) -> None:
    status, body = await read_board(server, None)
    assert (status, body["error"]["code"]) == (403, "board_disabled")
    assert (await log_in(server, ADMIN_KEY))[0] == 403


async def test_only_the_court_administrators_key_logs_in_and_every_try_is_audited(
    court: RunningServer,
) -> None:
    assert await log_in(court, "not-the-key-at-all") == (401, None)
    assert (await read_board(court, None))[0] == 401
    assert (await log_in(court, "test-api-key-0123456789"))[0] == 401  # the API key is not it
    status, cookie = await log_in(court, ADMIN_KEY)
    assert status == 204 and cookie
    status, board = await read_board(court, cookie)
    assert status == 200 and board["hearings"] == [] and board["node"]
    assert court_log(court) == [
        ("board_login", "unauthorized"),
        ("board_login", "unauthorized"),
        ("board_login", "ok"),
    ]


async def test_a_login_body_that_is_not_one_is_refused_naming_the_field(
    court: RunningServer,
) -> None:
    for body in ({}, {"key": 5}, {"key": ADMIN_KEY, "more": 1}):
        async with court.session.post(f"{court.base_url}/court/login", json=body) as r:
            assert r.status == 400 and (await r.json())["error"]["field"] == "key"


def test_a_session_cookie_holds_only_for_its_key_and_until_it_expires() -> None:
    key, other = Secret(b"k" * 20), Secret(b"o" * 20)
    cookie = session_cookie(key, now=1000.0)
    assert check_session(key, cookie, now=1000.0)
    assert not check_session(other, cookie, now=1000.0)
    assert not check_session(key, cookie, now=1000.0 + 9 * 3600)
    expires, _, mac = cookie.partition(".")
    assert not check_session(key, f"{int(expires) + 3600}.{mac}", now=1000.0)  # stretched
    for forged in ("", ".", "abc.def", f"{expires}.", "9" * 40 + "." + mac):
        assert not check_session(key, forged, now=1000.0)


async def test_the_board_follows_a_hearing_as_the_court_acts_and_shows_no_one_by_name(
    court: RunningServer, clients: list[HearingClient]
) -> None:
    _, cookie = await log_in(court, ADMIN_KEY)
    hearing = await court.create_hearing()
    judge = await enter_as(court, clients, hearing["id"], "presiding_judge", "Judge Le")
    party = await enter_as(court, clients, hearing["id"], "plaintiff", "Ms Nguyen")
    await judge.wait_for_waiting(party.participant["id"])

    async def row() -> dict[str, Any]:
        status, board = await read_board(court, cookie)
        assert status == 200
        (found,) = [h for h in board["hearings"] if h["hearing_id"] == hearing["id"]]
        text = json.dumps(board)
        for secret in ("Judge Le", "Ms Nguyen", judge.participant["id"], party.participant["id"]):
            assert secret not in text
        result: dict[str, Any] = found
        return result

    waiting = await row()
    assert (waiting["phase"], waiting["waiting"], waiting["rooms"]) == (
        "scheduled",
        1,
        {"courtroom": 1},
    )
    assert waiting["case_number"] == hearing["case_number"] and "title" not in waiting
    assert waiting["alerts"] == [] and waiting["recording"] in ("off", "idle")
    await judge.admit(party.participant["id"])
    await party.wait_admitted(10)
    await judge.request("phase", {"phase": "in_session"})
    deadline = time.monotonic() + 10
    while (sitting := await row())["rooms"] != {"courtroom": 2}:
        assert time.monotonic() < deadline, sitting
    assert (sitting["phase"], sitting["waiting"]) == ("in_session", 0)
