"""Hosting a hearing is a lease with a fencing token. The timing argument is in
`docs/cluster.md#leases`; in short:

- `HearingLeases.acquire` takes a hearing's lease for LEASE_SECONDS when nobody holds it (and
  the last holder's heartbeat is gone), raising its **epoch**: a counter per hearing that only
  grows. `renew` extends it by compare-and-set on (node, epoch); when the lease has lapsed but
  nobody took it since (the epoch did not move: a Redis pause, a restart, a stall shorter than
  anyone's interest) `renew` takes it back with the same epoch.
- `HostLease` is this node's view of one lease: its local deadline is the monotonic time at
  which the last successful renewal was *sent*, plus LEASE_SECONDS less SAFETY_MARGIN. Redis
  starts the lease's time later than that, so the deadline passes before the lease can lapse
  there, and so before any other node can take it. Past its deadline a node writes nothing
  for the hearing and obeys no order; when a renewal says the lease is lost it closes the
  hearing here.
- Writes that need one writer carry the epoch, and the stores refuse an older one.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

LEASE_SECONDS = 2.5
"""How long a lease lives in the store after a renewal."""
RENEW_SECONDS = 0.5
"""How often the holder renews."""
SAFETY_MARGIN = 0.5
"""The local deadline comes this much before the lease can lapse in the store: it covers the
two clocks running at different rates (20% over a lease) and the time a renewal takes."""
OUTAGE_EVIDENCE = 3.0
"""A holder whose store failed (an error, not silence) within this many seconds keeps serving
past its deadline: nobody can take a lease from a store that does not answer."""


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds a hearing, under which epoch, and where clients reach them."""

    hearing_id: str
    node_id: str
    url: str
    epoch: int


class HearingLeases(Protocol):
    shared: bool
    """Whether other processes can take these leases (Redis): only then does a lease's local
    deadline matter. An in-process lease cannot be taken by anyone else."""

    async def acquire(self, hearing_id: str, node_id: str, url: str, floor: int = 0) -> Lease:
        """Take the lease with a new epoch (at least `floor`: the hearing's audit log may have
        seen epochs a store that lost its data, or a restarted process, has forgotten), or
        return the lease another node holds."""
        ...

    async def renew(self, lease: Lease) -> bool:
        """Extend the lease (or take it back with its epoch if it lapsed and nobody took it
        since). False: another node holds the hearing, or a newer epoch was handed out."""
        ...

    async def release(self, lease: Lease) -> None:
        """Give the lease up (only this holder's, under this epoch)."""
        ...

    async def holder(self, hearing_id: str) -> Lease | None: ...


class MemoryLeases:
    """One process: the leases of this node's hearings, with the same epochs as Redis's."""

    shared = False

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held: dict[str, tuple[Lease, float]] = {}
        self._epochs: dict[str, int] = {}

    async def acquire(self, hearing_id: str, node_id: str, url: str, floor: int = 0) -> Lease:
        held = await self.holder(hearing_id)
        if held is not None and held.node_id != node_id:
            return held
        epoch = max(self._epochs.get(hearing_id, 0) + 1, floor)
        self._epochs[hearing_id] = epoch
        lease = Lease(hearing_id, node_id, url, epoch)
        self._held[hearing_id] = (lease, self._clock() + LEASE_SECONDS)
        return lease

    async def renew(self, lease: Lease) -> bool:
        held = await self.holder(lease.hearing_id)
        if held is not None and held != lease:
            return False
        if held is None and self._epochs.get(lease.hearing_id, 0) > lease.epoch:
            return False
        self._epochs[lease.hearing_id] = max(lease.epoch, self._epochs.get(lease.hearing_id, 0))
        self._held[lease.hearing_id] = (lease, self._clock() + LEASE_SECONDS)
        return True

    async def release(self, lease: Lease) -> None:
        if await self.holder(lease.hearing_id) == lease:
            del self._held[lease.hearing_id]

    async def holder(self, hearing_id: str) -> Lease | None:
        held = self._held.get(hearing_id)
        if held is None or held[1] <= self._clock():
            return None
        return held[0]


# KEYS: lease, epoch counter, last holder, generation; ARGV: node, url, ttl ms, heartbeat key
# prefix, the generation the node knows, a new generation in case there is none, the floor.
# A generation that is not the node's: Redis lost its data (a restart without persistence)
# or the node is new; it learns the generation, and waits before taking anything if it knew
# another. The last holder's heartbeat still beating means it is alive and will renew (after
# a Redis pause or restart it takes its lease back within one renewal): nobody else takes it.
_ACQUIRE = """
local generation = redis.call('GET', KEYS[4])
if not generation then
  generation = ARGV[6]
  redis.call('SET', KEYS[4], generation)
end
if generation ~= ARGV[5] then return 'generation:' .. generation end
local current = redis.call('GET', KEYS[1])
if current then
  local held = cjson.decode(current)
  if held['node'] ~= ARGV[1] then return current end
end
local last = redis.call('GET', KEYS[3])
if last and last ~= ARGV[1] and redis.call('EXISTS', ARGV[4] .. last) == 1 then
  return ''
end
local epoch = redis.call('INCR', KEYS[2])
if epoch < tonumber(ARGV[7]) then
  epoch = tonumber(ARGV[7])
  redis.call('SET', KEYS[2], epoch)
end
local lease = cjson.encode({node = ARGV[1], url = ARGV[2], epoch = epoch})
redis.call('SET', KEYS[1], lease, 'PX', ARGV[3])
redis.call('SET', KEYS[3], ARGV[1])
return lease
"""

# KEYS: lease, epoch counter, last holder; ARGV: node, url, ttl ms, epoch.
_RENEW = """
local current = redis.call('GET', KEYS[1])
if current then
  local held = cjson.decode(current)
  if held['node'] == ARGV[1] and tonumber(held['epoch']) == tonumber(ARGV[4]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    return 1
  end
  return 0
end
local counter = tonumber(redis.call('GET', KEYS[2]) or '0')
if counter > tonumber(ARGV[4]) then return 0 end
redis.call('SET', KEYS[2], ARGV[4])
local lease = cjson.encode({node = ARGV[1], url = ARGV[2], epoch = tonumber(ARGV[4])})
redis.call('SET', KEYS[1], lease, 'PX', ARGV[3])
redis.call('SET', KEYS[3], ARGV[1])
return 2
"""

# KEYS: lease, last holder; ARGV: node, epoch.
_RELEASE = """
local current = redis.call('GET', KEYS[1])
if current then
  local held = cjson.decode(current)
  if held['node'] == ARGV[1] and tonumber(held['epoch']) == tonumber(ARGV[2]) then
    redis.call('DEL', KEYS[1])
  end
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""


def lease_key(prefix: str, hearing_id: str) -> str:
    return f"{prefix}lease:{hearing_id}"


def lease_from_json(hearing_id: str, raw: bytes | str) -> Lease:
    body = json.loads(raw)
    return Lease(hearing_id, str(body["node"]), str(body["url"]), int(body["epoch"]))


class RedisLeases:
    """Keys: `lease:<hearing>` (the lease, expiring), `epoch:<hearing>` (the counter, kept),
    `host:<hearing>` (the last holder, kept until it releases), `generation` (a random name
    of Redis's data set, made by the first node that finds none)."""

    shared = True

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._generation = ""
        self.restarted_at = -LEASE_SECONDS - RENEW_SECONDS
        self._ttl_ms = int(LEASE_SECONDS * 1000)
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def _keys(self, hearing_id: str) -> list[str]:
        p = self._prefix
        return [lease_key(p, hearing_id), f"{p}epoch:{hearing_id}", f"{p}host:{hearing_id}"]

    async def acquire(self, hearing_id: str, node_id: str, url: str, floor: int = 0) -> Lease:
        """As the Protocol says; a lease of epoch 0 means "nobody may take it now" (the last
        holder lives, or Redis lost its data and holders are given time to take theirs back):
        the caller refuses and the client tries again."""
        keys = [*self._keys(hearing_id), f"{self._prefix}generation"]
        wait = Lease(hearing_id, "", "", 0)
        if time.monotonic() - self.restarted_at < LEASE_SECONDS + RENEW_SECONDS:
            return wait
        text = "generation:"
        for _ in range(2):
            args: list[str | int] = [node_id, url, self._ttl_ms, f"{self._prefix}node:"]
            args += [self._generation]
            raw = await self._acquire(keys=keys, args=[*args, secrets.token_hex(8), floor])
            text = raw.decode() if isinstance(raw, bytes) else str(raw or "")
            if not text.startswith("generation:"):
                break
            known, self._generation = self._generation, text.split(":", 1)[1]
            if known:  # Redis lost its data: give every holder time to take its lease back
                self.restarted_at = time.monotonic()
                return wait
        if text.startswith("generation:"):
            return wait
        if not text:  # the last holder lives: it is its hearing, and it will renew
            return wait
        return lease_from_json(hearing_id, text)

    async def renew(self, lease: Lease) -> bool:
        args: list[str | int] = [lease.node_id, lease.url, self._ttl_ms, lease.epoch]
        return bool(await self._renew(keys=self._keys(lease.hearing_id), args=args))

    async def release(self, lease: Lease) -> None:
        keys = self._keys(lease.hearing_id)
        await self._release(keys=[keys[0], keys[2]], args=[lease.node_id, lease.epoch])

    async def holder(self, hearing_id: str) -> Lease | None:
        raw = await self._redis.get(lease_key(self._prefix, hearing_id))
        return None if raw is None else lease_from_json(hearing_id, raw)


class HostLease:
    """This node's hold on one hearing, on its own monotonic clock."""

    def __init__(self, lease: Lease, sent_at: float, clock: Callable[[], float] = time.monotonic):
        self.lease = lease
        self._clock = clock
        self._deadline = sent_at + LEASE_SECONDS - SAFETY_MARGIN
        self._store_failed_at = -OUTAGE_EVIDENCE
        self.lost = False

    @property
    def epoch(self) -> int:
        return self.lease.epoch

    def renewed(self, sent_at: float) -> None:
        """A renewal sent at `sent_at` (monotonic) succeeded."""
        self._deadline = max(self._deadline, sent_at + LEASE_SECONDS - SAFETY_MARGIN)

    def store_failed(self) -> None:
        """A renewal failed with an error of the store (it is away for this node)."""
        self._store_failed_at = self._clock()

    def serving(self) -> bool:
        """Whether this node may act for the hearing now: before the local deadline, or while
        the store is seen to fail (nobody can take the lease from it), never once lost."""
        if self.lost:
            return False
        now = self._clock()
        return now < self._deadline or now - self._store_failed_at < OUTAGE_EVIDENCE

    def overdue(self) -> bool:
        """Past the deadline with no evidence of an outage: the node was stalled (or cut off
        from the store while it answers others)."""
        return not self.lost and not self.serving()


def always_serving() -> HostLease:
    """The lease of a hearing in a process without a cluster (tests, tools): never lapses."""
    return HostLease(Lease("-", "-", "", 1), float("inf"))
