"""Anonymity orders over the signalling connection (no media): who may make them, what is
refused and why, the pseudonym in the roster, and the audit that never names the witness."""

from __future__ import annotations

import asyncio
import json

import pytest

from hearing import Admission, Participant, Phase, Visibility
from hearing.anonymity import make_order
from hearing.interpretation import Mode, channel_label
from hearing.languages import LanguagePair
from hearing.model import Role
from signaling.client import HearingClient, RequestFailed
from signaling.courtroom import Courtroom
from tests.conftest import RunningServer
from tests.test_court_rules_media import sitting_court
from tests.test_stores import hearing as stored_hearing
from web.keys import AUDIT

REAL_NAME = "Jane Doe"


async def court(
    server: RunningServer, clients: list[HearingClient]
) -> tuple[str, HearingClient, dict[str, HearingClient]]:
    roles = ("clerk", "accused", "prosecutor", "witness")
    hid, judge, seated = await sitting_court(
        server, clients, *((role, REAL_NAME if role == "witness" else role) for role in roles)
    )
    return hid, judge, dict(zip(roles, seated, strict=True))


@pytest.mark.parametrize("court_role", ["judge", "clerk", "presiding_judge", "court"])
async def test_an_order_masking_the_witness_from_the_court_is_refused_and_audited(
    server: RunningServer, clients: list[HearingClient], court_role: str
) -> None:
    hid, judge, people = await court(server, clients)
    wid = people["witness"].participant["id"]
    with pytest.raises(RequestFailed) as refused:
        await judge.order_anonymity(wid, "Witness A", masked_from=("accused", court_role))
    assert refused.value.code == "masks_the_court"
    assert refused.value.field == "masked_from"
    entries = [json.loads(x) for x in server.app[AUDIT].path(hid).read_bytes().splitlines()]
    refusals = [e for e in entries if e.get("result") == "masks_the_court"]
    assert len(refusals) == 1  # audited once, naming the request
    assert refusals[0]["action"] == "refused"
    assert refusals[0]["details"]["request"] == "anonymity_order"
    assert not any(e.get("action") == "anonymity_order" and e["result"] == "ok" for e in entries)


async def test_only_the_presiding_judge_makes_an_order_and_a_refusal_reveals_nothing(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    _, _, people = await court(server, clients)
    for role in ("clerk", "accused", "prosecutor"):
        with pytest.raises(RequestFailed) as refused:
            await people[role].order_anonymity("p_nobody_at_all", "Witness A")
        assert refused.value.code == "forbidden"


async def test_a_malformed_order_is_refused_at_the_door(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    _, judge, people = await court(server, clients)
    wid = people["witness"].participant["id"]
    for screening in ("mosaic", ""):
        with pytest.raises(RequestFailed) as refused:
            await judge.order_anonymity(wid, "Witness A", screening=screening)
        assert refused.value.code == "bad_request"
    with pytest.raises(RequestFailed) as refused:
        await judge.order_anonymity(wid, "Witness A", masked_from=("jury",))
    assert refused.value.code == "invalid"
    with pytest.raises(RequestFailed) as refused:
        await judge.discharge_anonymity(wid)  # none in force
    assert refused.value.code == "invalid"


async def test_everyone_but_the_court_sees_the_pseudonym_and_the_audit_never_the_name(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hid, judge, people = await court(server, clients)
    witness = people["witness"]
    wid = witness.participant["id"]
    await judge.request("call_witness", {"participant_id": wid, "audio_only": True})
    ack = await judge.order_anonymity(wid, "Witness A", masked_from=("accused",))
    assert ack["pseudonym"] == "Witness A" and len(ack["voice_seal"]) == 16

    def name_in(viewer: HearingClient) -> str | None:
        entry = next((p for p in viewer.roster if p["id"] == wid), None)
        return None if entry is None else str(entry["display_name"])

    for role in ("accused", "prosecutor"):  # the pseudonym for all but the court
        viewer = people[role]
        await viewer.wait_until(lambda v=viewer: name_in(v) == "Witness A", 5, "the pseudonym")
    for viewer in (judge, people["clerk"], witness):
        await viewer.wait_until(lambda v=viewer: name_in(v) == REAL_NAME, 5, "the real name")
    clerk_entry = next(p for p in people["clerk"].roster if p["id"] == wid)
    assert clerk_entry["anonymity"]["masked_from"] == ["accused"]  # the badge: the court sees
    accused_entry = next(p for p in people["accused"].roster if p["id"] == wid)
    assert accused_entry["anonymity"] == {"pseudonym": "Witness A"}

    await judge.order_anonymity(wid, "Witness B", screening="blur", masked_from=("accused",))
    await judge.discharge_anonymity(wid)
    accused = people["accused"]
    await accused.wait_until(lambda: name_in(accused) == REAL_NAME, 5, "the name again")

    text = server.app[AUDIT].path(hid).read_text()
    entries = [json.loads(x) for x in text.splitlines()]
    made = [e for e in entries if e.get("action") in ("anonymity_order", "vary_anonymity")]
    assert [e["details"]["pseudonym"] for e in made] == ["Witness A", "Witness B"]
    assert made[0]["details"]["voice_seal"] == made[1]["details"]["voice_seal"]
    assert any(e.get("action") == "discharge_anonymity" for e in entries)
    assert REAL_NAME not in text


def test_an_order_in_force_moves_with_the_courts_state_to_another_node() -> None:
    hearing = stored_hearing()
    here, there = Courtroom(hearing), Courtroom(hearing)
    made = make_order(
        "p_witness1",
        Role.WITNESS,
        pseudonym="Witness A",
        screening="blur",
        voice="modulated",
        masked_from=["accused"],
    )
    here.anonymity["p_witness1"] = made
    there.restore(json.loads(json.dumps(here.snapshot())))
    assert there.anonymity == {"p_witness1": made}  # the same voice modulation, too


async def test_the_courts_system_relays_an_order_through_the_api(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    hid, _judge, people = await court(server, clients)
    wid = people["witness"].participant["id"]
    accused = people["accused"]

    def name_seen() -> str | None:
        entry = next((p for p in accused.roster if p["id"] == wid), None)
        return None if entry is None else str(entry["display_name"])

    url = f"{server.base_url}/api/hearings/{hid}/participants/{wid}/anonymity"
    body = {
        "pseudonym": "Witness C",
        "screening": "blur",
        "voice": "modulated",
        "masked_from": ["accused", "clerk"],
    }
    async with server.session.post(url, json=body, headers=server.headers) as refused:
        assert refused.status == 422
        assert (await refused.json())["error"]["code"] == "masks_the_court"
    async with server.session.post(url, json=body | {"voice": "x"}, headers=server.headers) as bad:
        assert bad.status == 400
    async with server.session.post(url, json=body) as anonymous:
        assert anonymous.status == 401
    body["masked_from"] = ["accused"]
    async with server.session.post(url, json=body, headers=server.headers) as made:
        assert made.status == 202
    await accused.wait_until(lambda: name_seen() == "Witness C", 5, "the pseudonym")
    async with server.session.delete(url, headers=server.headers) as discharged:
        assert discharged.status == 202
    await accused.wait_until(lambda: name_seen() == REAL_NAME, 5, "the real name")
    nobody = f"{server.base_url}/api/hearings/{hid}/participants/p_nobody_here/anonymity"
    async with server.session.post(nobody, json=body, headers=server.headers) as accepted:
        assert accepted.status == 202  # the hosting node refuses it, and audits the refusal
    entries: list[dict[str, object]] = []
    for _ in range(50):
        text = server.app[AUDIT].path(hid).read_text()
        entries = [json.loads(x) for x in text.splitlines()]
        if any(e.get("target") == "p_nobody_here" for e in entries):
            break
        await asyncio.sleep(0.05)
    actions = [(e.get("actor"), e.get("action"), e.get("result")) for e in entries]
    assert ("api", "anonymity_order", "ok") in actions
    assert ("api", "discharge_anonymity", "ok") in actions
    assert ("api", "refused", "unknown_participant") in actions


def test_an_interpreter_masked_from_the_accused_is_not_heard_on_their_channel_by_the_accused() -> (
    None
):
    """A language channel has no masked form: whom an order masks the interpreter from hears
    none of it, though the channel's language is theirs; the court still hears it."""
    hearing = stored_hearing(languages=("en",))
    court = Courtroom(hearing)
    court.phase = Phase.IN_SESSION
    people = {
        "interpreter": Participant(
            "p_interp0001", hearing.id, Role.INTERPRETER, "I", interpreting=LanguagePair("vi", "en")
        ),
        "accused": Participant("p_accused001", hearing.id, Role.ACCUSED, "A", language="en"),
        "judge": Participant("p_judge00001", hearing.id, Role.PRESIDING_JUDGE, "J", language="en"),
    }
    seats = {k: court.seat(p, Admission.ADMITTED) for k, p in people.items()}
    interpreter, accused, judge = seats["interpreter"], seats["accused"], seats["judge"]
    assert interpreter is not None and accused is not None and judge is not None
    court.interpreters.order(interpreter.participant_id, Mode.SIMULTANEOUS, True, None)
    channel = channel_label("en")
    assert court.receives(accused, interpreter, channel)  # no order yet: the accused hears it

    court.anonymity[interpreter.participant_id] = make_order(
        interpreter.participant_id,
        Role.INTERPRETER,
        pseudonym="Interpreter A",
        screening="blur",
        voice="modulated",
        masked_from=["accused"],
    )
    assert court.verdict(accused, interpreter, channel) is Visibility.DENY
    assert court.verdict(judge, interpreter, channel) is Visibility.ALLOW
