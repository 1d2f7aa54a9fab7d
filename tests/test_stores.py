"""One contract for every store, run against the in-memory twin, the SQLite twin (a file of the
test's own) and the real Redis on 127.0.0.1:6379 (under a prefix of its own, removed
afterwards)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from hearing import Hearing, Lobby, Participant, Role
from hearing.model import HearingType, Instance, Jurisdiction, new_hearing_id, new_participant_id
from hearing.rooms import Room, RoomKind
from security import (
    AuditCheckpointStore,
    AuditLog,
    Checkpoint,
    MalformedAuditLine,
    MemoryAuditCheckpoints,
    MemoryAuditSink,
    Secret,
    SigningKey,
)
from signaling.courtroom import Courtroom
from signaling.redis_store import (
    RedisAuditCheckpoints,
    RedisHearingStateStore,
    RedisHearingStore,
    RedisIssuedLinks,
    RedisRevokedTokens,
)
from signaling.sqlite_store import (
    Database,
    SqliteAuditCheckpoints,
    SqliteHearingStateStore,
    SqliteHearingStore,
    SqliteIssuedLinks,
    SqliteRevokedTokens,
)
from signaling.store import (
    HearingStateStore,
    HearingStore,
    IssuedLink,
    IssuedLinks,
    MemoryHearingStateStore,
    MemoryHearingStore,
    MemoryIssuedLinks,
    MemoryRevokedTokens,
    RevokedTokens,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
KEY = SigningKey.from_secret(Secret(bytes(range(32))))
OTHER_KEY = SigningKey.from_secret(Secret(bytes(range(1, 33))))


@dataclass
class Stores:
    hearings: HearingStore
    revoked: RevokedTokens
    state: HearingStateStore
    """The court's state of a hearing, the livestream's state in it."""
    checkpoints: AuditCheckpointStore
    links: IssuedLinks


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    if request.param == "memory":
        yield Stores(
            MemoryHearingStore(),
            MemoryRevokedTokens(),
            MemoryHearingStateStore(),
            MemoryAuditCheckpoints(),
            MemoryIssuedLinks(),
        )
        return
    if request.param == "sqlite":
        database = Database.in_data_dir(tmp_path / "data")
        try:
            yield sqlite_stores(database)
        finally:
            await database.close()
        return
    redis = Redis.from_url(REDIS_URL)
    prefix = f"ecourt-test-{secrets.token_hex(6)}:"
    try:
        yield Stores(
            RedisHearingStore(redis, prefix),
            RedisRevokedTokens(redis, prefix),
            RedisHearingStateStore(redis, prefix),
            RedisAuditCheckpoints(redis, prefix),
            RedisIssuedLinks(redis, prefix),
        )
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def sqlite_stores(database: Database) -> Stores:
    return Stores(
        SqliteHearingStore(database),
        SqliteRevokedTokens(database),
        SqliteHearingStateStore(database),
        SqliteAuditCheckpoints(database),
        SqliteIssuedLinks(database),
    )


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


def link(hearing_id: str, role: Role = Role.WITNESS, name: str = "Ms Lopez") -> IssuedLink:
    participant = Participant(new_participant_id(), hearing_id, role, name)
    return IssuedLink(participant, secrets.token_urlsafe(12), 1_800_000_000, 1_800_003_600)


async def test_issued_links_read_back_in_the_order_they_were_kept(stores: Stores) -> None:
    first, second = new_hearing_id(), new_hearing_id()
    kept = [link(first, Role.PRESIDING_JUDGE, "Judge Le"), link(first), link(first, name="Mr Do")]
    for issued in [kept[0], link(second), *kept[1:]]:
        await stores.links.add(issued)
    assert await stores.links.of_hearing(first) == kept
    assert len(await stores.links.of_hearing(second)) == 1
    assert await stores.links.of_hearing(new_hearing_id()) == []


async def test_a_participant_has_one_issued_link(stores: Stores) -> None:
    issued = link(new_hearing_id())
    await stores.links.add(issued)
    again = IssuedLink(issued.participant, "another-id", 1_800_000_001, 1_800_003_601)
    with pytest.raises(KeyError):
        await stores.links.add(again)
    assert await stores.links.of_hearing(issued.participant.hearing_id) == [issued]


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


@pytest.mark.parametrize("state", ["closed", "live", "cut", "off"])
async def test_the_livestreams_state_comes_back_with_the_courts_state(
    stores: Stores, state: str
) -> None:
    """The livestream's state lives in the court's state of the hearing (`"livestream"`,
    as `HearingSession.snapshot` writes it); `LivestreamControl.resume` reads it back."""
    h = hearing()
    court = Courtroom(h)
    await stores.state.save(
        h.id, {"lobby": Lobby().snapshot(), "court": court.snapshot(), "livestream": state}
    )
    loaded = await stores.state.load(h.id)
    assert loaded is not None and loaded["livestream"] == state


def checkpoints(hearing_id: str, key: SigningKey = KEY, entries: int = 6) -> list[Checkpoint]:
    """The signed checkpoints of a real log: after entries 2, 4, 6 ..., then the final one."""
    log = AuditLog(hearing_id, MemoryAuditSink(), key, checkpoint_every=2)
    signed: list[Checkpoint] = []
    log.watch_checkpoints(signed.append)
    for n in range(entries):
        log.record("p_judge001", "admit", target="p_witness1", details={"n": n})
    log.close()
    return signed


async def test_the_latest_audit_checkpoint_reads_back_exactly_as_it_was_signed(
    stores: Stores,
) -> None:
    hid = new_hearing_id()
    assert await stores.checkpoints.latest(hid, KEY.key_id) is None
    for checkpoint in checkpoints(hid):
        await stores.checkpoints.put(checkpoint)
        assert await stores.checkpoints.latest(hid, KEY.key_id) == checkpoint
    final = await stores.checkpoints.latest(hid, KEY.key_id)
    assert final is not None and final.final and final.seq == 6


async def test_an_earlier_audit_checkpoint_never_replaces_a_later_one(stores: Stores) -> None:
    hid = new_hearing_id()
    second, third = checkpoints(hid)[1:3]
    await stores.checkpoints.put(third)
    await stores.checkpoints.put(second)  # a write that arrives late
    assert await stores.checkpoints.latest(hid, KEY.key_id) == third


async def test_audit_checkpoints_are_kept_per_hearing_and_per_signing_key(stores: Stores) -> None:
    first, second = new_hearing_id(), new_hearing_id()
    ours, theirs = checkpoints(first)[-1], checkpoints(first, OTHER_KEY, entries=2)[0]
    other_hearing = checkpoints(second, entries=2)[0]
    for checkpoint in (ours, theirs, other_hearing):
        await stores.checkpoints.put(checkpoint)
    assert await stores.checkpoints.latest(first, KEY.key_id) == ours
    assert await stores.checkpoints.latest(first, OTHER_KEY.key_id) == theirs
    assert await stores.checkpoints.latest(second, KEY.key_id) == other_hearing
    assert await stores.checkpoints.latest(second, OTHER_KEY.key_id) is None


async def test_a_stored_audit_checkpoint_that_is_not_one_is_refused_when_read() -> None:
    redis = Redis.from_url(REDIS_URL)
    prefix = f"ecourt-test-{secrets.token_hex(6)}:"
    hid = new_hearing_id()
    try:
        await redis.hset(f"{prefix}audit:{hid}", KEY.key_id, b'{"type":"checkpoint","v":1}')
        with pytest.raises(MalformedAuditLine):
            await RedisAuditCheckpoints(redis, prefix).latest(hid, KEY.key_id)
    finally:
        await redis.delete(f"{prefix}audit:{hid}")
        await redis.aclose()


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
