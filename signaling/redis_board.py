"""The Redis twin of the board store (`signaling/board.py`): one hash, `board`, from node id
to `{"at": <unix time>, "rows": [...]}` as JSON, under the store's prefix. A node writes its
own field every second and deletes it when it stops cleanly; a killed node's field stays, and
its age tells the readers it is lost."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from signaling.redis_store import DEFAULT_PREFIX


class RedisBoardStore:
    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._key = f"{prefix}board"

    async def publish(self, node: str, at: float, rows: list[dict[str, Any]]) -> None:
        await self._redis.hset(self._key, node, json.dumps({"at": at, "rows": rows}))

    async def forget(self, node: str) -> None:
        await self._redis.hdel(self._key, node)

    async def nodes(self) -> dict[str, tuple[float, list[dict[str, Any]]]]:
        found = {}
        for node, data in (await self._redis.hgetall(self._key)).items():
            try:
                body = json.loads(data)
                found[node.decode() if isinstance(node, bytes) else str(node)] = (
                    float(body["at"]),
                    list(body["rows"]),
                )
            except (ValueError, KeyError, TypeError):
                continue  # not a board entry: nothing to show of it
        return found
