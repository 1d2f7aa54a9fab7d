"""The embedded default keeps its records over a restart: a hearing scheduled on a real
`ecourt serve` (no Redis: SQLite in the data dir), the process stopped or killed, then started
again on the same data dir, is held with the links issued before; the participants issued
links are listed as before, and a link revoked before stays revoked. A data dir of an older
schema is migrated at start."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from signaling.client import HearingClient, JoinRefused
from signaling.sqlite_schema import SCHEMA_VERSION
from signaling.sqlite_store import FILE_NAME
from signaling.store import hearing_record
from tests.cluster_support import HEADERS, schedule, start_embedded_node, wait_ready
from tests.conftest import free_port
from tests.test_sqlite_store import VERSION_1
from tests.test_stores import hearing


async def issue(http: aiohttp.ClientSession, url: str, hid: str, role: str, name: str) -> Any:
    body = {"role": role, "display_name": name, "ttl_seconds": 7 * 24 * 3600}
    async with http.post(f"{url}/api/hearings/{hid}/tokens", json=body, headers=HEADERS) as r:
        assert r.status == 201, await r.text()
        return await r.json()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
async def test_a_hearing_scheduled_before_a_restart_is_held_with_the_links_issued_before(
    tmp_path: Path, stop: signal.Signals
) -> None:
    data, port = tmp_path / "data", free_port()
    data.mkdir()
    node = start_embedded_node("node", data, port, ECOURT_MAX_TOKEN_TTL=str(7 * 24 * 3600))
    clients: list[HearingClient] = []
    try:
        await wait_ready(node.url)
        async with aiohttp.ClientSession() as http:
            hid = await schedule(http, node.url, scheduled_at="2031-06-02T09:00:00+07:00")
            async with http.get(f"{node.url}/api/hearings/{hid}", headers=HEADERS) as r:
                before = await r.json()
            judge_link = await issue(http, node.url, hid, "presiding_judge", "Judge Le")
            party_link = await issue(http, node.url, hid, "plaintiff", "Ms Nguyen")
            revoked = await issue(http, node.url, hid, "respondent", "Mr Tran")
            revoke = f"{node.url}/api/hearings/{hid}/tokens/{revoked['participant_id']}/revoke"
            async with http.post(revoke, headers=HEADERS) as r:
                assert r.status == 204

        node.process.send_signal(stop)
        await asyncio.to_thread(node.process.wait, 20)
        node = start_embedded_node("node", data, port, ECOURT_MAX_TOKEN_TTL=str(7 * 24 * 3600))
        await wait_ready(node.url)

        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{node.url}/api/hearings/{hid}", headers=HEADERS) as r,
        ):
            assert r.status == 200 and await r.json() == before
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{node.url}/api/hearings/{hid}/participants", headers=HEADERS) as r,
        ):
            listed = (await r.json())["participants"]
        issued = (judge_link, party_link, revoked)
        assert [(p["participant_id"], p["token_id"], p["revoked"]) for p in listed] == [
            (i["participant_id"], i["token_id"], i is revoked) for i in issued
        ]
        judge = HearingClient(node.url, judge_link["token"])
        party = HearingClient(node.url, party_link["token"])
        clients += [judge, party]
        await judge.connect()
        await party.connect()
        await judge.wait_for_waiting(party.participant["id"])
        await judge.admit(party.participant["id"])
        await party.wait_admitted()
        await judge.request("phase", {"phase": "in_session"})
        refused = HearingClient(node.url, revoked["token"])
        clients.append(refused)
        with pytest.raises(JoinRefused) as refusal:
            await refused.connect()
        assert refusal.value.code == "token_revoked"
    finally:
        for client in clients:
            await client.close()
        if node.process.poll() is None:
            assert await asyncio.to_thread(node.stop) == 0


async def test_ecourt_serve_on_a_data_dir_of_schema_version_1_migrates_it_and_serves_its_hearings(
    tmp_path: Path,
) -> None:
    data, port = tmp_path / "data", free_port()
    data.mkdir()
    old = hearing()
    with closing(sqlite3.connect(data / FILE_NAME)) as db, db:
        for statement in VERSION_1:
            db.execute(statement)
        db.execute(
            "INSERT INTO hearings VALUES (?, ?, ?)",
            (old.id, old.scheduled_at.timestamp(), json.dumps(hearing_record(old))),
        )
    node = start_embedded_node("node", data, port, ECOURT_MAX_TOKEN_TTL=str(7 * 24 * 3600))
    try:
        await wait_ready(node.url)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{node.url}/api/hearings/{old.id}", headers=HEADERS) as r:
                assert r.status == 200 and (await r.json())["title"] == old.title
            judge = await issue(http, node.url, old.id, "presiding_judge", "Judge Le")  # v3
            async with http.get(
                f"{node.url}/api/hearings/{old.id}/participants", headers=HEADERS
            ) as r:
                assert [p["token_id"] for p in (await r.json())["participants"]] == [
                    judge["token_id"]
                ]
    finally:
        assert await asyncio.to_thread(node.stop) == 0
    with closing(sqlite3.connect(data / FILE_NAME)) as db:
        assert db.execute("SELECT version FROM schema_version").fetchone() == (SCHEMA_VERSION,)
