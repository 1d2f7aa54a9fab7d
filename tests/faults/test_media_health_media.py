"""Media health measured by the server, with real aiortc clients in the loopback namespace:
the judge sees each person's camera and microphone as `live`, `frozen`, `no_media` or
`reconnecting` within two seconds of it becoming so; the person sees their own; nobody else
sees anyone's."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from media._aiortc_hooks import local_ports
from signaling.client import HearingClient
from signaling.client_watch import WatchRules
from tests.conftest import RunningServer
from tests.faults.court import Firewall
from tests.faults.test_heal_client import court_of_two, flowing

pytestmark = pytest.mark.media

SHOWN_WITHIN = 2.0
"""The console shows a change within this of the server's being able to tell (a window of
2 s without packets is what `frozen` means)."""


async def shown(
    viewer: HearingClient, about: str, check: Callable[[dict[str, str]], bool], within: float
) -> float:
    started = time.monotonic()
    await viewer.wait_until(lambda: check(viewer.health_of(about)), within, f"health of {about}")
    return time.monotonic() - started


async def test_a_party_whose_camera_is_refused_is_shown_without_video_and_heard_live(
    heal_server: RunningServer, clients: list[HearingClient]
) -> None:
    judge, party = await court_of_two(heal_server, clients, WatchRules(), party_kinds=("audio",))
    pid = party.participant["id"]
    await shown(judge, pid, lambda h: h == {"audio": "live", "video": "no_media"}, 10)
    await shown(party, pid, lambda h: h.get("video") == "no_media", 5)  # their own
    assert judge.health_of(judge.participant["id"])  # the bench sees everyone


async def test_a_party_whose_network_goes_is_shown_frozen_at_once_then_live_when_it_heals(
    heal_server: RunningServer, clients: list[HearingClient]
) -> None:
    judge, party = await court_of_two(heal_server, clients, WatchRules())
    pid = party.participant["id"]
    await shown(judge, pid, lambda h: h == {"audio": "live", "video": "live"}, 10)
    firewall = Firewall()
    try:
        assert party._publish_pc is not None
        firewall.silence(local_ports(party._publish_pc))  # that network is gone for good
        cut_at = time.monotonic()
        await shown(judge, pid, lambda h: h == {"audio": "frozen", "video": "frozen"}, 10)
        assert time.monotonic() - cut_at <= 2.0 + SHOWN_WITHIN
        await flowing(judge, party, within=15)  # the client rebuilt its leg on a new network
        await shown(judge, pid, lambda h: h == {"audio": "live", "video": "live"}, 10)
    finally:
        firewall.close()


async def test_only_the_bench_and_the_person_see_media_health(
    heal_server: RunningServer, clients: list[HearingClient]
) -> None:
    judge, party = await court_of_two(heal_server, clients, WatchRules())
    token = await heal_server.issue_token(judge.hearing["id"], "observer", "Mr Tran")
    observer = HearingClient(heal_server.base_url, token["token"])
    clients.append(observer)
    await observer.connect()
    await judge.wait_for_waiting(observer.participant["id"])
    await judge.admit(observer.participant["id"])
    await observer.wait_admitted()
    await shown(judge, party.participant["id"], lambda h: h.get("video") == "live", 10)
    await observer.wait_until(lambda: len(observer.roster) == 3, 10, "the roster")
    assert all("health" not in e for e in observer.roster if e["id"] != observer.participant["id"])
    assert "health" in next(e for e in party.roster if e["id"] == party.participant["id"])
    assert all("health" not in e for e in party.roster if e["id"] != party.participant["id"])
