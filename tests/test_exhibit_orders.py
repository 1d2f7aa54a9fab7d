"""Admission from the bench: the clerk or a judge admits or refuses an exhibit with the
`exhibit_decision` order; a party cannot; the decision is final, written with the exhibit's
hash to the hearing's own log, and the case-management system hears `exhibit.admitted`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from security import AuditEntry
from security.audit_record import parse_line
from signaling.client import HearingClient, RequestFailed
from signaling.webhook_events import WebhookEventType, event_for
from tests import exhibit_samples as samples
from tests.conftest import RunningServer
from tests.test_exhibits_api import decide, person, upload
from tests.test_lobby_news import enter_as
from tests.test_webhooks import FAST, register
from tests.webhook_support import Receiver
from web.keys import AUDIT, WEBHOOKS


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    made = Receiver()
    await made.up()
    yield made
    await made.down()


def hearing_log(server: RunningServer, hearing_id: str) -> list[AuditEntry]:
    path = server.app[AUDIT].path(hearing_id)
    records = [parse_line(line) for line in path.read_bytes().splitlines()]
    return [r for r in records if isinstance(r, AuditEntry)]


async def submitted(server: RunningServer, hearing_id: str) -> dict[str, Any]:
    plaintiff = await person(server, hearing_id, "plaintiff")
    status, exhibit = await upload(server, hearing_id, plaintiff, samples.clean_pdf())
    assert status == 201, exhibit
    return exhibit


async def test_the_judge_admits_from_the_bench_and_the_webhook_says_so(
    server: RunningServer, clients: list[HearingClient], receiver: Receiver
) -> None:
    server.app[WEBHOOKS].policy = FAST
    registered = await register(server, receiver.url, events=["exhibit.admitted"])
    hearing = (await server.create_hearing())["id"]
    judge = await enter_as(server, clients, hearing, "presiding_judge", "Judge Le")
    exhibit = await submitted(server, hearing)
    admitted = await judge.decide_exhibit(exhibit["id"], admitted=True)
    assert admitted["state"] == "admitted" and admitted["number"] == "P-1"
    with pytest.raises(RequestFailed) as again:
        await judge.decide_exhibit(exhibit["id"], admitted=False)
    assert again.value.code == "exhibit_already_decided"
    entry = next(e for e in hearing_log(server, hearing) if e.action == "exhibit_admitted")
    assert (entry.target, dict(entry.details)["sha256"]) == (exhibit["id"], exhibit["sha256"])
    assert admitted["decisions"][0]["audit_hash"] == entry.hash
    event = event_for(entry)
    assert event is not None and event.type is WebhookEventType.EXHIBIT_ADMITTED
    await receiver.wait_for("exhibit.admitted", 1)
    (delivery,) = receiver.verified(registered["secret"])
    data = json.loads(delivery.body)["data"]
    assert data == {
        "exhibit_id": exhibit["id"],
        "number": "P-1",
        "sha256": exhibit["sha256"],
        "restricted": False,
        "by": judge.participant["id"],
    }


async def test_a_party_cannot_admit_and_an_unknown_exhibit_is_not_found(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = (await server.create_hearing())["id"]
    judge = await enter_as(server, clients, hearing, "presiding_judge", "Judge Le")
    exhibit = await submitted(server, hearing)
    party = await enter_as(server, clients, hearing, "respondent", "Mr Tran")
    await judge.request("admit", {"participant_id": party.participant["id"]})
    with pytest.raises(RequestFailed) as refused:
        await party.decide_exhibit(exhibit["id"], admitted=True)
    assert refused.value.code == "forbidden"
    with pytest.raises(RequestFailed) as unknown:
        await judge.decide_exhibit("x-0123456789abcdef", admitted=True)
    assert unknown.value.code == "exhibit_not_found"
    ack = await judge.emit_raw("exhibit_decision", {"exhibit_id": exhibit["id"], "decision": "x"})
    assert ack["error"]["code"] == "bad_request"
    refusals = [e for e in hearing_log(server, hearing) if e.action == "refused"]
    assert {e.result for e in refusals} >= {"forbidden", "exhibit_not_found", "bad_request"}


async def test_a_decision_through_the_api_during_the_session_goes_to_the_hearings_log(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = (await server.create_hearing())["id"]
    await enter_as(server, clients, hearing, "presiding_judge", "Judge Le")
    exhibit = await submitted(server, hearing)
    clerk = await person(server, hearing, "clerk")
    status, refused = await decide(server, hearing, exhibit["id"], clerk, "refuse")
    assert status == 200 and refused["state"] == "refused"
    entry = next(e for e in hearing_log(server, hearing) if e.action == "exhibit_refused")
    assert entry.hash == refused["decisions"][0]["audit_hash"] and event_for(entry) is None


async def test_the_bench_lists_the_exhibits_and_a_party_may_not(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = (await server.create_hearing())["id"]
    judge = await enter_as(server, clients, hearing, "presiding_judge", "Judge Le")
    assert await judge.list_exhibits() == []
    exhibit = await submitted(server, hearing)
    [listed] = await judge.list_exhibits()
    assert listed == {
        "id": exhibit["id"],
        "number": "P-1",
        "title": "Exhibit",
        "kind": "pdf",
        "pages": 3,
        "state": "submitted",
        "restricted": False,
    }
    party = await enter_as(server, clients, hearing, "respondent", "Mr Tran")
    await judge.request("admit", {"participant_id": party.participant["id"]})
    with pytest.raises(RequestFailed) as refused:
        await party.list_exhibits()
    assert refused.value.code == "forbidden"


async def test_an_exhibit_admitted_by_rest_before_the_court_sits_is_a_webhook_too(
    server: RunningServer, receiver: Receiver
) -> None:
    """The case-management system's bundle, decided before anyone joins: the decision goes to
    the custody log (nobody holds the hearing's own), and its event to a queue of its own."""
    server.app[WEBHOOKS].policy = FAST
    registered = await register(server, receiver.url)
    hearing = (await server.create_hearing())["id"]
    clerk = await person(server, hearing, "clerk")
    exhibit = await submitted(server, hearing)
    status, admitted = await decide(server, hearing, exhibit["id"], clerk, "admit")
    assert status == 200 and admitted["state"] == "admitted"
    refused = await submitted(server, hearing)
    assert (await decide(server, hearing, refused["id"], clerk, "refuse"))[0] == 200
    await receiver.wait_for("exhibit.admitted", 1)
    deliveries = receiver.verified(registered["secret"])
    types = [json.loads(d.body)["type"] for d in deliveries]
    assert types == ["exhibit.admitted"]  # no "hearing.opened" from the custody log's first entry
    data = json.loads(deliveries[0].body)["data"]
    assert data == {
        "exhibit_id": exhibit["id"],
        "number": "P-1",
        "sha256": exhibit["sha256"],
        "restricted": False,
        "by": clerk,
    }
