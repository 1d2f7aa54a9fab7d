"""Recording as the court drives it: going into session starts it, a recess pauses it, the end
of the hearing stops it; a conciliation refuses it even through a raw protocol message; the
REST API lists and exports only this hearing's recordings, and audits every export."""

from __future__ import annotations

import json
from typing import Any

import pytest

from signaling.client import HearingClient
from tests.conftest import RunningServer
from tests.test_signaling import enter
from web.keys import AUDIT, RECORDINGS


async def judge_in_court(
    server: RunningServer, clients: list[HearingClient], **hearing: Any
) -> tuple[str, HearingClient]:
    created = await server.create_hearing(**hearing)
    judge = await enter(server, clients, created["id"], "presiding_judge")
    return created["id"], judge


async def recordings(server: RunningServer, hearing_id: str) -> list[dict[str, Any]]:
    async with server.session.get(
        f"{server.base_url}/api/hearings/{hearing_id}/recordings", headers=server.headers
    ) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return list(body["recordings"])


def audit_actions(server: RunningServer, hearing_id: str) -> list[tuple[str, str]]:
    lines = server.app[AUDIT].path(hearing_id).read_text().splitlines()
    entries = [e for e in map(json.loads, lines) if e["type"] == "entry"]
    return [(e["action"], e["result"]) for e in entries]


async def test_going_into_session_starts_the_recording_and_everyone_is_told(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing_id, judge = await judge_in_court(server, clients)
    assert (await recordings(server, hearing_id)) == []
    await judge.request("phase", {"phase": "in_session"})
    await judge.wait_until(lambda: judge.state.get("recording") == "recording", 5, "recording")
    [listed] = await recordings(server, hearing_id)
    assert listed["state"] == "recording"
    await judge.request("phase", {"phase": "recess"})
    await judge.wait_until(lambda: judge.state.get("recording") == "paused", 5, "paused")
    ack = await judge.emit_raw("recording", {"action": "start"})
    assert ack["error"]["code"] == "recording_forbidden"  # not while the court is in recess
    await judge.request("end_hearing")
    [listed] = await recordings(server, hearing_id)
    assert listed["state"] == "stopped"
    actions = [a for a, _ in audit_actions(server, hearing_id)]
    assert actions.index("recording_started") < actions.index("recording_paused")
    assert "recording_stopped" in actions


async def test_the_judge_can_pause_and_restart_the_recording(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    _hearing_id, judge = await judge_in_court(server, clients)
    await judge.request("phase", {"phase": "in_session"})
    assert (await judge.request("recording", {"action": "pause"}))["recording"] == "paused"
    assert (await judge.request("recording", {"action": "start"}))["recording"] == "recording"


async def test_a_conciliation_refuses_a_raw_recording_message_and_writes_nothing(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing_id, judge = await judge_in_court(server, clients, type="conciliation")
    await judge.request("phase", {"phase": "in_session"})
    ack = await judge.emit_raw("recording", {"action": "start"})
    assert ack["ok"] is False and ack["error"]["code"] == "recording_forbidden"
    assert await recordings(server, hearing_id) == []
    assert not server.app[RECORDINGS].directory.exists() or not any(
        server.app[RECORDINGS].directory.iterdir()
    )
    assert ("refused", "recording_forbidden") in audit_actions(server, hearing_id)


@pytest.mark.parametrize(
    "payload", [None, {}, {"action": "record"}, {"action": "start", "extra": 1}, ["start"]]
)
async def test_a_malformed_recording_order_is_a_bad_request(
    server: RunningServer, clients: list[HearingClient], payload: Any
) -> None:
    _hearing_id, judge = await judge_in_court(server, clients)
    ack = await judge.emit_raw("recording", payload)
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request"


async def test_recordings_of_one_hearing_are_not_found_through_another(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    first, judge = await judge_in_court(server, clients)
    second = (await server.create_hearing(case_number="02/2026/DS-ST"))["id"]
    await judge.request("phase", {"phase": "in_session"})
    [listed] = await recordings(server, first)
    assert await recordings(server, second) == []
    rid = listed["id"]
    probes = [
        f"/api/hearings/{second}/recordings/{rid}/export",
        f"/api/hearings/{first}/recordings/r-0000000000000000/export",
        f"/api/hearings/{first}/recordings/..%2F..%2Faudit/export",
        f"/api/hearings/{first}/recordings/{rid}/tracks/..%2Fkeys.json",
        f"/api/hearings/{first}/recordings/{rid}/tracks/t-0000000000000000",
        f"/api/hearings/{first}/recordings/%2Fetc%2Fpasswd/export",
    ]
    for path in probes:
        async with server.session.get(server.base_url + path, headers=server.headers) as response:
            assert response.status == 404, (path, response.status)
            assert (await response.json())["error"]["code"] in ("recording_not_found", "not_found")
    async with server.session.get(f"{server.base_url}/api/hearings/{first}/recordings") as response:
        assert response.status == 401


async def test_an_unfinished_recording_is_not_exported_and_the_refusal_is_audited(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing_id, judge = await judge_in_court(server, clients)
    await judge.request("phase", {"phase": "in_session"})
    [listed] = await recordings(server, hearing_id)
    url = f"{server.base_url}/api/hearings/{hearing_id}/recordings/{listed['id']}/export"
    async with server.session.get(url, headers=server.headers) as response:
        assert response.status == 409
        assert (await response.json())["error"]["code"] == "recording_incomplete"
    async with server.session.get(
        url + "?allow_incomplete=maybe", headers=server.headers
    ) as response:
        assert response.status == 400
        error = (await response.json())["error"]
        assert error["code"] == "bad_request" and error["field"] == "allow_incomplete"
    custody = server.app[AUDIT].custody_path(hearing_id).read_text().splitlines()
    refusals = [e for e in map(json.loads, custody) if e.get("action") == "recording_exported"]
    assert [e["result"] for e in refusals] == ["recording_incomplete"]
