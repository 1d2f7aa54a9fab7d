"""The supervision board, live over the socket server's `/court` namespace: only the court
administrator's credential opens it (the key, audited, or a ticket of a logged-in page);
a snapshot on connect, then the changes as the court acts, coalesced; the media health of
each hearing as counts, and the alerts for someone the court cannot sit without who is
neither seen nor heard, and for an audit log that cannot be written. Real server, real
socket clients (no media: everyone's media is `no_media`)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hearing.media_health import MediaHealth, health_counts, person_health
from security import Secret
from signaling.board import board_change
from signaling.client import BoardClient, BoardRefused, HearingClient
from tests.conftest import API_KEY, RunningServer, running_server
from tests.test_board import ADMIN_KEY, court_log, log_in
from tests.test_lobby_news import enter_as
from web.board import SESSION_SECONDS
from web.keys import AUDIT, BOARD_LIVE

NAMES = ("Judge Le", "Ms Nguyen", "Mr Tran")


@pytest.fixture
async def court(tmp_path: Path) -> AsyncIterator[RunningServer]:
    key = Secret(ADMIN_KEY.encode())
    async with running_server(tmp_path / "data", court_admin_key=key) as running:
        yield running


@pytest.fixture
async def boards() -> AsyncIterator[list[BoardClient]]:
    made: list[BoardClient] = []
    yield made
    await asyncio.gather(*(b.close() for b in made))


async def watch(server: RunningServer, boards: list[BoardClient], **auth: Any) -> BoardClient:
    board = BoardClient(server.base_url, auth=auth)
    boards.append(board)
    await board.connect()
    return board


def row_if(
    hid: str, good: Callable[[dict[str, Any]], bool] = lambda _row: True
) -> Callable[[BoardClient], dict[str, Any] | None]:
    def found(board: BoardClient) -> dict[str, Any] | None:
        row = board.row(hid)
        return row if row is not None and good(row) else None

    return found


async def refusal(server: RunningServer, auth: Any) -> str:
    board = BoardClient(server.base_url, auth=auth, timeout=5.0)
    try:
        await board.connect()
    except BoardRefused as refused:
        return refused.code
    finally:
        await board.close()
    raise AssertionError(f"{auth!r} opened the board")


async def a_ticket(server: RunningServer) -> str:
    status, cookie = await log_in(server, ADMIN_KEY)
    assert status == 204 and cookie
    async with server.session.get(
        f"{server.base_url}/court/ticket", cookies={"ecourt_court": cookie}
    ) as response:
        assert response.status == 200
        return str((await response.json())["ticket"])


async def test_the_live_board_is_refused_without_the_court_administrators_credential(
    court: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await court.create_hearing()
    issued = await court.issue_token(hearing["id"], "presiding_judge", "Judge Le")
    async with court.session.get(f"{court.base_url}/court/ticket") as response:
        assert response.status == 401  # no session, no ticket
    expired = f"{int(time.time()) - 1}.{'0' * 64}"
    for auth in (
        None,
        {},
        {"token": issued["token"]},  # a join link is not the board's
        {"key": API_KEY},  # nor is the API key
        {"key": "not the court administrator's key"},
        {"ticket": expired},
        {"ticket": f"{int(time.time()) + 60}.{'0' * 64}"},  # forged
        {"key": ADMIN_KEY, "ticket": "x"},
        {"key": 5},
    ):
        assert await refusal(court, auth) == "unauthorized", auth
    _, cookie = await log_in(court, ADMIN_KEY)
    assert await refusal(court, {"ticket": cookie}) == "unauthorized"  # a cookie is no ticket
    # the wrong keys given to the socket are audited, like the page's
    logins = court_log(court)
    assert logins.count(("board_login", "unauthorized")) == 2
    # and a join link still joins its hearing: the door serves both namespaces
    judge = await enter_as(court, clients, hearing["id"], "presiding_judge", "Judge Le")
    assert judge.admission == "admitted"


async def test_the_live_board_is_off_without_a_court_administrators_key(
    server: RunningServer,
) -> None:
    assert await refusal(server, {"key": ADMIN_KEY}) == "board_disabled"


async def test_the_key_and_a_logged_in_pages_ticket_open_it_and_the_key_is_audited(
    court: RunningServer, boards: list[BoardClient]
) -> None:
    by_key = await watch(court, boards, key=ADMIN_KEY)
    assert by_key.hearings == {} and by_key.node
    assert court_log(court)[-1] == ("board_login", "ok")
    by_ticket = await watch(court, boards, ticket=await a_ticket(court))
    assert by_ticket.events[0][0] == "board"


async def test_a_board_that_speaks_is_closed_as_a_protocol_violation(
    court: RunningServer, boards: list[BoardClient]
) -> None:
    board = await watch(court, boards, key=ADMIN_KEY)
    await board.emit("admit", {"participant_id": "p_x"})
    await board.wait_for(lambda b: b.disconnected, "the board closed")


async def test_the_board_follows_the_court_live_with_health_counts_and_no_names(
    court: RunningServer, clients: list[HearingClient], boards: list[BoardClient]
) -> None:
    board = await watch(court, boards, key=ADMIN_KEY)
    hearing = await court.create_hearing()
    hid = hearing["id"]
    judge = await enter_as(court, clients, hid, "presiding_judge", "Judge Le")
    party = await enter_as(court, clients, hid, "plaintiff", "Ms Nguyen")
    waiting = await board.wait_for(row_if(hid, lambda r: r["waiting"] == 1), "one waiting")
    assert waiting["phase"] == "scheduled" and waiting["alerts"] == []
    assert waiting["health"] == {h.value: int(h is MediaHealth.NO_MEDIA) for h in MediaHealth}
    await judge.admit(party.participant["id"])
    await party.wait_admitted(10)
    await judge.request("phase", {"phase": "in_session"})
    sitting = await board.wait_for(
        row_if(hid, lambda r: r["phase"] == "in_session" and bool(r["alerts"])), "the alert"
    )
    # nobody sends media: the plaintiff, whom the court cannot sit without, is not seen
    assert sitting["alerts"] == ["required_without_media"]
    assert sitting["health"]["no_media"] == 2 and sitting["waiting"] == 0
    assert any(name == "board_change" for name, _ in board.events)  # not a new snapshot
    sent = json.dumps(board.events)
    for secret in (*NAMES, judge.participant["id"], party.participant["id"], hearing["title"]):
        assert secret not in sent


async def test_a_burst_of_orders_reaches_the_board_coalesced(
    court: RunningServer, clients: list[HearingClient], boards: list[BoardClient]
) -> None:
    board = await watch(court, boards, key=ADMIN_KEY)
    hid = (await court.create_hearing())["id"]
    judge = await enter_as(court, clients, hid, "presiding_judge", "Judge Le")
    await board.wait_for(row_if(hid), "the hearing")
    before, started = len(board.events), time.monotonic()
    for phase in ("in_session", "recess") * 10:
        await judge.request("phase", {"phase": phase})
    await judge.request("phase", {"phase": "in_camera"})
    await board.wait_for(row_if(hid, lambda r: r["phase"] == "in_camera"), "the last phase")
    took = time.monotonic() - started
    # 21 phases; at most four changes a second reach a page (plus the one under way)
    assert len(board.events) - before <= took / 0.25 + 2


@contextmanager
def full_disk_under(path: Path) -> Iterator[None]:
    """The disk under an open file fills up: its descriptor now writes to /dev/full
    (ENOSPC), until the block ends."""
    fds = [int(fd) for fd in os.listdir("/proc/self/fd") if _target(fd) == str(path.resolve())]
    assert fds, f"{path} is not open"
    saved = {fd: os.dup(fd) for fd in fds}
    full = os.open("/dev/full", os.O_WRONLY)
    try:
        for fd in fds:
            os.dup2(full, fd)
        yield
    finally:
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(full)


def _target(fd: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
async def test_an_audit_log_that_cannot_be_written_is_an_alert_and_the_court_goes_on(
    court: RunningServer, clients: list[HearingClient], boards: list[BoardClient]
) -> None:
    board = await watch(court, boards, key=ADMIN_KEY)
    hid = (await court.create_hearing())["id"]
    judge = await enter_as(court, clients, hid, "presiding_judge", "Judge Le")
    await board.wait_for(row_if(hid), "the hearing")
    with full_disk_under(court.app[AUDIT].path(hid)):
        await judge.request("phase", {"phase": "in_session"})  # answered: the court goes on
        row = await board.wait_for(
            row_if(hid, lambda r: "audit_failed" in r["alerts"]), "the audit alert"
        )
    assert row["phase"] == "in_session"


def test_a_persons_media_is_the_worst_of_what_they_send() -> None:
    live, weak, frozen = MediaHealth.LIVE, MediaHealth.WEAK, MediaHealth.FROZEN
    none, again = MediaHealth.NO_MEDIA, MediaHealth.RECONNECTING
    assert person_health({"audio": live, "video": live}) is live
    assert person_health({"audio": live, "video": none}) is live  # heard by audio only
    assert person_health({"audio": live, "video": frozen}) is frozen
    assert person_health({"audio": weak, "video": live}) is weak
    assert person_health({"audio": again, "video": live}) is again
    assert person_health({"audio": none, "video": none}) is none
    assert person_health({}) is none
    counts = health_counts([{"audio": live}, {"audio": live, "video": frozen}, {}])
    assert counts == {"live": 1, "weak": 0, "frozen": 1, "no_media": 1, "reconnecting": 0}


def test_a_change_names_only_what_changed() -> None:
    def row(hid: str, phase: str) -> dict[str, Any]:
        return {"hearing_id": hid, "phase": phase}

    before = {"time": 1, "hearings": [row("h_a", "recess"), row("h_b", "in_session")]}
    same = {**before, "time": 2, "webhooks": []}
    assert board_change({**before, "webhooks": []}, same) is None
    after = {"time": 3, "hearings": [row("h_a", "in_session"), row("h_c", "scheduled")]}
    assert board_change(before, {**after, "webhooks": [{"pending": 1}]}) == {
        "time": 3,
        "hearings": [row("h_a", "in_session"), row("h_c", "scheduled")],
        "gone": ["h_b"],
        "webhooks": [{"pending": 1}],
    }


async def test_a_board_connection_is_closed_when_its_session_has_run_its_eight_hours(
    court: RunningServer, boards: list[BoardClient]
) -> None:
    """A board page's socket does not outlive the session that opened it, nor does one opened
    with the key; until then, looking again closes nothing (and writes no login)."""
    by_key = await watch(court, boards, key=ADMIN_KEY)
    by_ticket = await watch(court, boards, ticket=await a_ticket(court))
    channel = court.app[BOARD_LIVE]
    logins = len(court_log(court))
    assert await channel.recheck() == []
    assert len(court_log(court)) == logins  # a look again is no login
    assert channel.watchers == 2
    closed = await channel.recheck(now=time.time() + SESSION_SECONDS + 1)
    assert len(closed) == 2
    for board in (by_key, by_ticket):
        for _ in range(100):
            if board.disconnected:
                break
            await asyncio.sleep(0.05)
        assert board.disconnected
