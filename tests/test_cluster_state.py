"""Two nodes on one real Redis: they share the hearings, the revocations and the court's state
of a hearing, so a participant admitted on one node enters on the other without the lobby, in
the same room; and a node whose Redis does not answer says it is not ready."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from security import verify_file
from signaling.client import HearingClient, JoinRefused
from tests.conftest import RunningServer, free_port, running_server
from web.keys import AUDIT, SIGNALING

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    prefix = f"ecourt-test-{secrets.token_hex(6)}:"
    yield prefix
    redis = Redis.from_url(REDIS_URL)
    keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


def node(tmp_path: Path, name: str, prefix: str, **overrides: Any) -> Any:
    return running_server(tmp_path / name, redis_url=REDIS_URL, redis_prefix=prefix, **overrides)


async def connect(server: RunningServer, clients: list[HearingClient], token: str) -> HearingClient:
    client = HearingClient(server.base_url, token)
    clients.append(client)
    await client.connect()
    return client


async def test_a_hearing_scheduled_on_one_node_is_known_to_the_other(
    tmp_path: Path, prefix: str
) -> None:
    async with node(tmp_path, "a", prefix) as a, node(tmp_path, "b", prefix) as b:
        hearing = await a.create_hearing()
        async with b.session.get(
            f"{b.base_url}/api/hearings/{hearing['id']}", headers=b.headers
        ) as response:
            assert response.status == 200
            assert (await response.json())["case_number"] == hearing["case_number"]


async def test_a_participant_admitted_on_a_node_that_stopped_enters_another_in_the_same_room(
    tmp_path: Path, prefix: str, clients: list[HearingClient]
) -> None:
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(node(tmp_path, "a", prefix))
        hearing = await a.create_hearing()
        hid = hearing["id"]
        judge_token = (await a.issue_token(hid, "presiding_judge", "Judge Le"))["token"]
        counsel_token = (await a.issue_token(hid, "defence_counsel", "Ms Vo"))["token"]
        judge = await connect(a, clients, judge_token)
        counsel = await connect(a, clients, counsel_token)
        await judge.wait_for_waiting(counsel.participant["id"])
        await judge.admit(counsel.participant["id"])
        await counsel.wait_admitted()
        await judge.request("phase", {"phase": "in_session"})
        room = {"kind": "consultation", "id": "c1"}
        await judge.request("move", {"participant_id": counsel.participant["id"], "room": room})
        session = a.app[SIGNALING].session(hid)
        assert session is not None
        await session._state.flush()
        for client in list(clients):
            await client.close()
    # node a is gone; node b takes the hearing over from Redis
    async with node(tmp_path, "b", prefix) as b:
        counsel = await connect(b, clients, counsel_token)
        assert counsel.admission == "admitted"  # no second pass through the lobby
        session = b.app[SIGNALING].session(hid)
        assert session is not None
        assert session.court.phase.value == "in_session"
        member = session.members[counsel.participant["id"]]
        seat = session.seat_of(member.participant)
        assert seat is not None and (seat.room.kind.value, seat.room.id) == ("consultation", "c1")
        await counsel.close()  # before node b stops, or its shutdown waits for the socket


async def test_a_link_revoked_on_one_node_is_refused_on_the_other(
    tmp_path: Path, prefix: str, clients: list[HearingClient]
) -> None:
    async with node(tmp_path, "a", prefix) as a, node(tmp_path, "b", prefix) as b:
        hearing = await a.create_hearing()
        issued = await a.issue_token(hearing["id"], "plaintiff", "Ms Nguyen")
        async with a.session.post(
            f"{a.base_url}/api/hearings/{hearing['id']}/tokens/{issued['participant_id']}/revoke",
            headers=a.headers,
        ) as response:
            assert response.status == 204
        with pytest.raises(JoinRefused) as refused:
            await connect(b, clients, issued["token"])
        assert refused.value.code == "token_revoked"


async def test_a_node_whose_redis_does_not_answer_is_not_ready(tmp_path: Path) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    async with running_server(tmp_path / "data", redis_url=dead) as server:
        async with server.session.get(f"{server.base_url}/readyz") as response:
            assert response.status == 503
            assert (await response.json())["error"]["code"] == "not_ready"
        async with server.session.get(f"{server.base_url}/healthz") as response:
            assert response.status == 200


async def test_a_client_that_reaches_the_wrong_node_is_sent_to_the_one_hosting_its_hearing(
    tmp_path: Path, prefix: str, clients: list[HearingClient]
) -> None:
    async with node(tmp_path, "a", prefix) as a, node(tmp_path, "b", prefix) as b:
        hearing = await a.create_hearing()
        hid = hearing["id"]
        judge = await connect(
            a, clients, (await a.issue_token(hid, "presiding_judge", "Judge Le"))["token"]
        )
        party = await connect(
            b, clients, (await b.issue_token(hid, "plaintiff", "Ms Nguyen"))["token"]
        )
        assert party.base_url == a.base_url  # followed the redirect
        assert party.admission == "waiting"
        await judge.wait_for_waiting(party.participant["id"])
        assert b.app[SIGNALING].session(hid) is None  # one hearing, one node
        for client in (judge, party):
            await client.close()


async def test_a_new_hearing_goes_to_the_least_loaded_live_node(prefix: str) -> None:
    from signaling.placement import NodeInfo, RedisPlacement

    redis = Redis.from_url(REDIS_URL)
    try:
        placement = RedisPlacement(redis, prefix)
        busy, idle = (
            NodeInfo("n-busy", "http://busy", load=9),
            NodeInfo("n-idle", "http://idle", load=1),
        )
        await placement.heartbeat(busy)
        await placement.heartbeat(idle)
        assert (await placement.place("h_one", busy)).node_id == "n-idle"
        assert (await placement.place("h_one", busy)).node_id == "n-idle"  # it stays put
        await placement.heartbeat(NodeInfo("n-idle", "http://idle", load=1, draining=True))
        assert (await placement.place("h_two", busy)).node_id == "n-busy"  # never to a drainer
        await placement.leave("n-idle")
        assert (await placement.place("h_one", busy)).node_id == "n-busy"  # moved on leaving
        assert await placement.hosted_by("n-busy") == ["h_one", "h_two"]
    finally:
        await redis.aclose()


async def test_a_link_revoked_through_one_node_closes_the_connection_on_the_host_at_once(
    tmp_path: Path, prefix: str, clients: list[HearingClient]
) -> None:
    async with node(tmp_path, "a", prefix) as a, node(tmp_path, "b", prefix) as b:
        hearing = await a.create_hearing()
        hid = hearing["id"]
        judge = await connect(
            a, clients, (await a.issue_token(hid, "presiding_judge", "Judge Le"))["token"]
        )
        await asyncio.sleep(0.3)  # both nodes listen for orders
        async with b.session.post(
            f"{b.base_url}/api/hearings/{hid}/tokens/{judge.participant['id']}/revoke",
            headers=b.headers,
        ) as response:
            assert response.status == 204
        started = time.monotonic()
        await judge.wait_until(lambda: not judge.connected, 1.0, "the revoked connection to close")
        print(f"closed {time.monotonic() - started:.3f} s after the API call on the other node")
        assert judge.left_reason == "revoked"


SMALL_STREAM = {"livestream_delay": 2.0, "livestream_size": (160, 90), "livestream_fps": 10}


async def test_a_live_stream_goes_on_when_another_node_takes_the_hearing_over(
    tmp_path: Path, prefix: str, clients: list[HearingClient]
) -> None:
    async with node(tmp_path, "a", prefix, **SMALL_STREAM) as a:
        hearing = await a.create_hearing(public=True)
        hid = hearing["id"]
        token = (await a.issue_token(hid, "presiding_judge", "Judge Le"))["token"]
        judge = await connect(a, clients, token)
        await judge.request("phase", {"phase": "in_session"})
        ack = await judge.request("livestream", {"action": "open"})
        assert ack["livestream"]["state"] == "live"
        await judge.close()
    async with node(tmp_path, "b", prefix, **SMALL_STREAM) as b:
        judge = await connect(b, clients, token)
        session = b.app[SIGNALING].session(hid)
        assert session is not None and session.livestream.state == "live"
        await judge.request("livestream", {"action": "close"})
        await judge.close()


async def test_a_stream_the_judge_closed_stays_closed_on_the_next_node(
    tmp_path: Path, prefix: str, clients: list[HearingClient]
) -> None:
    async with node(tmp_path, "a", prefix, **SMALL_STREAM) as a:
        hearing = await a.create_hearing(public=True)
        hid = hearing["id"]
        token = (await a.issue_token(hid, "presiding_judge", "Judge Le"))["token"]
        judge = await connect(a, clients, token)
        await judge.request("phase", {"phase": "in_session"})
        await judge.request("livestream", {"action": "open"})
        await judge.request("livestream", {"action": "close"})
        await judge.close()
    async with node(tmp_path, "b", prefix, **SMALL_STREAM) as b:
        judge = await connect(b, clients, token)
        session = b.app[SIGNALING].session(hid)
        assert session is not None and session.livestream.state != "live"
        await judge.close()


async def test_a_node_refuses_to_continue_an_audit_log_cut_back_behind_redis(
    tmp_path: Path, prefix: str, clients: list[HearingClient]
) -> None:
    """Someone with the disk cuts the log back to its first handover; the file verifies on its
    own, but the checkpoint of the second handover is in Redis, and the next node says so."""
    async with node(tmp_path, "a", prefix) as a:
        hearing = await a.create_hearing()
        hid = hearing["id"]
        token = (await a.issue_token(hid, "presiding_judge", "Judge Le"))["token"]
        await (await connect(a, clients, token)).close()
        log_path = a.app[AUDIT].path(hid)
        key = a.app[AUDIT].key
    first_handover = log_path.read_bytes()  # the node stopped: the log was released, signed
    async with node(tmp_path, "a", prefix) as again:  # restarted on the same data directory
        judge = await connect(again, clients, token)
        await judge.request("phase", {"phase": "in_session"})
        await judge.close()
    assert len(log_path.read_bytes()) > len(first_handover)
    log_path.write_bytes(first_handover)
    assert verify_file(log_path, key.public_key).ok
    async with node(tmp_path, "a", prefix) as restarted:
        with pytest.raises(JoinRefused) as refused:
            await connect(restarted, clients, token)
        assert refused.value.code == "audit_rolled_back"
        assert restarted.app[SIGNALING].session(hid) is None
    assert log_path.read_bytes() == first_handover  # nothing was written to it
