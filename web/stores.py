"""The stores of this process: in memory (the embedded default) or on Redis when
`ECOURT_REDIS_URL` is set, with socket.io's Redis manager so that many nodes share one
signalling bus."""

from __future__ import annotations

from dataclasses import dataclass, field

import socketio
from redis.asyncio import Redis

from security import AuditCheckpointStore, MemoryAuditCheckpoints
from signaling.bus import ClusterBus, MemoryBus, RedisBus
from signaling.lease import HearingLeases, MemoryLeases, RedisLeases
from signaling.placement import MemoryPlacement, Placement, RedisPlacement
from signaling.redis_store import (
    RedisAuditCheckpoints,
    RedisHearingStateStore,
    RedisHearingStore,
    RedisRevokedTokens,
)
from signaling.store import (
    HearingStateStore,
    HearingStore,
    MemoryHearingStateStore,
    MemoryHearingStore,
    MemoryRevokedTokens,
    RevokedTokens,
)
from web.settings import Settings

PING_TIMEOUT = 1.0


@dataclass
class Stores:
    hearings: HearingStore
    revoked: RevokedTokens
    states: HearingStateStore
    """The court's state of each hearing in session, its livestream's state included."""
    audit_checkpoints: AuditCheckpointStore = field(default_factory=MemoryAuditCheckpoints)
    placement: Placement = field(default_factory=MemoryPlacement)
    leases: HearingLeases = field(default_factory=MemoryLeases)
    """Who hosts each hearing, under which epoch (`signaling/lease.py`)."""
    bus: ClusterBus = field(default_factory=MemoryBus)
    client_manager: socketio.AsyncManager | None = None
    redis: Redis | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> Stores:
        if settings.redis_url is None:
            return cls(MemoryHearingStore(), MemoryRevokedTokens(), MemoryHearingStateStore())
        redis = Redis.from_url(
            settings.redis_url, socket_timeout=PING_TIMEOUT, socket_connect_timeout=PING_TIMEOUT
        )
        prefix = settings.redis_prefix
        manager = socketio.AsyncRedisManager(settings.redis_url, channel=f"{prefix}socketio")
        return cls(
            RedisHearingStore(redis, prefix),
            RedisRevokedTokens(redis, prefix),
            RedisHearingStateStore(redis, prefix),
            audit_checkpoints=RedisAuditCheckpoints(redis, prefix),
            placement=RedisPlacement(redis, prefix),
            leases=RedisLeases(redis, prefix),
            # blocks on listen: no timeout
            bus=RedisBus(Redis.from_url(settings.redis_url), prefix),
            client_manager=manager,
            redis=redis,
        )

    async def ready(self) -> bool:
        """True unless Redis is configured and does not answer."""
        if self.redis is None:
            return True
        try:
            return bool(await self.redis.ping())
        except Exception:
            return False

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
