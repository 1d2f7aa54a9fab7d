"""An admitted exhibit presented to the room: page turns, zoom and pointer reach everyone
who sees the presenter's screen, quickly; pages are served one at a time to them and to no
one else; a restricted exhibit never reaches the accused, whose page requests are refused
403 and audited; each exhibit shown and each page turned is in the hearing's log."""

from __future__ import annotations

import io
import time
from typing import Any

import pypdfium2
import pytest
from PIL import Image

from security import AuditEntry
from signaling.client import HearingClient, RequestFailed
from tests import exhibit_samples as samples
from tests.conftest import RunningServer
from tests.test_exhibit_orders import hearing_log
from tests.test_exhibits_api import decide, person, upload
from tests.test_signaling import connect

PAGE_TURN_BOUND = 0.5
"""Seconds within which every viewer sees the presenter's page (the issue's bound)."""


async def seated(
    server: RunningServer, clients: list[HearingClient], hearing: str, role: str, judge: Any
) -> tuple[HearingClient, str]:
    issued = await server.issue_token(hearing, role, f"A {role}")
    client = await connect(server, clients, issued["token"])
    if client.admission != "admitted":
        await judge.request("admit", {"participant_id": client.participant["id"]})
        await client.wait_until(lambda: client.admission == "admitted", 5, "admitted")
    return client, str(issued["token"])


async def admitted_exhibit(
    server: RunningServer, hearing: str, data: bytes, **query: str
) -> dict[str, Any]:
    submitter = await person(server, hearing, "prosecutor")
    clerk = await person(server, hearing, "clerk")
    status, exhibit = await upload(server, hearing, submitter, data, **query)
    assert status == 201, exhibit
    assert (await decide(server, hearing, exhibit["id"], clerk, "admit"))[0] == 200
    return exhibit


async def fetch_page(
    server: RunningServer,
    hearing: str,
    exhibit_id: str,
    page: int,
    token: str | None,
    form: str = "png",
) -> tuple[int, bytes, str]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    url = f"{server.base_url}/api/hearings/{hearing}/exhibits/{exhibit_id}/pages/{page}?as={form}"
    async with server.session.get(url, headers=headers) as response:
        return response.status, await response.read(), response.headers.get("Cache-Control", "")


def actions(server: RunningServer, hearing: str) -> list[AuditEntry]:
    return [e for e in hearing_log(server, hearing) if e.action.startswith("exhibit_")]


async def test_page_turns_reach_both_viewers_within_half_a_second_and_are_audited(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = (await server.create_hearing(type="trial"))["id"]
    judge, _ = await seated(server, clients, hearing, "presiding_judge", None)
    await judge.request("phase", {"phase": "in_session"})
    first, first_token = await seated(server, clients, hearing, "plaintiff", judge)
    second, _ = await seated(server, clients, hearing, "respondent", judge)
    exhibit = await admitted_exhibit(server, hearing, samples.clean_pdf(pages=5))
    shown = await judge.present_exhibit(exhibit["id"])
    assert (shown["number"], shown["pages"], shown["page"]) == ("P-1", 5, 1)
    for viewer in (first, second):
        await viewer.wait_until(lambda v=viewer: v.exhibit is not None, 5, "the exhibit shown")
    for page in (3, 4, 2):
        sent = time.monotonic()
        await judge.turn_exhibit_page(page, zoom=1.5, pointer=(0.25, 0.75))
        for viewer in (first, second):
            await viewer.wait_until(
                lambda v=viewer, p=page: v.exhibit is not None and v.exhibit["page"] == p,
                5,
                f"page {page}",
            )
            assert viewer.exhibit_at - sent < PAGE_TURN_BOUND
            assert viewer.exhibit is not None
            assert (viewer.exhibit["zoom"], viewer.exhibit["pointer"]) == (1.5, [0.25, 0.75])
    status, body, cache = await fetch_page(server, hearing, exhibit["id"], 2, first_token)
    assert status == 200 and "no-store" in cache
    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "PNG" and image.width == 1240
    status, single, _ = await fetch_page(server, hearing, exhibit["id"], 2, first_token, "pdf")
    assert status == 200 and len(pypdfium2.PdfDocument(single)) == 1  # for pdf.js: that page only
    status, _, _ = await fetch_page(server, hearing, exhibit["id"], 4, first_token)
    assert status == 409  # one page at a time: the one on screen
    assert (await fetch_page(server, hearing, exhibit["id"], 2, None))[0] == 401
    await judge.stop_exhibit()
    await first.wait_until(lambda: first.exhibit is None, 5, "the exhibit taken down")
    assert (await fetch_page(server, hearing, exhibit["id"], 2, first_token))[0] == 409
    log = [(e.action, dict(e.details).get("page")) for e in actions(server, hearing)]
    assert [a for a in log if a[0] not in ("exhibit_submitted", "exhibit_admitted")] == [
        ("exhibit_presented", 1),
        ("exhibit_page", 3),
        ("exhibit_page", 4),
        ("exhibit_page", 2),
        ("exhibit_stopped", 2),
    ]


async def test_a_restricted_exhibit_never_reaches_the_accused(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = (await server.create_hearing(type="trial", profile="vn"))["id"]
    judge, judge_token = await seated(server, clients, hearing, "presiding_judge", None)
    await judge.request("phase", {"phase": "in_session"})
    accused, accused_token = await seated(server, clients, hearing, "accused", judge)
    counsel, counsel_token = await seated(server, clients, hearing, "defence_counsel", judge)
    statement = samples.clean_pdf(pages=2)
    exhibit = await admitted_exhibit(server, hearing, statement, restricted="true")
    await judge.present_exhibit(exhibit["id"])
    await counsel.wait_until(lambda: counsel.exhibit is not None, 5, "the counsel sees it")
    await judge.turn_exhibit_page(2)
    await counsel.wait_until(lambda: (counsel.exhibit or {}).get("page") == 2, 5, "page 2")
    told = [p for e, p in accused.events if e == "exhibit_shown"]
    assert told and all(p == {"exhibit": None} for p in told)  # never the exhibit itself
    status, body, _ = await fetch_page(server, hearing, exhibit["id"], 2, accused_token)
    assert status == 403 and b"exhibit_hidden" in body
    assert (await fetch_page(server, hearing, exhibit["id"], 2, counsel_token))[0] == 200
    assert (await fetch_page(server, hearing, exhibit["id"], 1, judge_token))[0] == 200
    refused = [e for e in actions(server, hearing) if e.action == "exhibit_page_refused"]
    assert [(e.actor, e.target, e.result) for e in refused] == [
        (accused.participant["id"], exhibit["id"], "exhibit_hidden")
    ]


async def test_only_whom_the_judge_lets_share_presents_and_only_an_admitted_exhibit(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = (await server.create_hearing(type="trial"))["id"]
    judge, _ = await seated(server, clients, hearing, "presiding_judge", None)
    await judge.request("phase", {"phase": "in_session"})
    plaintiff, _ = await seated(server, clients, hearing, "plaintiff", judge)
    exhibit = await admitted_exhibit(server, hearing, samples.png())
    with pytest.raises(RequestFailed) as refused:
        await plaintiff.present_exhibit(exhibit["id"])
    assert refused.value.code == "forbidden"
    await judge.request(
        "grant_screen", {"participant_id": plaintiff.participant["id"], "granted": True}
    )
    shown = await plaintiff.present_exhibit(exhibit["id"])
    assert (shown["kind"], shown["pages"]) == ("png", 1)
    with pytest.raises(RequestFailed) as beyond:
        await plaintiff.turn_exhibit_page(2)
    assert beyond.value.code == "exhibit_not_presented"
    with pytest.raises(RequestFailed) as not_presenter:
        await judge.turn_exhibit_page(1)
    assert not_presenter.value.code == "exhibit_not_presented"
    submitter = await person(server, hearing, "respondent")
    _, pending = await upload(server, hearing, submitter, samples.jpeg())
    with pytest.raises(RequestFailed) as not_admitted:
        await judge.present_exhibit(pending["id"])
    assert not_admitted.value.code == "exhibit_not_admitted"
    ack = await judge.emit_raw("exhibit_page", {"page": 1, "pointer": [2, 0]})
    assert ack["error"]["code"] == "bad_request" and ack["error"]["field"] == "pointer"
