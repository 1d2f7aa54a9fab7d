"""One contract for every store, run against the in-memory twin and the real Redis on
127.0.0.1:6379 (under a prefix of its own, removed afterwards)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from hearing import Hearing, Lobby, Participant, Role
from hearing.model import HearingType, Instance, Jurisdiction, new_hearing_id, new_participant_id
from hearing.rooms import Room, RoomKind
from signaling.courtroom import Courtroom
from signaling.redis_store import RedisHearingStateStore, RedisHearingStore, RedisRevokedTokens
from signaling.store import (
    HearingStateStore,
    HearingStore,
    MemoryHearingStateStore,
    MemoryHearingStore,
    MemoryRevokedTokens,
    RevokedTokens,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class Stores:
    hearings: HearingStore
    revoked: RevokedTokens
    state: HearingStateStore


@pytest.fixture(params=["memory", "redis"])
async def stores(request: pytest.FixtureRequest) -> AsyncIterator[Stores]:
    if request.param == "memory":
        yield Stores(MemoryHearingStore(), MemoryRevokedTokens(), MemoryHearingStateStore())
        return
    redis = Redis.from_url(REDIS_URL)
    prefix = f"ecourt-test-{secrets.token_hex(6)}:"
    try:
        yield Stores(
            RedisHearingStore(redis, prefix),
            RedisRevokedTokens(redis, prefix),
            RedisHearingStateStore(redis, prefix),
        )
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def hearing(hours: int = 0, **overrides: Any) -> Hearing:
    values: dict[str, Any] = {
        "id": new_hearing_id(),
        "type": HearingType.TRIAL,
        "case_number": "01/2026/HS-ST",
        "title": "State v. Pham",
        "scheduled_at": datetime(2026, 12, 1, 9, tzinfo=UTC) + timedelta(hours=hours),
        "public": False,
        "profile": "vn",
        "jurisdiction": Jurisdiction.CRIMINAL,
        "instance": Instance.FIRST,
    } | overrides
    return Hearing(**values)


async def test_a_hearing_reads_back_exactly_as_it_was_stored(stores: Stores) -> None:
    stored = hearing()
    await stores.hearings.add(stored)
    assert await stores.hearings.get(stored.id) == stored
    assert await stores.hearings.get(new_hearing_id()) is None


async def test_a_hearing_id_is_stored_once(stores: Stores) -> None:
    stored = hearing()
    await stores.hearings.add(stored)
    with pytest.raises(KeyError):
        await stores.hearings.add(hearing(id=stored.id, title="Another"))
    assert (await stores.hearings.get(stored.id)) == stored


async def test_all_hearings_come_in_order_of_their_scheduled_time(stores: Stores) -> None:
    later, earlier, conciliation = (
        hearing(3),
        hearing(1),
        hearing(2, type=HearingType.CONCILIATION, jurisdiction=None, instance=None),
    )
    for h in (later, earlier, conciliation):
        await stores.hearings.add(h)
    assert [h.id for h in await stores.hearings.all()] == [earlier.id, conciliation.id, later.id]


async def test_a_revoked_token_stays_revoked_for_its_hearing_only(stores: Stores) -> None:
    first, second, participant = new_hearing_id(), new_hearing_id(), new_participant_id()
    assert not await stores.revoked.is_revoked(first, participant)
    await stores.revoked.revoke(first, participant)
    await stores.revoked.revoke(first, participant)
    assert await stores.revoked.is_revoked(first, participant)
    assert not await stores.revoked.is_revoked(second, participant)


async def test_the_courts_state_survives_a_round_trip_through_the_store(stores: Stores) -> None:
    h = hearing()
    judge = Participant(new_participant_id(), h.id, Role.PRESIDING_JUDGE, "Judge Le")
    lawyer = Participant(new_participant_id(), h.id, Role.DEFENCE_COUNSEL, "Ms Vo")
    waiting = Participant(new_participant_id(), h.id, Role.OBSERVER, "Mr Do")
    lobby = Lobby()
    lobby.arrive(judge)
    lobby.arrive(lawyer)
    lobby.arrive(waiting)
    lobby.admit(judge, lawyer.id)
    court = Courtroom(h)
    from hearing.phases import Phase

    court.change_phase(Phase.IN_SESSION)
    seat = court.seat(lawyer, lobby.status(lawyer.id))
    assert seat is not None
    court.move(seat, Room(RoomKind.CONSULTATION, "c1"))
    court.hands.add(lawyer.id)
    court.forced_mute[lawyer.id] = {"audio"}

    await stores.state.save(h.id, {"lobby": lobby.snapshot(), "court": court.snapshot()})
    loaded = await stores.state.load(h.id)
    assert loaded is not None
    lobby_again, court_again = Lobby.restore(loaded["lobby"]), Courtroom(h)
    court_again.restore(loaded["court"])
    assert lobby_again.status(lawyer.id) is lobby.status(lawyer.id)
    assert lobby_again.waiting() == [waiting.id]
    assert court_again.snapshot() == court.snapshot()
    assert court_again.seat(lawyer, lobby_again.status(lawyer.id)) == court.seat(
        lawyer, lobby.status(lawyer.id)
    )
    assert await stores.state.load(new_hearing_id()) is None


async def test_a_later_snapshot_replaces_the_earlier_one(stores: Stores) -> None:
    hid = new_hearing_id()
    await stores.state.save(hid, {"n": 1})
    await stores.state.save(hid, {"n": 2})
    assert await stores.state.load(hid) == {"n": 2}


@pytest.mark.parametrize(
    "court",
    [
        {},
        {
            "phase": "partying",
            "rooms": {},
            "linked": [],
            "forced_mute": {},
            "floor": [],
            "hands": [],
            "screen_grants": [],
        },
        {
            "phase": "in_session",
            "rooms": {"p": ["attic", "x"]},
            "linked": [],
            "forced_mute": {},
            "floor": [],
            "hands": [],
            "screen_grants": [],
        },
        {
            "phase": "in_session",
            "rooms": {},
            "linked": [],
            "forced_mute": {},
            "floor": 7,
            "hands": [],
            "screen_grants": [],
        },
    ],
)
def test_a_malformed_court_snapshot_is_refused_and_changes_nothing(court: dict[str, Any]) -> None:
    courtroom = Courtroom(hearing())
    before = courtroom.snapshot()
    with pytest.raises((KeyError, TypeError, ValueError)):
        courtroom.restore(court)
    assert courtroom.snapshot() == before


@pytest.mark.parametrize(
    "lobby", [{}, {"admissions": [], "order": []}, {"admissions": {"p": "maybe"}, "order": []}]
)
def test_a_malformed_lobby_snapshot_is_refused(lobby: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Lobby.restore(lobby)
