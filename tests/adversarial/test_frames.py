"""Oversized, compressed-bomb and malformed messages: each closes (or is refused on) only its
own connection, with its reason, while the rest of its hearing and another hearing go on."""

from __future__ import annotations

import contextlib
import json

import pytest
from aiohttp import WSCloseCode

from tests.adversarial.support import assert_unharmed, bystander_running, wire_person
from tests.adversarial.wire import WireSocket
from tests.conftest import RunningServer
from web.keys import AUDIT

PAD = "x" * 100_000
# what a hostile client sends after joining -> what it gets: an ack's error code, the reason
# of the `left` event (then the connection closes), or the websocket close code
LEFT = "left protocol_error"
BAD = "ack bad_request"
FRAMES: dict[str, tuple[str, str]] = {
    "a 100 KB message": (f'42/hearing,7["mute",{{"pad":"{PAD}"}}]', "close 1009"),
    "not JSON": ("42/hearing,7not json", LEFT),
    "an object, not an event": ('42/hearing,7{"a":1}', LEFT),
    "an empty event": ("42/hearing,7[]", LEFT),
    "a number for an event name": ('42/hearing,7[1,{"kind":"audio"}]', LEFT),
    "null for an event name": ("42/hearing,7[null]", LEFT),
    "a 41-character event name": (f'42/hearing,7["{"a" * 41}",{{}}]', LEFT),
    "three arguments": ('42/hearing,7["mute",{},{}]', LEFT),
    "JSON nested 30,000 deep": ("42/hearing,7" + "[" * 30_000 + "]" * 30_000, LEFT),
    "a binary event": ('45/hearing,1-7["mute",{"_placeholder":true,"num":0}]', LEFT),
    "a connect error from the client": ("44/hearing,{}", LEFT),
    "a second connect": ('40/hearing,{"token":"x"}', LEFT),
    "another namespace": ('42/admin,7["mute",{}]', LEFT),
    "the default namespace": ('42["mute",{}]', LEFT),
    "the board's namespace too": ('40/court,{"key":"x"}', LEFT),
    "an event to the board's namespace": ('42/court,7["mute",{}]', LEFT),
    "an unknown socket.io packet type": ("49", LEFT),
    "a binary websocket frame": ("BINARY", LEFT),
    "an empty engine.io packet": ("", "close 1002"),
    "an unknown engine.io packet type": ("9", "ignored"),
    "an unknown event": ('42/hearing,7["grant_me_everything",{}]', BAD),
    "a payload that is a list": ('42/hearing,7["mute",[1,2]]', BAD),
    "an unknown field": ('42/hearing,7["mute",{"kind":"audio","muted":true,"x":1}]', BAD),
    "a role in the payload": ('42/hearing,7["join",{"role":"presiding_judge"}]', BAD),
    "a display name in the payload": ('42/hearing,7["mute",{"display_name":"Judge"}]', BAD),
}  # fmt: skip


async def outcome(socket: WireSocket, frame: str) -> str:
    """Send `frame` (ack id 7 where it asks for one), then a good request (ack id 8)."""
    if frame == "BINARY":
        await socket.ws.send_bytes(b"\x04\x00\x01")
    else:
        await socket.send(frame)
    with contextlib.suppress(ConnectionError, RuntimeError):
        await socket.send('42/hearing,8["mute",{"kind":"video","muted":true}]')

    def acked(ack_id: int) -> list[str]:
        return [f for f in socket.frames if f.startswith(f"43/hearing,{ack_id}[")]

    await socket.wait_for(lambda: socket.closed or bool(acked(8)), 5, "an answer or a close")
    if acked(7):
        ack = json.loads(acked(7)[0].partition("[")[2][:-1])
        return f"ack {ack['error']['code']}"
    if socket.left:
        return f"left {socket.left}"
    if socket.closed:
        return f"close {int(socket.close_code or 0)}"
    return "ignored"


async def test_bad_frames_close_only_their_own_connection_with_a_reason(
    server: RunningServer,
) -> None:
    hearing = await server.create_hearing()
    hid = hearing["id"]
    judge, _ = await wire_person(server, hid, "presiding_judge", "Judge Le")
    seen: dict[str, str] = {}
    try:
        async with bystander_running(server) as bystander:
            for case, (frame, _) in FRAMES.items():
                clerk, _ = await wire_person(server, hid, "clerk", "Clerk Pham")
                try:
                    seen[case] = await outcome(clerk, frame)
                finally:
                    await clerk.close()
                ack = await judge.call("mute", {"kind": "audio", "muted": len(seen) % 2 == 0})
                assert ack["ok"], (case, ack)  # the same hearing goes on
        assert_unharmed(bystander, "bad frames")
    finally:
        await judge.close()
    assert seen == {case: expected for case, (_, expected) in FRAMES.items()}

    entries = [json.loads(e) for e in server.app[AUDIT].path(hid).read_text().splitlines()]
    violations = [
        e for e in entries if (e.get("action"), e.get("result")) == ("refused", "protocol_error")
    ]
    assert len(violations) == sum(v == "left protocol_error" for v in seen.values())


@pytest.mark.parametrize("before_joining", ['42/hearing,1["mute",{}]', "43/hearing,1[{}]", "49"])
async def test_anything_but_a_token_before_joining_closes_the_connection(
    server: RunningServer, before_joining: str
) -> None:
    socket = await WireSocket.open(server.session, server.base_url)
    try:
        await socket.opened()
        await socket.send(before_joining)
        await socket.wait_closed(5)
        assert socket.refusal == "protocol_error"
    finally:
        await socket.close()


async def test_a_compressed_frame_that_inflates_past_64_kib_closes_with_1009(
    server: RunningServer,
) -> None:
    hearing = await server.create_hearing()
    judge, _ = await wire_person(server, hearing["id"], "presiding_judge", "Judge Le")
    issued = await server.issue_token(hearing["id"], "clerk", "Clerk Pham")
    bomber = await WireSocket.open(server.session, server.base_url, compress=15)
    try:
        async with bystander_running(server) as bystander:
            await bomber.opened()
            assert "sid" in await bomber.authenticate(issued["token"])
            bomb = json.dumps(["mute", {"kind": "audio", "pad": "a" * 2_000_000}])
            await bomber.send(f"42/hearing,1{bomb}")  # some kilobytes on the wire, 2 MB inflated
            await bomber.wait_closed(5)
            assert (await judge.call("mute", {"kind": "audio", "muted": True}))["ok"]
        assert_unharmed(bystander, "compressed bomb")
        assert bomber.close_code == WSCloseCode.MESSAGE_TOO_BIG
    finally:
        await bomber.close()
        await judge.close()
