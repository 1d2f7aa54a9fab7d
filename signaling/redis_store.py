"""The Redis twins of the stores in `signaling/store.py`, for many nodes.

Keys (all under one prefix, `ecourt:` by default):
- `hearing:<id>`: the hearing as JSON; `hearings`: a sorted set of ids by scheduled time;
- `revoked:<hearing id>`: a set of participant ids whose tokens were revoked;
- `links:<hearing id>`: a hash from participant id to the link issued for them (its id, never
  the token), and `link-order:<hearing id>`: their ids in the order they were kept;
- `state:<hearing id>`: the court's state of the hearing in session, as JSON (its
  `livestream` part is the livestream's state: `docs/cluster.md`); `state-epoch:<hearing id>`:
  the epoch of the node that wrote it (an older one is refused);
- `audit:<hearing id>`: a hash from signing key id to the latest checkpoint of the hearing's
  audit log signed by that key, as its audit line (`security/audit_store.py`).
"""

from __future__ import annotations

import json
from typing import Any

from redis import Redis as BlockingRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from hearing import Hearing
from security import AuditStaleEpoch, Checkpoint, checkpoint_from_line
from signaling.errors import StaleEpoch
from signaling.store import (
    IssuedLink,
    hearing_from_record,
    hearing_record,
    link_from_record,
    link_record,
)

DEFAULT_PREFIX = "ecourt:"


def redis_persistence(url: str, *, timeout: float) -> str | None:
    """None when the Redis at `url` keeps its data over its own restart (an append-only file,
    or an RDB save rule); else why it would not, in one line. Asked once, at start, before any
    event loop runs. The URL is never part of the answer (it may hold a password)."""
    client = BlockingRedis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        if str(client.info("persistence").get("aof_enabled", "0")) == "1":
            return None
        rules = str(client.config_get("save").get("save", ""))
    except ResponseError as exc:  # CONFIG renamed or forbidden: we cannot know
        return f"cannot tell whether Redis (ECOURT_REDIS_URL) persists: {exc}"
    except (RedisError, OSError) as exc:
        return f"cannot check that Redis (ECOURT_REDIS_URL) persists: {type(exc).__name__}"
    finally:
        client.close()
    if rules.strip():
        return None
    return (
        "Redis (ECOURT_REDIS_URL) keeps no append-only file and no RDB save rule:"
        " its restart would lose every hearing"
    )


class RedisHearingStore:
    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix

    async def add(self, hearing: Hearing) -> None:
        key = f"{self._prefix}hearing:{hearing.id}"
        if not await self._redis.set(key, json.dumps(hearing_record(hearing)), nx=True):
            raise KeyError(f"hearing {hearing.id} exists")
        await self._redis.zadd(
            f"{self._prefix}hearings", {hearing.id: hearing.scheduled_at.timestamp()}
        )

    async def get(self, hearing_id: str) -> Hearing | None:
        data = await self._redis.get(f"{self._prefix}hearing:{hearing_id}")
        return None if data is None else hearing_from_record(json.loads(data))

    async def all(self) -> list[Hearing]:
        ids = await self._redis.zrange(f"{self._prefix}hearings", 0, -1)
        if not ids:
            return []
        keys = [f"{self._prefix}hearing:{i.decode() if isinstance(i, bytes) else i}" for i in ids]
        return [hearing_from_record(json.loads(d)) for d in await self._redis.mget(keys) if d]


class RedisIssuedLinks:
    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix

    async def add(self, link: IssuedLink) -> None:
        hearing_id, participant_id = link.participant.hearing_id, link.participant.id
        links = f"{self._prefix}links:{hearing_id}"
        if not await self._redis.hsetnx(links, participant_id, json.dumps(link_record(link))):
            raise KeyError(f"participant {participant_id} has a link")
        await self._redis.rpush(f"{self._prefix}link-order:{hearing_id}", participant_id)

    async def of_hearing(self, hearing_id: str) -> list[IssuedLink]:
        ids = await self._redis.lrange(f"{self._prefix}link-order:{hearing_id}", 0, -1)
        if not ids:
            return []
        records = await self._redis.hmget(f"{self._prefix}links:{hearing_id}", ids)
        return [link_from_record(json.loads(r)) for r in records if r is not None]


class RedisRevokedTokens:
    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix

    async def revoke(self, hearing_id: str, participant_id: str) -> None:
        await self._redis.sadd(f"{self._prefix}revoked:{hearing_id}", participant_id)

    async def is_revoked(self, hearing_id: str, participant_id: str) -> bool:
        return bool(
            await self._redis.sismember(f"{self._prefix}revoked:{hearing_id}", participant_id)
        )


# KEYS: the state, its epoch; ARGV: the snapshot, the writer's epoch.
_SAVE_STATE = """
local kept = tonumber(redis.call('GET', KEYS[2]) or '0')
if kept > tonumber(ARGV[2]) then return kept end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return -1
"""


class RedisHearingStateStore:
    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix
        self._save = redis.register_script(_SAVE_STATE)

    async def save(self, hearing_id: str, snapshot: dict[str, Any], epoch: int = 0) -> None:
        keys = [f"{self._prefix}state:{hearing_id}", f"{self._prefix}state-epoch:{hearing_id}"]
        kept = int(await self._save(keys=keys, args=[json.dumps(snapshot), epoch]))
        if kept >= 0:
            raise StaleEpoch(f"the state of {hearing_id} is held by epoch {kept}, not {epoch}")

    async def load(self, hearing_id: str) -> dict[str, Any] | None:
        data = await self._redis.get(f"{self._prefix}state:{hearing_id}")
        return None if data is None else dict(json.loads(data))


# KEYS[1] = the hearing's checkpoints; ARGV = key id, checkpoint line, its seq, its epoch.
# A kept checkpoint of a newer epoch refuses it (-1); one with a higher seq stays (0: a late
# write never takes the store back).
_PUT_CHECKPOINT = """
local kept = redis.call('HGET', KEYS[1], ARGV[1])
if kept then
  local ok, body = pcall(cjson.decode, kept)
  if ok and type(body) == 'table' then
    if (tonumber(body['epoch']) or 0) > tonumber(ARGV[4]) then return -1 end
    if tonumber(body['seq']) and tonumber(body['seq']) > tonumber(ARGV[3]) then return 0 end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class RedisAuditCheckpoints:
    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix
        self._put = redis.register_script(_PUT_CHECKPOINT)

    async def put(self, checkpoint: Checkpoint) -> None:
        line = checkpoint.to_line().rstrip(b"\n")
        key = f"{self._prefix}audit:{checkpoint.hearing_id}"
        args: list[str | bytes | int] = [checkpoint.key_id, line, checkpoint.seq]
        args.append(checkpoint.epoch)
        if int(await self._put(keys=[key], args=args)) < 0:
            raise AuditStaleEpoch(
                f"checkpoint {checkpoint.seq} of {checkpoint.hearing_id} is of epoch "
                f"{checkpoint.epoch}; the store holds a newer one"
            )

    async def latest(self, hearing_id: str, key_id: str) -> Checkpoint | None:
        kept = await self._redis.hget(f"{self._prefix}audit:{hearing_id}", key_id)
        if kept is None:
            return None
        return checkpoint_from_line(kept if isinstance(kept, bytes) else str(kept).encode())
