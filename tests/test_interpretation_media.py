"""Interpretation on real media (aiortc clients over loopback): each interpreter sends a known
tone on their channel; each listener receives exactly the channels of their language, counted
by SSRC after SRTP; a whisper reaches only its named people; no channel crosses the matrix;
and the live handover between two interpreters of one pair, with the listener's gap measured.

These tests fail when a channel is broadcast: the court-language listeners, the interpreters
and the sequestered witness would count its packets."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

from signaling.client import HearingClient
from tests.conftest import RunningServer
from tests.livestream_support import ToneAudio
from web.keys import AUDIT, RECORDINGS

pytestmark = pytest.mark.media

FLOOR_HZ, ANNA_HZ, BINH_HZ, CUC_HZ = 440.0, 660.0, 770.0, 990.0
WINDOW = 1.5
"""Seconds of traffic counted once an order has had its second to take effect."""

Stream = tuple[str, str]
"""(name, kind): whose stream and which (`audio`, `channel:en` ...)."""


class InterpretedTrial:
    """A criminal trial in session, in Vietnamese with English and French, and its people."""

    def __init__(self, server: RunningServer, clients: list[HearingClient]) -> None:
        self.server, self.clients = server, clients
        self.people: dict[str, HearingClient] = {}
        self.hearing_id = ""

    def pid(self, name: str) -> str:
        return str(self.people[name].participant["id"])

    async def open(self) -> None:
        created = await self.server.create_hearing(
            case_number="07/2026/HS-ST", title="State v. Smith", languages=["en", "fr"]
        )
        self.hearing_id = created["id"]
        await self.seat("judge", "presiding_judge")
        await self.seat("accused", "accused", language="en")
        await self.seat("counsel", "defence_counsel")
        await self.seat("expert", "expert", language="fr")
        await self.seat("witness", "witness", language="en")  # sequestered: receives nothing
        await self.seat("anna", "interpreter", interpreting="vi↔en")
        await self.seat("binh", "interpreter", interpreting="vi↔en")
        await self.seat("cuc", "interpreter", interpreting="vi↔fr")
        await self.people["judge"].request("phase", {"phase": "in_session"})
        await self.people["judge"].publish(ToneAudio(FLOOR_HZ))
        for name, hz, language in (("anna", ANNA_HZ, "en"), ("binh", BINH_HZ, "en")):
            await self.people[name].publish(channel=(ToneAudio(hz), language))
        await self.people["cuc"].publish(channel=(ToneAudio(CUC_HZ), "fr"))

    async def seat(self, name: str, role: str, **extra: Any) -> None:
        issued = await self.server.issue_token(self.hearing_id, role, name.title(), **extra)
        client = HearingClient(self.server.base_url, issued["token"])
        self.clients.append(client)
        await client.connect()
        judge = self.people.get("judge")
        if judge is not None and client.admission == "waiting":
            await judge.wait_for_waiting(client.participant["id"])
            await judge.admit(client.participant["id"])
            await client.wait_admitted()
        self.people[name] = client

    def audit(self) -> list[dict[str, Any]]:
        text = self.server.app[AUDIT].path(self.hearing_id).read_text()
        lines = [json.loads(line) for line in text.splitlines()]
        return [e for e in lines if e.get("type") == "entry"]

    async def order(self, name: str, **order: Any) -> None:
        await self.people["judge"].order_interpretation(self.pid(name), **order)

    async def flows(self, window: float = WINDOW) -> dict[str, set[Stream]]:
        """For each listener, whose streams grew over `window` seconds, by SSRC."""
        before = {n: c.rtp_by_ssrc() for n, c in self.people.items()}
        await asyncio.sleep(window)
        names = {self.pid(n): n for n in self.people}
        grown: dict[str, set[Stream]] = {}
        for name, client in self.people.items():
            seen: set[Stream] = set()
            for ssrc, count in client.rtp_by_ssrc().items():
                if count > before[name].get(ssrc, 0):
                    owner = client.ssrc_owner(ssrc)
                    seen.add(("?", "?") if owner is None else (names[owner[0]], owner[1]))
            grown[name] = seen
        return grown

    async def channels_settle(self, expected: dict[str, set[Stream]], timeout: float = 20) -> None:
        """Wait until every listener receives exactly the expected channels; then check that
        it holds over a whole window. Fails naming who receives what."""
        deadline = time.monotonic() + timeout
        got: dict[str, set[Stream]] = {}
        while time.monotonic() < deadline:
            got = channels(await self.flows(0.8))
            if got == expected:
                break
        else:
            raise AssertionError(f"channels never settled: {got} != {expected}")
        got = channels(await self.flows())
        assert got == expected


def channels(grown: dict[str, set[Stream]]) -> dict[str, set[Stream]]:
    """Only the channels (and streams no offer describes: they count as a leak)."""
    return {name: {s for s in streams if s[1] != "audio"} for name, streams in grown.items()}


async def heard_tone(client: HearingClient, pid: str, kind: str) -> float:
    """The loudest frequency in 0.6 s of the decoded sound of `pid`'s `kind` track."""
    remote = await client.wait_for_track(pid, kind)
    chunks: list[np.ndarray[Any, Any]] = []
    rate = 48000
    try:
        for _ in range(40):  # 0.8 s of 20 ms frames, after the first ones
            frame = await asyncio.wait_for(remote.track.recv(), 5)
            assert isinstance(frame, AudioFrame)
            rate = frame.sample_rate
            chunks.append(
                frame.to_ndarray().astype(np.float32).reshape(-1)[:: len(frame.layout.channels)]
            )
    except MediaStreamError:
        pass
    samples = np.concatenate(chunks[10:])
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(np.argmax(spectrum))])


async def test_each_listener_receives_exactly_the_channels_of_their_language(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    court = InterpretedTrial(server, clients)
    await court.open()
    none: set[Stream] = set()
    everyone_none = dict.fromkeys(court.people, none)
    await court.channels_settle(everyone_none)  # off air: no channel reaches anyone
    await court.order("anna", mode="simultaneous", on_air=True)
    await court.order("cuc", mode="simultaneous", on_air=True)
    expected = everyone_none | {
        "accused": {("anna", "channel:en")},
        "expert": {("cuc", "channel:fr")},
    }
    await court.channels_settle(expected)
    # the floor still reaches the listeners of a channel (their page lowers it)
    grown = await court.flows()
    assert ("judge", "audio") in grown["accused"] and ("judge", "audio") in grown["expert"]
    # the tones are the interpreters' own
    accused = court.people["accused"]
    assert abs(await heard_tone(accused, court.pid("anna"), "channel:en") - ANNA_HZ) < 15
    assert (
        abs(await heard_tone(court.people["expert"], court.pid("cuc"), "channel:fr") - CUC_HZ) < 15
    )
    # a listener who changes language gets the new channel instead of the old one
    await accused.choose_language("fr")
    await court.channels_settle(expected | {"accused": {("cuc", "channel:fr")}}, timeout=5)
    # each channel is recorded as a track of its own, labelled with its language
    recorded = {
        (t["participant_id"], t["label"])
        for r in server.app[RECORDINGS].of_hearing(court.hearing_id)
        for t in r["tracks"]
    }
    assert {(court.pid("anna"), "channel:en"), (court.pid("cuc"), "channel:fr")} <= recorded
    chosen = [e for e in court.audit() if e["action"] == "language"]
    assert [(e["actor"], e["details"]["language"]) for e in chosen] == [
        (court.pid("accused"), "fr")
    ]


async def test_a_whisper_reaches_only_its_named_people_and_never_crosses_the_matrix(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    court = InterpretedTrial(server, clients)
    await court.open()
    whisper = [court.pid("accused"), court.pid("counsel"), court.pid("witness")]
    await court.order("anna", mode="whispered", on_air=True, whisper_to=whisper)
    none: set[Stream] = set()
    expected = dict.fromkeys(court.people, none) | {
        "accused": {("anna", "channel:en")},
        "counsel": {("anna", "channel:en")},
        # the witness is named but waits sequestered: the matrix keeps the interpreter's
        # voice from them, and so the whisper
    }
    await court.channels_settle(expected)
    await court.people["judge"].request(
        "move",
        {"participant_id": court.pid("counsel"), "room": {"kind": "consultation", "id": "c1"}},
    )
    await court.channels_settle(expected | {"counsel": none})
    # the order is in the hearing's audit log, with whom the whisper reaches
    orders = [e for e in court.audit() if e["action"] == "interpretation"]
    assert [(o["actor"], o["target"]) for o in orders] == [(court.pid("judge"), court.pid("anna"))]
    assert orders[0]["details"]["mode"] == "whispered"
    assert orders[0]["details"]["whisper_to"] == ", ".join(sorted(whisper))


async def test_a_handover_between_two_interpreters_of_a_pair_leaves_a_short_gap(
    server: RunningServer, clients: list[HearingClient]
) -> None:
    court = InterpretedTrial(server, clients)
    await court.open()
    await court.order("anna", mode="simultaneous", on_air=True)
    none: set[Stream] = set()
    expected = dict.fromkeys(court.people, none) | {"accused": {("anna", "channel:en")}}
    await court.channels_settle(expected)
    accused = court.people["accused"]
    names = {court.pid(n): n for n in court.people}

    def channel_packets() -> int:
        counts = accused.rtp_by_ssrc()
        owned = {s: accused.ssrc_owner(s) or ("", "") for s in counts}
        return sum(n for s, n in counts.items() if owned[s][1] == "channel:en")

    # sample the channel's packet count every 5 ms around the handover
    samples: list[tuple[float, int]] = []
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            samples.append((time.monotonic(), channel_packets()))
            await asyncio.sleep(0.005)

    sampler = asyncio.create_task(sample())
    await asyncio.sleep(1.0)
    ordered_at = time.monotonic()
    await court.people["judge"].hand_over_interpretation(court.pid("anna"), court.pid("binh"))
    await asyncio.sleep(2.0)
    stop.set()
    await sampler
    expected["accused"] = {("binh", "channel:en")}
    await court.channels_settle(expected, timeout=5)
    # the longest stretch without a channel packet, from just before the order on
    gap = 0.0
    last_time, last_count = samples[0]
    for at, count in samples:
        if count > last_count:
            if at > ordered_at - 0.1:
                gap = max(gap, at - last_time)
            last_time, last_count = at, count
    print(f"handover gap at the listener: {gap * 1000:.0f} ms")
    handovers = [e for e in court.audit() if e["action"] == "interpretation_handover"]
    assert [(h["target"], h["details"]["to"]) for h in handovers] == [
        (court.pid("anna"), court.pid("binh"))
    ]
    assert names  # the listener knows everyone
    assert gap < 1.5, f"the listener heard no channel for {gap:.2f} s at the handover"
