"""Webhooks end to end: a real server, real socket clients in real hearings (no media), and a
real aiohttp receiver on loopback that refuses deliveries and goes down for a while."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from security import (
    AuditEntry,
    AuditLog,
    MemoryAuditSink,
    Secret,
    SigningKey,
    WebhookSignatureInvalid,
    sign_delivery,
    verify_delivery,
)
from security.audit_record import parse_line
from signaling.client import HearingClient
from signaling.webhook_events import event_for
from signaling.webhook_store import MemoryWebhookStore, WebhookEndpoint
from signaling.webhooks import WebhookDispatcher, WebhookPolicy, new_endpoint_id
from tests.conftest import RunningServer, running_server
from tests.test_lobby_news import enter_as
from tests.webhook_support import Receiver
from web.audit import AuditLogs
from web.keys import AUDIT, WEBHOOKS

FAST = WebhookPolicy(timeout=5.0, first_retry=0.1, max_retry=0.4, poll=0.1)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    made = Receiver()
    await made.up()
    yield made
    await made.down()


async def register(
    server: RunningServer, url: str, events: list[str] | None = None
) -> dict[str, str]:
    body: dict[str, object] = {"url": url}
    if events is not None:
        body["events"] = events
    async with server.session.post(
        f"{server.base_url}/api/webhooks", json=body, headers=server.headers
    ) as response:
        assert response.status == 201, await response.text()
        registered: dict[str, str] = await response.json()
        return registered


async def sit_and_end(server: RunningServer, clients: list[HearingClient], hearing_id: str) -> None:
    judge = await enter_as(server, clients, hearing_id, "presiding_judge", "Judge Le")
    party = await enter_as(server, clients, hearing_id, "plaintiff", "Ms Nguyen")
    await judge.wait_for_waiting(party.participant["id"])
    await judge.admit(party.participant["id"])
    await party.wait_admitted(10)
    await judge.request("phase", {"phase": "in_session"})
    await judge.request("phase", {"phase": "recess"})
    await judge.request("phase", {"phase": "in_session"})
    await judge.request("end_hearing", {})


def logged_events(server: RunningServer, hearing_id: str) -> list[str]:
    """The ids of the events the hearing's audit log file tells, in its order."""
    lines = server.app[AUDIT].path(hearing_id).read_bytes().splitlines()
    entries = [r for r in map(parse_line, lines) if isinstance(r, AuditEntry)]
    return [e.id for e in map(event_for, entries) if e is not None]


async def test_every_event_arrives_once_in_order_and_signed_through_refusals_and_an_outage(
    server: RunningServer, clients: list[HearingClient], receiver: Receiver
) -> None:
    server.app[WEBHOOKS].policy = FAST
    registered = await register(server, receiver.url)
    receiver.refuse_next = 3
    first = await server.create_hearing()
    second = await server.create_hearing()
    await asyncio.gather(
        sit_and_end(server, clients, first["id"]), sit_and_end(server, clients, second["id"])
    )
    await receiver.wait_for("hearing.ended", 2)
    await receiver.down()  # the case-management system goes away for a while
    third = await server.create_hearing()
    await sit_and_end(server, clients, third["id"])
    store = server.app[WEBHOOKS].store

    async def waiting_unreachable() -> bool:
        (backlog,) = await store.backlog()
        return backlog.pending > 0 and (backlog.last_error or "").startswith("unreachable")

    await wait_until(waiting_unreachable, "deliveries never failed against the closed port")
    await receiver.up()
    await receiver.wait_for("hearing.ended", 3)
    for client in clients:
        await client.close()
    await asyncio.sleep(0.5)  # the departures' events, if any are still on their way

    accepted = receiver.verified(registered["secret"])
    assert sum(not r.accepted for r in receiver.received) == 3  # refused, then sent again
    assert any(r.attempt > 1 for r in accepted)
    ids = [r.event_id for r in accepted]
    assert len(ids) == len(set(ids)), "an event was accepted twice"
    for hearing in (first, second, third):
        mine = [
            json.loads(r.body)
            for r in accepted
            if json.loads(r.body)["hearing_id"] == hearing["id"]
        ]
        assert [m["id"] for m in mine] == logged_events(server, hearing["id"])  # all, in order
        assert [m["seq"] for m in mine] == sorted(m["seq"] for m in mine)
        types = [m["type"] for m in mine]
        assert types[0] == "hearing.opened" and "hearing.ended" in types
        assert types.count("hearing.phase_changed") == 3 and types.count("participant.left") == 2
        assert "Judge Le" not in json.dumps(mine) and "Ms Nguyen" not in json.dumps(mine)
    (backlog,) = await store.backlog()
    assert (backlog.pending, backlog.abandoned) == (0, 0)


async def test_a_delivery_does_not_verify_under_another_secret_or_with_its_body_changed(
    server: RunningServer, clients: list[HearingClient], receiver: Receiver
) -> None:
    server.app[WEBHOOKS].policy = FAST
    registered = await register(server, receiver.url, events=["hearing.opened"])
    hearing = await server.create_hearing()
    await enter_as(server, clients, hearing["id"], "presiding_judge", "Judge Le")
    await receiver.wait_for("hearing.opened", 1)
    (delivery,) = receiver.accepted()
    now = time.time()
    secret = Secret(registered["secret"].encode())
    verify_delivery(secret, delivery.signature, delivery.body, now=now)
    with pytest.raises(WebhookSignatureInvalid, match="no v1 signature matches"):
        verify_delivery(
            Secret(b"whsec_not-the-one-registered"), delivery.signature, delivery.body, now=now
        )
    with pytest.raises(WebhookSignatureInvalid, match="no v1 signature matches"):
        verify_delivery(secret, delivery.signature, delivery.body.replace(b"}", b" }", 1), now=now)
    with pytest.raises(WebhookSignatureInvalid, match="outside the tolerance"):
        verify_delivery(secret, delivery.signature, delivery.body, now=now + 3600)
    assert [r.event_type for r in receiver.received] == ["hearing.opened"]  # only what it asked


@pytest.mark.parametrize(
    "header",
    ["", "t=1", "v1=ab", "t=abc,v1=00", "t=1,t=2,v1=00", "garbage", "t=1," + "v1=0," * 200],
)
def test_a_signature_header_that_is_not_one_is_refused_with_a_reason(header: str) -> None:
    with pytest.raises(WebhookSignatureInvalid):
        verify_delivery(Secret(b"s" * 32), header, b"{}", now=1.0)


def test_the_signature_is_hmac_sha256_over_the_timestamp_a_dot_and_the_body() -> None:
    import hashlib
    import hmac

    secret = b"whsec_0123456789abcdef"
    expected = hmac.new(secret, b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert sign_delivery(Secret(secret), 1700000000, b'{"a":1}') == f"t=1700000000,v1={expected}"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def wait_until(condition: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    """Until `condition()` (or what it returns, awaited) is true."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


async def test_a_dead_endpoint_is_retried_with_backoff_for_a_day_then_abandoned_in_order(
    receiver: Receiver,
) -> None:
    await receiver.down()  # nobody listens on its port
    clock = Clock()
    store = MemoryWebhookStore()
    target = WebhookEndpoint(new_endpoint_id(), receiver.url, Secret(b"s" * 32), frozenset(), 0)
    await store.add_endpoint(target)
    policy = WebhookPolicy(timeout=2.0, first_retry=60.0, max_retry=3600.0, poll=0.02)
    dispatcher = WebhookDispatcher(store, policy, clock=clock)
    log = AuditLog("h_webhooktest01", MemoryAuditSink(), SigningKey.from_secret(Secret(bytes(32))))
    events = [
        event_for(log.record("system", "arrive")),
        event_for(log.record("p_judge01", "end_hearing")),
    ]
    await dispatcher.start()
    try:
        for event in events:
            assert event is not None
            await dispatcher.queue(event)
        await wait_until(lambda: dispatcher.attempts == 1, "the first attempt")

        async def failure_recorded() -> bool:
            (backlog,) = await store.backlog()
            return (backlog.last_error or "").startswith("unreachable")

        await wait_until(failure_recorded, "the failure recorded")

        def attempts_made(count: int) -> Callable[[], bool]:
            return lambda: dispatcher.attempts == count

        # backoff: 60 s, then doubling; nothing is tried before its time
        for attempt, wait in ((2, 60.0), (3, 120.0), (4, 240.0)):
            clock.now += wait - 1
            await asyncio.sleep(0.1)
            assert dispatcher.attempts == attempt - 1, "tried before its time"
            clock.now += 1
            await wait_until(attempts_made(attempt), f"attempt {attempt}")
        clock.now += 25 * 3600  # a day later, and more: the first event is given up once
        # tried again; the next one goes then (it is as old: tried once, and given up too)
        await wait_until(lambda: dispatcher.attempts == 6, "the last attempts")

        async def all_abandoned() -> bool:
            (backlog,) = await store.backlog()
            return (backlog.pending, backlog.abandoned) == (0, 2)

        await wait_until(all_abandoned, "both abandoned")
        (backlog,) = await store.backlog()
        assert (backlog.last_error or "").startswith("unreachable")
    finally:
        await dispatcher.close()


async def test_an_endpoint_that_never_answers_does_not_hold_up_another_endpoints_deliveries(
    receiver: Receiver,
) -> None:
    async def hold(_reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(60)  # accepts, never answers

    hanging = await asyncio.start_server(hold, "127.0.0.1", 0)
    hanging_url = f"http://127.0.0.1:{hanging.sockets[0].getsockname()[1]}/hooks"
    store = MemoryWebhookStore()
    for url in (hanging_url, receiver.url):  # the hanging one first: its heads are due first
        await store.add_endpoint(
            WebhookEndpoint(new_endpoint_id(), url, Secret(b"s" * 32), frozenset(), 0)
        )
    policy = WebhookPolicy(timeout=30.0, concurrency=4, per_endpoint=2, poll=0.05)
    dispatcher = WebhookDispatcher(store, policy)
    key = SigningKey.from_secret(Secret(bytes(32)))
    await dispatcher.start()
    try:
        for n in range(8):  # eight hearings: eight queues per endpoint, all due at once
            log = AuditLog(f"h_webhookhang{n}", MemoryAuditSink(), key)
            event = event_for(log.record("system", "arrive"))
            assert event is not None
            await dispatcher.queue(event)
        await receiver.wait_for("hearing.opened", 8, timeout=15)
    finally:
        await dispatcher.close()
        hanging.close()


async def test_events_a_stopped_node_had_logged_but_not_queued_are_sent_when_it_starts_again(
    tmp_path: Path, receiver: Receiver
) -> None:
    data_dir = tmp_path / "data"
    async with running_server(data_dir) as first:
        registered = await register(first, receiver.url)
        hearing = await first.create_hearing()
    # the gap a crash leaves: entries on disk that no outbox has seen
    audit = AuditLogs(data_dir)
    log = await audit.open(hearing["id"])
    log.record("p_judge0001", "arrive", result="admitted")
    log.record("p_judge0001", "phase", details={"phase": "in_session"})
    log.record("p_judge0001", "end_hearing")
    log.close()
    await audit.close()
    async with running_server(data_dir) as second:
        second.app[WEBHOOKS].policy = FAST
        await receiver.wait_for("hearing.ended", 1)
        types = [r.event_type for r in receiver.verified(registered["secret"])]
        assert types == ["hearing.opened", "hearing.phase_changed", "hearing.ended"]
        assert [r.event_id for r in receiver.accepted()] == logged_events(second, hearing["id"])
    async with running_server(data_dir):  # and once only: a third start queues nothing
        await asyncio.sleep(0.5)
    assert len(receiver.received) == 3
