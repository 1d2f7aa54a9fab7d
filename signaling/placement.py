"""Which node hosts which hearing. One hearing lives on one node (every participant's media
goes through the same SFU); a hearing is placed on the least-loaded live node, and stays there
while that node's heartbeat lives. When it expires, the next arrival places the hearing again.

`MemoryPlacement` is the embedded default (one node hosts everything); `RedisPlacement` keeps
heartbeats (`node:<id>`, expiring) and placements (`placement:<hearing id>`) in Redis, and
moves a placement only with a compare-and-set, so two nodes never both host a hearing.

"Least-loaded" is `placement_score`: the node process's CPU use in steps of 10% of one core
first (`CpuMeter`), then its forwarded streams plus hearings in session.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from redis.asyncio import Redis

HEARTBEAT_SECONDS = 0.5
HEARTBEAT_TTL = 2.0
CPU_STEP_PERCENT = 10
"""CPU use closer than this (percent of one core) counts as equal; streams decide then."""
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeInfo:
    node_id: str
    url: str
    """Where clients reach this node (its public base URL)."""
    load: int = 0
    """Forwarded streams and hearings in session."""
    draining: bool = False
    cpu: float = 0.0
    """The node process's CPU use over its last heartbeat interval, in cores (0.5: half of
    one core; all its threads, so it may pass 1.0)."""


def placement_score(node: NodeInfo) -> tuple[int, int]:
    """Lower is less loaded: CPU in steps of 10% of a core, then streams and hearings."""
    return round(node.cpu * 100) // CPU_STEP_PERCENT, node.load


def node_from_heartbeat(body: Mapping[str, Any]) -> NodeInfo:
    """A heartbeat read back; one written before nodes measured CPU counts as 0 CPU. Raises
    KeyError, TypeError or ValueError for one that is not a heartbeat."""
    cpu = float(body.get("cpu", 0.0))
    if not math.isfinite(cpu) or cpu < 0:
        raise ValueError(f"cpu {cpu!r} is not a CPU use")
    node_id, url = body["node_id"], body["url"]
    if not isinstance(node_id, str) or not isinstance(url, str):
        raise TypeError("node_id and url must be strings")
    return NodeInfo(node_id, url, int(body["load"]), bool(body["draining"]), cpu)


class CpuMeter:
    """This process's CPU use (user and system time of all its threads) over the wall time
    since the last sample, in cores. A sample taken sooner than `min_interval` after the last
    one returns that one's figure, so the placement and the heartbeat may both ask."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.process_time,
        min_interval: float = HEARTBEAT_SECONDS / 2,
    ) -> None:
        self._clock = clock
        self._cpu_clock = cpu_clock
        self._min_interval = min_interval
        self._at = clock()
        self._used = cpu_clock()
        self.last = 0.0

    def sample(self) -> float:
        now = self._clock()
        elapsed = now - self._at
        if elapsed >= self._min_interval:
            used = self._cpu_clock()
            self.last = max(0.0, (used - self._used) / elapsed)
            self._at, self._used = now, used
        return self.last


class Placement(Protocol):
    async def heartbeat(self, node: NodeInfo) -> None: ...

    async def live_nodes(self) -> list[NodeInfo]: ...

    async def place(self, hearing_id: str, here: NodeInfo) -> NodeInfo: ...

    async def release(self, hearing_id: str, node_id: str) -> None: ...

    async def hosted_by(self, node_id: str) -> list[str]: ...

    async def leave(self, node_id: str) -> None: ...


class MemoryPlacement:
    """One node: every hearing is placed here."""

    def __init__(self) -> None:
        self._placed: dict[str, str] = {}
        self._node: NodeInfo | None = None

    async def heartbeat(self, node: NodeInfo) -> None:
        self._node = node

    async def live_nodes(self) -> list[NodeInfo]:
        return [] if self._node is None else [self._node]

    async def place(self, hearing_id: str, here: NodeInfo) -> NodeInfo:
        self._placed[hearing_id] = here.node_id
        return here

    async def release(self, hearing_id: str, node_id: str) -> None:
        if self._placed.get(hearing_id) == node_id:
            del self._placed[hearing_id]

    async def hosted_by(self, node_id: str) -> list[str]:
        return sorted(h for h, n in self._placed.items() if n == node_id)

    async def leave(self, node_id: str) -> None:
        self._placed = {h: n for h, n in self._placed.items() if n != node_id}
        if self._node is not None and self._node.node_id == node_id:
            self._node = None


# KEYS[1] = placement key; ARGV[1] = the owner we saw ("" for none), ARGV[2] = the new owner
_MOVE = """
local current = redis.call('GET', KEYS[1]) or ''
if current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return ARGV[2]
end
return current
"""


class RedisPlacement:
    def __init__(self, redis: Redis, prefix: str, ttl: float = HEARTBEAT_TTL) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_ms = int(ttl * 1000)
        self._move = redis.register_script(_MOVE)

    async def heartbeat(self, node: NodeInfo) -> None:
        body = json.dumps(asdict(node) | {"cpu": round(node.cpu, 3), "at": time.time()})
        await self._redis.set(f"{self._prefix}node:{node.node_id}", body, px=self._ttl_ms)

    async def _node(self, node_id: str) -> NodeInfo | None:
        data = await self._redis.get(f"{self._prefix}node:{node_id}")
        if data is None:
            return None
        try:
            return node_from_heartbeat(json.loads(data))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("the heartbeat of node %s is not one (%s): not counted", node_id, exc)
            return None

    async def live_nodes(self) -> list[NodeInfo]:
        nodes = []
        async for key in self._redis.scan_iter(match=f"{self._prefix}node:*"):
            name = key.decode() if isinstance(key, bytes) else str(key)
            node = await self._node(name.rsplit(":", 1)[1])
            if node is not None:
                nodes.append(node)
        return sorted(nodes, key=lambda n: n.node_id)

    async def place(self, hearing_id: str, here: NodeInfo) -> NodeInfo:
        """The node hosting the hearing: its live owner, or else the least-loaded live node
        (`placement_score`; this one among equals) that is not draining (this one if none
        other is live)."""
        key = f"{self._prefix}placement:{hearing_id}"
        for _ in range(5):
            raw = await self._redis.get(key)
            owner_id = "" if raw is None else (raw.decode() if isinstance(raw, bytes) else str(raw))
            owner = await self._node(owner_id) if owner_id else None
            if owner is not None and not (owner.draining and owner.node_id != here.node_id):
                return owner
            candidates = [n for n in await self.live_nodes() if not n.draining] or [here]
            chosen = min(
                candidates,
                key=lambda n: (placement_score(n), n.node_id != here.node_id, n.node_id),
            )
            result = await self._move(keys=[key], args=[owner_id, chosen.node_id])
            winner = result.decode() if isinstance(result, bytes) else str(result)
            if winner == chosen.node_id:
                return chosen
        raise RuntimeError(f"placement of {hearing_id} kept changing")

    async def release(self, hearing_id: str, node_id: str) -> None:
        await self._move(keys=[f"{self._prefix}placement:{hearing_id}"], args=[node_id, ""])

    async def leave(self, node_id: str) -> None:
        """A node that stops cleanly: its heartbeat goes at once, and so do its placements,
        so the next arrival places each hearing again without waiting for the expiry."""
        await self._redis.delete(f"{self._prefix}node:{node_id}")
        for hearing_id in await self.hosted_by(node_id):
            await self.release(hearing_id, node_id)

    async def hosted_by(self, node_id: str) -> list[str]:
        hosted = []
        async for key in self._redis.scan_iter(match=f"{self._prefix}placement:*"):
            name = key.decode() if isinstance(key, bytes) else str(key)
            owner = await self._redis.get(key)
            if (
                owner is not None
                and (owner.decode() if isinstance(owner, bytes) else owner) == node_id
            ):
                hosted.append(name.rsplit(":", 1)[1])
        return sorted(hosted)
