"""A protected child witness's name never reaches the accused or a public viewer: everything
they receive over the signalling socket, every page and API route they can fetch without
the court's key, and every log line the server writes are searched for it.
(The media side, SDP, RTP and RTCP, and the witness's addresses: test_privacy_media.py.)"""

from __future__ import annotations

import json
import logging

import pytest

from hearing.privacy import WITHHELD_NAME
from tests.adversarial.http import raw_request
from tests.adversarial.support import admit, roster_entry, wire_person
from tests.adversarial.wire import WireSocket
from tests.conftest import RunningServer
from web.keys import AUDIT

WITNESS_NAME = "Trần Thị Bé Protected"


def traces(name: str) -> list[bytes]:
    """Every form the name could take on the wire: raw UTF-8, JSON-escaped, and its parts."""
    forms = {name, json.dumps(name)[1:-1], *name.split()}
    forms.discard("Protected")  # the role's public label says "Protected witness"
    return sorted({f.encode() for f in forms if len(f) > 2}, key=len)


async def gone_from_roster(viewer: WireSocket, participant_id: str) -> None:
    def gone() -> bool:
        return roster_entry(viewer, participant_id) == {}

    await viewer.wait_for(gone, 5, f"{participant_id} to leave the roster")


def public_paths(hearing_id: str) -> list[str]:
    """What anyone can fetch without the court's API key."""
    static = ["hearing.html", "hearing.js", "rtc.js", "view.js", "hearing.css", "docket.css"]
    static += ["watch.html", "watch.js", "watch.css"]
    return [
        f"/join/{hearing_id}",
        f"/watch/{hearing_id}",
        f"/live/{hearing_id}/index.m3u8",  # 404 here: the stream is never opened
        "/docket",
        "/healthz",
        "/readyz",
        "/api/openapi.json",
        f"/api/hearings/{hearing_id}",  # 401 without the key
        *(f"/static/{name}" for name in static),
    ]


async def test_the_accused_and_the_public_never_learn_the_protected_witness_name(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hearing = await server.create_hearing(
        case_number="05/2026/HS-ST", title="State v. Doe", public=True
    )
    hid = hearing["id"]
    judge, _ = await wire_person(server, hid, "presiding_judge", "Judge Le")
    opened: list[WireSocket] = [judge]
    try:
        people: dict[str, WireSocket] = {}
        ids: dict[str, str] = {}
        for role, name in [
            ("accused", "Mr Doe"),
            ("observer", "Observer Lam"),
            ("defence_counsel", "Counsel Ha"),
            ("child_witness", WITNESS_NAME),
        ]:
            socket, welcome = await wire_person(server, hid, role, name)
            opened.append(socket)
            people[role], ids[role] = socket, welcome["participant"]["id"]
            await admit(judge, ids[role])
        child, accused, observer = people["child_witness"], people["accused"], people["observer"]
        counsel = people["defence_counsel"]
        cid = ids["child_witness"]

        # the hearing goes on around the child: every order that names the child
        for event, payload in [
            ("phase", {"phase": "in_session"}),
            ("move", {"participant_id": cid, "room": {"kind": "witness_room", "id": "child"}}),
            ("call_witness", {"participant_id": cid, "audio_only": True}),
            ("force_mute", {"participant_id": cid, "kind": "audio"}),
            ("ask_unmute", {"participant_id": cid, "kind": "audio"}),
            ("grant_screen", {"participant_id": cid, "granted": True}),
            ("grant_screen", {"participant_id": cid, "granted": False}),
            ("release_witness", {"participant_id": cid}),
        ]:
            assert (await judge.call(event, payload))["ok"], event
        assert (await child.call("raise_hand", {"raised": True}))["ok"]
        assert (await child.call("mute", {"kind": "video", "muted": True}))["ok"]
        child_token = (await server.issue_token(hid, "child_witness", WITNESS_NAME))["token"]
        await child.wait_for(lambda: roster_entry(child, cid).get("hand") is True, 5, "the hand")
        again = await WireSocket.open(server.session, server.base_url)  # a second connection
        opened.append(again)
        await again.opened()
        await again.authenticate(child_token)
        assert (await child.call("leave", {}))["ok"]
        await child.wait_closed(5)

        # those cleared see the name; the others see the label, and only the label
        for viewer in (accused, observer, counsel, judge):
            await gone_from_roster(viewer, cid)
        seen = [json.dumps(p, ensure_ascii=False) for name, p in counsel.events if name == "roster"]
        assert any(WITNESS_NAME in s for s in seen)  # the test can see the name when it is there
        for viewer in (accused, observer):
            rosters = [p for name, p in viewer.events if name == "roster"]
            shown = {
                e["display_name"] for r in rosters for e in r["participants"] if e["id"] == cid
            }
            assert shown == {WITHHELD_NAME}
            received = "\n".join(viewer.frames).encode()
            assert len(viewer.frames) > 10
            for trace in traces(WITNESS_NAME):
                assert trace not in received, trace

        pages = [await raw_request(server.base_url, "GET", p) for p in public_paths(hid)]
        assert [a.status for a in pages] == [200, 200, 404] + [200] * 4 + [401] + [200] * 9
        for answer in pages:
            for trace in traces(WITNESS_NAME):
                assert trace not in answer.headers.encode() + answer.body, trace
    finally:
        for socket in opened:
            await socket.close()

    logged = "\n".join(r.getMessage() for r in caplog.records).encode()
    assert len(caplog.records) > 20
    audit = server.app[AUDIT].path(hid).read_bytes()
    for trace in traces(WITNESS_NAME):
        assert trace not in logged, trace
        assert trace not in audit, trace
