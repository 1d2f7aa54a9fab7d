"""The Redis twin of the webhook outbox (`signaling/webhook_store.py`), shared by every node.

Keys (under the store's prefix):
- `webhook-endpoints`: a hash from endpoint id to the endpoint as JSON (its secret in hex);
  `webhook-endpoint-order`: their ids in the order they were added;
- `webhook-q:<endpoint>/<hearing>`: a queue, a sorted set of event ids by `seq`;
- `webhook-d:<endpoint>`: a hash from event id to the delivery as JSON;
- `webhook-due`: a sorted set of queues (`<endpoint>/<hearing>`) by when their head is due;
  a claimed head's queue is moved a lease ahead, so no other node sends it meanwhile;
- `webhook-queues:<endpoint>`: the hearings with a queue for the endpoint;
- `webhook-stats:<endpoint>`: `abandoned` (a count) and `last_error`;
- `webhook-queued`: a hash from hearing id to the highest seq of its log whose event was queued.

Each operation is one Lua script, so it is atomic across nodes. The scripts build their keys
from the prefix (one Redis, not Redis Cluster, as the rest of the stores).
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from security import Secret
from signaling.redis_store import DEFAULT_PREFIX
from signaling.webhook_store import Backlog, Delivery, WebhookEndpoint

_ENQUEUE = """
local p, e, id, h, seq = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local through = tonumber(redis.call('HGET', p..'webhook-queued', h) or '0')
if tonumber(seq) > through then redis.call('HSET', p..'webhook-queued', h, seq) end
if redis.call('HEXISTS', p..'webhook-endpoints', e) == 0 then return 0 end
local q = p..'webhook-q:'..e..'/'..h
if redis.call('ZCOUNT', q, seq, seq) > 0 then return 0 end
if redis.call('HSETNX', p..'webhook-d:'..e, id, ARGV[6]) == 0 then return 0 end
redis.call('ZADD', q, seq, id)
redis.call('SADD', p..'webhook-queues:'..e, h)
redis.call('ZADD', p..'webhook-due', 'NX', ARGV[7], e..'/'..h)
return 1
"""

_CLAIM = """
local p = ARGV[1]
local due = p..'webhook-due'
local queues = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, m in ipairs(queues) do
  local e = string.sub(m, 1, string.find(m, '/', 1, true) - 1)
  local head = redis.call('ZRANGE', p..'webhook-q:'..m, 0, 0)
  local body = false
  if head[1] then body = redis.call('HGET', p..'webhook-d:'..e, head[1]) end
  if body then
    redis.call('ZADD', due, ARGV[3], m)
    table.insert(out, body)
  else
    redis.call('ZREM', due, m)
  end
end
return out
"""

_FINISH = """
local p, e, h, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local m = e..'/'..h
local q = p..'webhook-q:'..m
local removed = redis.call('ZREM', q, id)
redis.call('HDEL', p..'webhook-d:'..e, id)
local following = redis.call('ZRANGE', q, 0, 0)[1]
local record = following and redis.call('HGET', p..'webhook-d:'..e, following)
if record then  -- the next head is due when it says
  redis.call('ZADD', p..'webhook-due', tostring(cjson.decode(record)['next_at']), m)
else
  redis.call('ZREM', p..'webhook-due', m)
  redis.call('SREM', p..'webhook-queues:'..e, h)
end
if redis.call('HEXISTS', p..'webhook-endpoints', e) == 1 then
  if ARGV[5] == '1' and removed == 1 then
    redis.call('HINCRBY', p..'webhook-stats:'..e, 'abandoned', 1)
  end
  if ARGV[6] ~= '' then redis.call('HSET', p..'webhook-stats:'..e, 'last_error', ARGV[6]) end
end
return removed
"""

_RETRY = """
local p, e, h, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('HEXISTS', p..'webhook-d:'..e, id) == 0 then return 0 end
redis.call('HSET', p..'webhook-d:'..e, id, ARGV[5])
redis.call('ZADD', p..'webhook-due', 'XX', ARGV[6], e..'/'..h)
if ARGV[7] ~= '' then redis.call('HSET', p..'webhook-stats:'..e, 'last_error', ARGV[7]) end
return 1
"""

_REMOVE = """
local p, e = ARGV[1], ARGV[2]
if redis.call('HDEL', p..'webhook-endpoints', e) == 0 then return 0 end
for _, h in ipairs(redis.call('SMEMBERS', p..'webhook-queues:'..e)) do
  redis.call('DEL', p..'webhook-q:'..e..'/'..h)
  redis.call('ZREM', p..'webhook-due', e..'/'..h)
end
redis.call('DEL', p..'webhook-queues:'..e, p..'webhook-d:'..e, p..'webhook-stats:'..e)
redis.call('LREM', p..'webhook-endpoint-order', 0, e)
return 1
"""


def _delivery_json(d: Delivery) -> str:
    return json.dumps(
        {
            "endpoint_id": d.endpoint_id,
            "event_id": d.event_id,
            "hearing_id": d.hearing_id,
            "seq": d.seq,
            "event_type": d.event_type,
            "body": d.body,
            "first_at": d.first_at,
            "next_at": d.next_at,
            "attempts": d.attempts,
            "last_error": d.last_error,
        }
    )


def _delivery(data: Any) -> Delivery:
    r = json.loads(data)
    return Delivery(
        endpoint_id=str(r["endpoint_id"]),
        event_id=str(r["event_id"]),
        hearing_id=str(r["hearing_id"]),
        seq=int(r["seq"]),
        event_type=str(r["event_type"]),
        body=str(r["body"]),
        first_at=float(r["first_at"]),
        next_at=float(r["next_at"]),
        attempts=int(r["attempts"]),
        last_error=None if r["last_error"] is None else str(r["last_error"]),
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisWebhookStore:
    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._p = prefix
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)
        self._finish = redis.register_script(_FINISH)
        self._retry = redis.register_script(_RETRY)
        self._remove = redis.register_script(_REMOVE)

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        record = {
            "id": endpoint.id,
            "url": endpoint.url,
            "secret": endpoint.secret.value.hex(),
            "events": sorted(endpoint.events),
            "created_at": endpoint.created_at,
        }
        if not await self._redis.hsetnx(
            f"{self._p}webhook-endpoints", endpoint.id, json.dumps(record)
        ):
            raise KeyError(f"endpoint {endpoint.id} exists")
        await self._redis.rpush(f"{self._p}webhook-endpoint-order", endpoint.id)

    async def endpoints(self) -> list[WebhookEndpoint]:
        ids = await self._redis.lrange(f"{self._p}webhook-endpoint-order", 0, -1)
        if not ids:
            return []
        records = await self._redis.hmget(f"{self._p}webhook-endpoints", ids)
        endpoints = []
        for data in records:
            if data is None:
                continue
            r = json.loads(data)
            endpoints.append(
                WebhookEndpoint(
                    str(r["id"]),
                    str(r["url"]),
                    Secret(bytes.fromhex(r["secret"])),
                    frozenset(str(e) for e in r["events"]),
                    int(r["created_at"]),
                )
            )
        return endpoints

    async def remove_endpoint(self, endpoint_id: str) -> bool:
        return bool(await self._remove(args=[self._p, endpoint_id]))

    async def enqueue(self, deliveries: list[Delivery]) -> None:
        for d in deliveries:
            ids = [self._p, d.endpoint_id, d.event_id, d.hearing_id, str(d.seq)]
            await self._enqueue(args=[*ids, _delivery_json(d), repr(d.next_at)])

    async def queued_through(self, hearing_id: str) -> int:
        found = await self._redis.hget(f"{self._p}webhook-queued", hearing_id)
        return 0 if found is None else int(found)

    async def claim(self, now: float, lease: float, limit: int) -> list[Delivery]:
        found = await self._claim(args=[self._p, repr(now), repr(now + lease), limit])
        return [_delivery(data) for data in found]

    async def delivered(self, delivery: Delivery) -> None:
        await self._finish(args=[*self._ids(delivery), "0", ""])

    async def retry(self, delivery: Delivery) -> None:
        error = delivery.last_error or ""
        args = [*self._ids(delivery), _delivery_json(delivery), repr(delivery.next_at), error]
        await self._retry(args=args)

    async def abandon(self, delivery: Delivery) -> None:
        error = delivery.last_error or ""
        await self._finish(args=[*self._ids(delivery), "1", error])

    def _ids(self, d: Delivery) -> list[str]:
        return [self._p, d.endpoint_id, d.hearing_id, d.event_id]

    async def backlog(self) -> list[Backlog]:
        result = []
        for endpoint in await self.endpoints():
            pending = await self._redis.hlen(f"{self._p}webhook-d:{endpoint.id}")
            stats = await self._redis.hgetall(f"{self._p}webhook-stats:{endpoint.id}")
            values = {_text(k): _text(v) for k, v in stats.items()}
            abandoned = int(values.get("abandoned", "0"))
            result.append(Backlog(endpoint.id, int(pending), abandoned, values.get("last_error")))
        return result
