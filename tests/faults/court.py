"""A court under faults: real aiortc clients in a real hearing, the faults a court meets on a
bad day, the bench's orders, and the check that a viewer gets less, never more.

Every client counts the RTP it receives by SSRC after SRTP (`HearingClient.rtp_by_ssrc`), and
knows from the latest offer whose stream each SSRC is. The oracle is the server's visibility
matrix (`Courtroom.receives`, itself checked against the lawyer-readable table in
`tests/test_matrix.py`): these tests check that it is enforced, whatever breaks.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from signaling.client import HearingClient
from signaling.session import HearingSession
from tests.conftest import RunningServer
from web.keys import SIGNALING

WINDOW = 1.5
"""Seconds of traffic counted after the one-second grace an order has to take effect."""
LEG_SILENCE = 3.0
"""The server's consent period in these tests: a silent leg is closed after it."""


class SmallVideo(VideoStreamTrack):
    """A camera of 160x120 at 10 fps: enough to be forwarded, cheap to encode and decode."""

    interval = 0.1
    """Seconds between frames."""

    async def recv(self) -> av.VideoFrame:
        await asyncio.sleep(self.interval)
        frame = av.VideoFrame.from_ndarray(numpy.zeros((120, 160, 3), numpy.uint8), "bgr24")
        self._count = getattr(self, "_count", 0) + 1
        frame.pts, frame.time_base = self._count * int(90000 * self.interval), Fraction(1, 90000)
        return frame


@dataclass
class Court:
    """A hearing in session with its people, by role."""

    server: RunningServer
    hearing_id: str
    people: dict[str, HearingClient]
    kinds: dict[str, tuple[str, ...]]
    """What each role publishes."""
    clients: list[HearingClient]
    gone: set[str] = field(default_factory=set)
    """Roles whose client left (disconnected or ejected): they are not checked."""

    @property
    def session(self) -> HearingSession:
        session = self.server.app[SIGNALING].session(self.hearing_id)
        assert session is not None
        return session

    @property
    def judge(self) -> HearingClient:
        return self.people["presiding_judge"]

    def pid(self, role: str) -> str:
        return str(self.people[role].participant["id"])

    def present(self) -> dict[str, HearingClient]:
        return {r: c for r, c in self.people.items() if r not in self.gone}

    def allowed(self, viewer: str, publisher: str, kind: str) -> bool:
        """What the court's rules say now: may `viewer` receive `kind` of `publisher`?"""
        session = self.session
        members = session.members
        v, p = members.get(self.pid(viewer)), members.get(self.pid(publisher))
        if v is None or p is None:
            return False
        viewer_seat, publisher_seat = session.seat_of(v.participant), session.seat_of(p.participant)
        if viewer_seat is None or publisher_seat is None:
            return False
        return session.court.receives(viewer_seat, publisher_seat, kind)


async def seat(court: Court, role: str, name: str) -> HearingClient:
    issued = await court.server.issue_token(court.hearing_id, role, name)
    # the server's watch alone: these faults test what the server does with a dead leg
    client = HearingClient(court.server.base_url, issued["token"], watch=None)
    court.clients.append(client)
    await client.connect()
    judge = court.people.get("presiding_judge")
    if judge is not None and client.admission == "waiting":
        await judge.wait_for_waiting(client.participant["id"])
        await judge.admit(client.participant["id"])
        await client.wait_admitted()
    court.people[role] = client
    return client


TRIAL_PEOPLE: dict[str, tuple[str, ...]] = {
    "presiding_judge": ("audio", "video"),
    "prosecutor": ("audio",),
    "accused": ("audio", "video"),
    "child_witness": ("audio", "video"),
    "support_person": ("audio",),
    "witness": ("audio",),
    "observer": (),
}
CONCILIATION_PEOPLE: dict[str, tuple[str, ...]] = {
    "presiding_judge": ("audio",),
    "plaintiff": ("audio", "video"),
    "party_lawyer": ("audio",),
    "respondent": ("audio",),
}


async def open_court(server: RunningServer, clients: list[HearingClient], profile: str) -> Court:
    """A public criminal trial under `profile` (or a conciliation), sitting, the child called,
    everyone publishing; returns once every permitted pair carries packets."""
    conciliation = profile == "conciliation"
    people = CONCILIATION_PEOPLE if conciliation else TRIAL_PEOPLE
    body: dict[str, Any] = (
        {"type": "conciliation", "case_number": "11/2026/HG", "public": False}
        if conciliation
        else {"case_number": "05/2026/HS-ST", "public": True, "profile": profile}
    )
    created = await server.create_hearing(**body)
    court = Court(server, created["id"], {}, people, clients)
    for role in people:
        await seat(court, role, role.replace("_", " ").title())
    await court.judge.request("phase", {"phase": "in_session"})
    if not conciliation:
        # called before their camera is up: the judge confirms hearing them by audio meanwhile
        called = {"participant_id": court.pid("child_witness"), "audio_only": True}
        await court.judge.request("call_witness", called)
    for role, kinds in people.items():
        tracks = [AudioStreamTrack() if k == "audio" else SmallVideo() for k in kinds]
        if tracks:
            await court.people[role].publish(*tracks)
    await resumed(court, timeout=30)
    return court


def counts(court: Court) -> dict[str, dict[int, int]]:
    return {role: client.rtp_by_ssrc() for role, client in court.present().items()}


def flows(
    court: Court, before: dict[str, dict[int, int]], after: dict[str, dict[int, int]]
) -> dict[str, set[tuple[str, str] | None]]:
    """For each viewer, whose streams grew between the two counts (None: a stream its latest
    offer does not describe)."""
    grown: dict[str, set[tuple[str, str] | None]] = {}
    roles = {court.pid(r): r for r in court.people}
    for role, now in after.items():
        client = court.people[role]
        seen: set[tuple[str, str] | None] = set()
        for ssrc, count in now.items():
            if count > before.get(role, {}).get(ssrc, 0):
                owner = client.ssrc_owner(ssrc)
                seen.add(None if owner is None else (roles.get(owner[0], owner[0]), owner[1]))
        grown[role] = seen
    return grown


async def leaks_after(court: Court, acknowledged_at: float) -> list[str]:
    """Every (viewer, publisher, kind) whose packets arrived later than 1 s after the order's
    acknowledgement although the rules deny it: counted over `WINDOW` seconds from then."""
    await asyncio.sleep(max(0.0, acknowledged_at + 1.0 - time.monotonic()))
    before = counts(court)
    await asyncio.sleep(WINDOW)
    grown = flows(court, before, counts(court))
    leaks = []
    for viewer, streams in grown.items():
        for stream in streams:
            if stream is None:
                leaks.append(f"{viewer} <- a stream no offer describes")
            elif not court.allowed(viewer, *stream):
                leaks.append(f"{viewer} <- {stream[1]} of {stream[0]}")
    return leaks


def permitted_pairs(
    court: Court, skip: AbstractSet[str] = frozenset()
) -> set[tuple[str, str, str]]:
    return {
        (viewer, publisher, kind)
        for viewer in court.present()
        if viewer not in skip
        for publisher, kinds in court.kinds.items()
        if publisher not in court.gone
        for kind in kinds
        if court.allowed(viewer, publisher, kind)
    }


async def resumed(court: Court, timeout: float, skip: AbstractSet[str] = frozenset()) -> None:
    """Wait until every pair the rules permit carries packets again; say which do not."""
    deadline = time.monotonic() + timeout
    missing: set[tuple[str, str, str]] = set()
    while time.monotonic() < deadline:
        before = counts(court)
        await asyncio.sleep(0.7)
        grown = flows(court, before, counts(court))
        missing = {
            (v, p, k) for v, p, k in permitted_pairs(court, skip) if (p, k) not in grown.get(v, ())
        }
        if not missing:
            return
    raise AssertionError(f"permitted pairs still without packets after {timeout}s: {missing}")


# -- the faults ---------------------------------------------------------------------------------

Heal = Callable[[], Awaitable[None]]


class Firewall:
    """nftables rules in the test's namespace that drop a client's media datagrams: a network
    that goes silent under it while its signalling connection stays up."""

    TABLE = "ecourt_faults"

    def __init__(self) -> None:
        self._run(f"add table inet {self.TABLE}")
        self._run(f"add chain inet {self.TABLE} out {{ type filter hook output priority 0 ; }}")

    def silence(self, ports: list[int] | list[str]) -> None:
        listed = ", ".join(str(p) for p in ports)
        self._run(f"add rule inet {self.TABLE} out udp sport {{ {listed} }} drop")
        self._run(f"add rule inet {self.TABLE} out udp dport {{ {listed} }} drop")

    def silence_all_but(self, ports: list[int] | list[str]) -> None:
        """Every UDP datagram that neither comes from nor goes to one of `ports`: a network
        gone for everyone else, new connections included."""
        listed = ", ".join(str(p) for p in ports)
        self._run(
            f"add rule inet {self.TABLE} out udp sport != {{ {listed} }} "
            f"udp dport != {{ {listed} }} drop"
        )

    def silence_range(self, low: int, high: int) -> None:
        """Every UDP port from `low` to `high`: a client's network gone, new legs included."""
        self.silence([f"{low}-{high}"])

    def close(self) -> None:
        subprocess.run(
            ["nft", "delete", "table", "inet", self.TABLE], check=False, capture_output=True
        )

    @staticmethod
    def _run(command: str) -> None:
        subprocess.run(["nft", *command.split()], check=True, capture_output=True)


async def fault_close_subscribe(court: Court, victim: str) -> Heal:
    """The page closes its own receiving connection; the server closes the dead leg, says
    `media_lost`, and the client asks for a new one."""
    await court.people[victim].close_subscribe_leg()

    async def heal() -> None:
        return None

    return heal


async def fault_close_publish(court: Court, victim: str) -> Heal:
    await court.people[victim].close_publish_leg()

    async def heal() -> None:
        return None

    return heal


async def fault_silent(court: Court, victim: str) -> Heal:
    """Datagrams dropped at the client until its consent expires at the server."""
    firewall = Firewall()
    firewall.silence(court.people[victim].media_ports())

    async def heal() -> None:
        client = court.people[victim]
        await client.wait_until(
            lambda: {e["leg"] for e in client.media_lost} >= {"subscribe", "publish"},
            LEG_SILENCE + 15,
            "the server to close both silent legs",
        )
        firewall.close()

    return heal


async def fault_no_answer(court: Court, victim: str) -> Heal:
    """A page that stops answering renegotiation offers."""
    client = court.people[victim]
    client.answer_offers = False

    async def heal() -> None:
        client.answer_offers = True
        await client.restart_media()

    return heal


def _every_section_sendrecv(sdp: str) -> str:
    return sdp.replace("a=recvonly", "a=sendrecv").replace("a=inactive", "a=sendrecv")


async def fault_hostile_answer(court: Court, victim: str) -> Heal:
    """A client that answers every offer with a forged SDP (every section `sendrecv`)."""
    client = court.people[victim]
    client.shape_answer = _every_section_sendrecv  # type: ignore[method-assign]

    async def heal() -> None:
        del client.shape_answer
        await client.restart_media()

    return heal


async def fault_in_the_order(court: Court, victim: str) -> Heal:
    """Nothing before the order: the fault is in how it is given (`run_case`)."""

    async def heal() -> None:
        return None

    return heal


FAULTS: dict[str, Callable[[Court, str], Awaitable[Heal]]] = {
    "close_subscribe": fault_close_subscribe,
    "close_publish": fault_close_publish,
    "silent": fault_silent,
    "no_answer": fault_no_answer,
    "hostile_answer": fault_hostile_answer,
    "disconnect_mid_order": fault_in_the_order,
    "racing_orders": fault_in_the_order,
}


# -- the orders ---------------------------------------------------------------------------------

Order = Callable[[Court], Awaitable[object]]


def _phase(phase: str) -> Order:
    async def order(court: Court) -> object:
        return await court.judge.request("phase", {"phase": phase})

    return order


def _about(event: str, role: str, **payload: Any) -> Order:
    async def order(court: Court) -> object:
        return await court.judge.request(event, {"participant_id": court.pid(role), **payload})

    return order


async def _eject(court: Court) -> object:
    role = "witness" if "witness" in court.people else "respondent"
    court.gone.add(role)
    return await court.judge.request("eject", {"participant_id": court.pid(role)})


TRIAL_ORDERS: dict[str, Order] = {
    "in_camera": _phase("in_camera"),
    "recess": _phase("recess"),
    "deliberation": _phase("deliberation"),
    "move": _about("move", "accused", room={"kind": "consultation", "id": "c1"}),
    "call_witness": _about("call_witness", "witness", audio_only=True),  # no camera
    "release_witness": _about("release_witness", "child_witness"),
    "eject": _eject,
    "floor": _about("floor", "prosecutor", granted=True),
    "screen": _about("grant_screen", "prosecutor", granted=True),
    "force_mute": _about("force_mute", "accused", kind="video"),
    "recording": lambda court: court.judge.request("recording", {"action": "start"}),
}
CONCILIATION_ORDERS: dict[str, Order] = {
    "caucus": _about("move", "plaintiff", room={"kind": "caucus", "id": "plaintiff"}),
    "recess": _phase("recess"),
    "eject": _eject,
    "force_mute": _about("force_mute", "plaintiff", kind="audio"),
}


async def run_case(court: Court, fault: str, order_names: list[str], victim: str) -> None:
    """Inject `fault` on `victim`, give the orders one after the other, and check the three
    promises: each order is acknowledged (never `internal`), no pair the rules deny flows later
    than 1 s after it, and every permitted pair flows again once the victim is healed or gone."""
    orders = CONCILIATION_ORDERS if "plaintiff" in court.people else TRIAL_ORDERS
    heal = await FAULTS[fault](court, victim)
    for order in order_names:
        give = orders[order]
        if fault == "disconnect_mid_order" and victim not in court.gone:
            court.gone.add(victim)
            results = await asyncio.gather(give(court), court.people[victim].close())
            acknowledged = results[0]
        elif fault == "racing_orders":
            other = orders["force_mute" if order != "force_mute" else "recess"]
            acknowledged, _ = await asyncio.gather(give(court), other(court))
        else:
            acknowledged = await give(court)
        acknowledged_at = time.monotonic()
        assert isinstance(acknowledged, dict) and acknowledged.get("ok") is True, acknowledged
        leaks = await leaks_after(court, acknowledged_at)
        assert leaks == [], (order, leaks)
    await heal()
    await resumed(court, timeout=40)
    leaks = await leaks_after(court, time.monotonic() - 1.0)
    assert leaks == [], leaks
