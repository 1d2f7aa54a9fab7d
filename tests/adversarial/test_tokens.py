"""Every bad link is refused with its own code, and another hearing does not notice.

One test walks the whole table while a bystander hearing is timed: forged, edited, expired,
revoked, wrong-hearing and replayed tokens, and the rest of the ways in."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable

from hearing import Participant, Role, new_participant_id
from security import Secret, TokenSigner
from signaling.frames import MAX_CONNECT_ATTEMPTS
from tests.adversarial.support import admit, assert_unharmed, bystander_running, wire_person
from tests.adversarial.wire import WireSocket
from tests.conftest import RunningServer

TOKEN_KEY = Secret(b"k" * 32)  # the key tests/conftest.py gives the server

EXPECTED = {
    "signed with another key": "token_forged",
    "signature flipped": "token_forged",
    "claims edited to presiding judge": "token_forged",
    "expired an hour ago": "token_expired",
    "revoked through the API": "token_revoked",
    "revoked by the clerk": "token_revoked",
    "presented for another hearing": "token_wrong_hearing",
    "replayed while its holder is connected": "already_connected",
    "replayed after its holder was ejected": "denied",
    "replayed after its holder was denied": "denied",
    "replayed after the hearing ended": "hearing_ended",
    "replayed after a flood closed it": "cooling_off",
    "for a hearing that does not exist": "unknown_hearing",
    "not a token": "token_malformed",
    "longer than 2 KiB": "token_malformed",
    "missing": "token_missing",
    "hearing_id not a string": "bad_request",
    "a fourth try on one connection": "protocol_error",
}


async def present(server: RunningServer, token: object, **auth: object) -> str:
    """Open a connection, present `token`; the refusal code, or `accepted`."""
    socket = await WireSocket.open(server.session, server.base_url)
    try:
        await socket.opened()
        await socket.send("40/hearing," + json.dumps({"token": token} | auth))
        await socket.wait_for(lambda: len(socket.frames) > 1, 5, "an answer to the token")
        return socket.refusal or "accepted"
    finally:
        await socket.close()


def edited(token: str, **claims: object) -> str:
    version, body, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw = json.dumps(decoded | claims, separators=(",", ":")).encode()
    return f"{version}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{signature}"


class Cases:
    """Each case makes its token (and whatever must happen first) and presents it."""

    def __init__(self, server: RunningServer, hearing_id: str, other_id: str) -> None:
        self.server = server
        self.hid = hearing_id
        self.other = other_id
        self.judge: WireSocket | None = None
        self.kept: list[WireSocket] = []

    async def token(self, role: str = "plaintiff") -> tuple[str, str]:
        issued = await self.server.issue_token(self.hid, role, "Ms Nguyen")
        return issued["token"], issued["participant_id"]

    def participant(self, role: Role = Role.PLAINTIFF, hearing_id: str = "") -> Participant:
        return Participant(new_participant_id(), hearing_id or self.hid, role, "Ms Nguyen")

    async def enter(self, token: str) -> WireSocket:
        socket = await WireSocket.open(self.server.session, self.server.base_url)
        self.kept.append(socket)
        await socket.opened()
        assert "sid" in await socket.authenticate(token)
        assert (await socket.call("join", {}))["ok"]
        return socket

    async def run(self) -> dict[str, str]:
        self.judge, _ = await wire_person(self.server, self.hid, "presiding_judge", "Judge Le")
        table: dict[str, Callable[[], Awaitable[str]]] = {
            "signed with another key": self.another_key,
            "signature flipped": self.flipped,
            "claims edited to presiding judge": self.escalated,
            "expired an hour ago": self.expired,
            "revoked through the API": self.revoked_by_api,
            "revoked by the clerk": self.revoked_by_clerk,
            "presented for another hearing": self.wrong_hearing,
            "replayed while its holder is connected": self.replayed_live,
            "replayed after its holder was ejected": self.replayed_ejected,
            "replayed after its holder was denied": self.replayed_denied,
            "replayed after the hearing ended": self.replayed_ended,
            "replayed after a flood closed it": self.replayed_flooder,
            "for a hearing that does not exist": self.no_hearing,
            "not a token": lambda: present(self.server, "garbage"),
            "longer than 2 KiB": lambda: present(self.server, "v1." + "a" * 3000 + ".b"),
            "missing": lambda: present(self.server, ""),
            "hearing_id not a string": self.hearing_id_not_a_string,
            "a fourth try on one connection": self.fourth_try,
        }
        try:
            return {case: await make() for case, make in table.items()}
        finally:
            for socket in [self.judge, *self.kept]:
                await socket.close()

    async def another_key(self) -> str:
        forged, _ = TokenSigner(Secret(b"x" * 32)).issue(self.participant(), ttl_seconds=600)
        return await present(self.server, forged)

    async def flipped(self) -> str:
        token, _ = await self.token()
        head, _, signature = token.rpartition(".")
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        return await present(self.server, f"{head}.{flipped}")

    async def escalated(self) -> str:
        token, _ = await self.token()
        return await present(self.server, edited(token, r="presiding_judge", n="Judge"))

    async def expired(self) -> str:
        an_hour_ago = TokenSigner(TOKEN_KEY, clock=lambda: time.time() - 3600)
        token, _ = an_hour_ago.issue(self.participant(), ttl_seconds=60)
        return await present(self.server, token)

    async def revoked_by_api(self) -> str:
        token, pid = await self.token()
        holder = await self.enter(token)
        started = time.monotonic()
        url = f"{self.server.base_url}/api/hearings/{self.hid}/tokens/{pid}/revoke"
        async with self.server.session.post(url, headers=self.server.headers) as response:
            assert response.status == 204
        await self.closed_within_a_second(holder, started, "the API")
        return await present(self.server, token)

    async def revoked_by_clerk(self) -> str:
        token, pid = await self.token()
        holder = await self.enter(token)
        clerk, _ = await wire_person(self.server, self.hid, "clerk", "Clerk Pham")
        self.kept.append(clerk)
        started = time.monotonic()
        assert (await clerk.call("revoke", {"participant_id": pid}))["ok"]
        await self.closed_within_a_second(holder, started, "the clerk")
        return await present(self.server, token)

    @staticmethod
    async def closed_within_a_second(holder: WireSocket, started: float, by: str) -> None:
        """The issue's bound: a revoked link's live connection is closed within 1 s."""
        await holder.wait_closed(5)
        assert holder.left == "revoked" and holder.closed_at is not None
        took = holder.closed_at - started
        print(f"\n[revocation] by {by}: the live connection closed after {took * 1000:.0f} ms")
        assert took < 1.0

    async def wrong_hearing(self) -> str:
        token, _ = await self.token()
        return await present(self.server, token, hearing_id=self.other)

    async def replayed_live(self) -> str:
        assert self.judge is not None
        token, pid = await self.token()
        await self.enter(token)
        code = await present(self.server, token)

        def alerted() -> bool:
            return ("alert", {"code": "already_connected", "participant_id": pid}) in (
                self.judge.events if self.judge else []
            )

        await self.judge.wait_for(alerted, 5, "the bench's alert")
        return code

    async def replayed_ejected(self) -> str:
        assert self.judge is not None
        token, pid = await self.token()
        holder = await self.enter(token)
        await admit(self.judge, pid)
        assert (await self.judge.call("eject", {"participant_id": pid}))["ok"]
        await holder.wait_closed(5)
        return await present(self.server, token)

    async def replayed_denied(self) -> str:
        assert self.judge is not None
        token, pid = await self.token()
        holder = await self.enter(token)
        await admit_or_deny(self.judge, pid)
        await holder.wait_closed(5)
        return await present(self.server, token)

    async def replayed_ended(self) -> str:
        ended = await self.server.create_hearing(case_number="21/2026/DS-ST")
        judge, _ = await wire_person(self.server, ended["id"], "presiding_judge", "Judge Vu")
        self.kept.append(judge)
        issued = await self.server.issue_token(ended["id"], "plaintiff", "Ms Nguyen")
        assert (await judge.call("end_hearing", {}))["ok"]
        await judge.wait_closed(5)
        return await present(self.server, issued["token"])

    async def replayed_flooder(self) -> str:
        token, _ = await self.token()
        flooder = await self.enter(token)
        for n in range(300):
            if flooder.closed:
                break
            await flooder.send(f'42/hearing,{n + 10}["mute",{{"kind":"audio","muted":true}}]')
        await flooder.wait_closed(5)
        assert flooder.left == "abuse"
        return await present(self.server, token)

    async def no_hearing(self) -> str:
        participant = self.participant(Role.CLERK, hearing_id="h_nosuchhearing")
        token, _ = TokenSigner(TOKEN_KEY).issue(participant, ttl_seconds=600)
        return await present(self.server, token)

    async def hearing_id_not_a_string(self) -> str:
        token, _ = await self.token()
        return await present(self.server, token, hearing_id=["h", "x"])

    async def fourth_try(self) -> str:
        socket = await WireSocket.open(self.server.session, self.server.base_url)
        self.kept.append(socket)
        await socket.opened()
        for attempt in range(MAX_CONNECT_ATTEMPTS):
            await socket.send("40/hearing," + json.dumps({"token": f"v1.guess{attempt}.x"}))
        await socket.wait_for(
            lambda: sum(f.startswith("44/") for f in socket.frames) == MAX_CONNECT_ATTEMPTS,
            5,
            "three refusals",
        )
        assert socket.refusal == "token_forged"
        token, _ = await self.token()  # even a good token, once the tries are spent
        await socket.send("40/hearing," + json.dumps({"token": token}))
        await socket.wait_closed(5)
        return socket.refusal or "accepted"


async def admit_or_deny(judge: WireSocket, participant_id: str) -> None:
    def waiting() -> bool:
        lobbies = [p for name, p in judge.events if name == "lobby"]
        return bool(lobbies) and any(w["id"] == participant_id for w in lobbies[-1]["waiting"])

    await judge.wait_for(waiting, 5, "the lobby")
    assert (await judge.call("deny", {"participant_id": participant_id}))["ok"]


async def test_every_bad_link_is_refused_with_its_code_and_another_hearing_never_notices(
    server: RunningServer,
) -> None:
    hearing = await server.create_hearing()
    other = await server.create_hearing(case_number="02/2026/DS-ST")
    async with bystander_running(server) as bystander:
        seen = await Cases(server, hearing["id"], other["id"]).run()
    assert seen == EXPECTED
    assert_unharmed(bystander, "bad links")
    good, _ = await Cases(server, hearing["id"], other["id"]).token()
    assert await present(server, good) == "accepted"  # the door still opens for a good link
