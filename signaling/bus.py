"""Orders that must reach whichever node hosts a hearing: today, "revoke this participant's
link" (the API may be called on any node, and the live connection must close within a
second). `MemoryBus` delivers in this process; `RedisBus` publishes on a Redis channel that
every node listens to."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.asyncio import Redis

from media.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)
_failures = RateLimitedLog(log, interval=10.0)

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class ClusterBus(Protocol):
    async def publish(self, order: dict[str, Any]) -> None: ...

    async def start(self, handler: Handler) -> None: ...

    async def close(self) -> None: ...


class MemoryBus:
    def __init__(self) -> None:
        self._handler: Handler | None = None

    async def publish(self, order: dict[str, Any]) -> None:
        if self._handler is not None:
            await self._handler(order)

    async def start(self, handler: Handler) -> None:
        self._handler = handler

    async def close(self) -> None:
        self._handler = None


class RedisBus:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._channel = f"{prefix}orders"
        self._task: asyncio.Task[None] | None = None

    async def publish(self, order: dict[str, Any]) -> None:
        await self._redis.publish(self._channel, json.dumps(order))

    async def start(self, handler: Handler) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen(handler))

    async def _listen(self, handler: Handler) -> None:
        """Listen for orders; a Redis that goes away is waited for, and listened to again."""
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        try:
                            order = json.loads(message["data"])
                        except (TypeError, ValueError):
                            continue
                        if isinstance(order, dict):
                            await handler(order)
            except asyncio.CancelledError:
                raise
            except Exception:
                _failures.warning("the order channel %s is down; listening again", self._channel)
                await asyncio.sleep(1.0)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self._redis.aclose()
