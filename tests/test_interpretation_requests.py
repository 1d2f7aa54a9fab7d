"""Interpretation's requests at the signalling edge: bad input is refused with a reason code
and a field, changes nothing, and disturbs nobody. No media flows here."""

from __future__ import annotations

from typing import Any

import pytest

from signaling.client import HearingClient, RequestFailed
from signaling.errors import BadRequest
from signaling.messages import HandoverRequest, InterpretationRequest, LanguageRequest, Publish
from tests.conftest import RunningServer
from web.keys import SIGNALING


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"language": "english"}, "language"),
        ({"language": 7}, "language"),
        ({}, "language"),
        ({"language": "en", "extra": 1}, "extra"),
    ],
)
def test_a_malformed_language_request_is_refused_naming_the_field(
    payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        LanguageRequest.parse(payload)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"participant_id": "p_abcdef", "mode": "relay"}, "mode"),
        ({"participant_id": "p_abcdef", "on_air": "yes"}, "on_air"),
        ({"participant_id": "p_abcdef", "whisper_to": "p_x"}, "whisper_to"),
        (
            {"participant_id": "p_abcdef", "whisper_to": [f"p_{i:06d}" for i in range(9)]},
            "whisper_to",
        ),
        ({"participant_id": "p_abcdef", "whisper_to": [7]}, "whisper_to"),
        ({"participant_id": "p_abcdef", "whisper_to": [""]}, "whisper_to"),
        ({"mode": "simultaneous"}, "participant_id"),
    ],
)
def test_a_malformed_interpretation_order_is_refused(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest) as refused:
        InterpretationRequest.parse(payload)
    assert refused.value.field == field


def test_a_publish_offer_names_a_channel_with_its_mid_and_a_language_tag() -> None:
    offer = {"sdp": "v=0", "type": "offer", "channel_mid": "2", "channel_language": "EN"}
    assert Publish.parse(offer).channel == ("2", "en")
    with pytest.raises(BadRequest) as refused:
        Publish.parse(offer | {"channel_language": "english"})
    assert refused.value.field == "channel_language"
    with pytest.raises(BadRequest) as refused:
        Publish.parse({"sdp": "v=0", "type": "offer", "channel_language": "en"})
    assert refused.value.field == "channel_mid"
    with pytest.raises(BadRequest):
        HandoverRequest.parse({"from": "p_abcdef"})


async def seat(
    server: RunningServer,
    clients: list[HearingClient],
    hearing_id: str,
    judge: HearingClient | None,
    role: str,
    **extra: Any,
) -> HearingClient:
    issued = await server.issue_token(hearing_id, role, role.title(), **extra)
    client = HearingClient(server.base_url, issued["token"], request_timeout=5)
    clients.append(client)
    await client.connect()
    if judge is not None:
        await judge.wait_for_waiting(client.participant["id"])
        await judge.admit(client.participant["id"])
        await client.wait_admitted()
    return client


async def refused(client: HearingClient, event: str, payload: dict[str, Any]) -> RequestFailed:
    with pytest.raises(RequestFailed) as failed:
        await client.request(event, payload)
    return failed.value


async def test_orders_and_choices_outside_the_rules_are_refused_and_change_nothing(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing(languages=["en"])
    hid = hearing["id"]
    judge = await seat(server, clients, hid, None, "presiding_judge")
    accused = await seat(server, clients, hid, judge, "accused", language="en")
    anna = await seat(server, clients, hid, judge, "interpreter", interpreting="vi↔en")
    anna_id, accused_id = anna.participant["id"], accused.participant["id"]
    session = server.app[SIGNALING].session(hid)
    assert session is not None
    before = session.court.interpreters.snapshot()

    # only the presiding judge and the clerk order interpretation; the accused is told so
    # before anyone is looked up
    failure = await refused(accused, "interpretation", {"participant_id": anna_id, "on_air": True})
    assert failure.code == "forbidden"
    failure = await refused(judge, "interpretation", {"participant_id": accused_id, "on_air": True})
    assert (failure.code, failure.field) == ("invalid", "participant_id")
    failure = await refused(
        judge, "interpretation", {"participant_id": anna_id, "whisper_to": ["p_nobody1"]}
    )
    assert failure.code == "unknown_participant"
    failure = await refused(
        judge, "interpretation", {"participant_id": anna_id, "mode": "whispered", "on_air": True}
    )
    assert (failure.code, failure.field) == ("invalid", "whisper_to")
    failure = await refused(judge, "interpretation_handover", {"from": anna_id, "to": accused_id})
    assert failure.code == "invalid"
    # a language the hearing does not have
    failure = await refused(accused, "language", {"language": "fr"})
    assert (failure.code, failure.field) == ("invalid", "language")
    # a channel from someone who is not an interpreter, or in a language not of the pair
    offer = {"sdp": "v=0", "type": "offer", "channel_mid": "1", "channel_language": "en"}
    failure = await refused(accused, "publish", offer)
    assert (failure.code, failure.field) == ("invalid", "participant_id")
    failure = await refused(anna, "publish", offer | {"channel_language": "fr"})
    assert (failure.code, failure.field) == ("invalid", "channel_language")
    assert session.court.interpreters.snapshot() == before

    # and what is within the rules is taken and shown on the roster
    await judge.order_interpretation(
        anna_id, mode="whispered", on_air=True, whisper_to=[accused_id]
    )

    def anna_entry() -> dict[str, Any]:
        return next((p for p in judge.roster if p["id"] == anna_id), {})

    await judge.wait_until(
        lambda: anna_entry().get("interpreting", {}).get("on_air") is True, 5, "anna on air"
    )
    assert anna_entry()["interpreting"] == {
        "pair": "vi↔en",
        "mode": "whispered",
        "on_air": True,
        "whisper_to": [accused_id],
    }
    await accused.choose_language("vi")
    await judge.wait_until(
        lambda: any(p["id"] == accused_id and p["language"] == "vi" for p in judge.roster),
        5,
        "the accused's language on the roster",
    )
