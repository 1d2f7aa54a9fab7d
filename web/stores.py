"""The stores of this process: SQLite in the data directory (the embedded default), or Redis
when `ECOURT_REDIS_URL` is set, with socket.io's Redis manager so that many nodes share one
signalling bus. The in-memory twins are for tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import socketio
from redis.asyncio import Redis

from security import AuditCheckpointStore, MemoryAuditCheckpoints
from signaling.board import BoardStore, MemoryBoardStore
from signaling.bus import ClusterBus, MemoryBus, RedisBus
from signaling.errors import StoreUnusable
from signaling.lease import HearingLeases, MemoryLeases, RedisLeases
from signaling.placement import MemoryPlacement, Placement, RedisPlacement
from signaling.redis_board import RedisBoardStore
from signaling.redis_store import (
    RedisAuditCheckpoints,
    RedisHearingStateStore,
    RedisHearingStore,
    RedisIssuedLinks,
    RedisRevokedTokens,
    redis_persistence,
)
from signaling.redis_webhooks import RedisWebhookStore
from signaling.sqlite_store import (
    Database,
    SqliteAuditCheckpoints,
    SqliteHearingStateStore,
    SqliteHearingStore,
    SqliteIssuedLinks,
    SqliteRevokedTokens,
)
from signaling.sqlite_webhooks import SqliteWebhookStore
from signaling.store import (
    HearingStateStore,
    HearingStore,
    IssuedLinks,
    MemoryIssuedLinks,
    RevokedTokens,
)
from signaling.webhook_store import MemoryWebhookStore, WebhookStore
from web.settings import Settings

PING_TIMEOUT = 1.0
PERSISTENCE_CHECK_TIMEOUT = 5.0


@dataclass
class Stores:
    hearings: HearingStore
    revoked: RevokedTokens
    states: HearingStateStore
    """The court's state of each hearing in session, its livestream's state included."""
    audit_checkpoints: AuditCheckpointStore = field(default_factory=MemoryAuditCheckpoints)
    links: IssuedLinks = field(default_factory=MemoryIssuedLinks)
    """The participants whose links the REST API issued, with the links' ids."""
    placement: Placement = field(default_factory=MemoryPlacement)
    leases: HearingLeases = field(default_factory=MemoryLeases)
    """Who hosts each hearing, under which epoch (`signaling/lease.py`)."""
    bus: ClusterBus = field(default_factory=MemoryBus)
    webhooks: WebhookStore = field(default_factory=MemoryWebhookStore)
    """The webhook endpoints and the outbox of their deliveries."""
    board: BoardStore = field(default_factory=MemoryBoardStore)
    """Each node's rows of the supervision board (one node: this process's memory)."""
    client_manager: socketio.AsyncManager | None = None
    redis: Redis | None = None
    database: Database | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> Stores:
        if settings.redis_url is None:
            database = Database.in_data_dir(settings.data_dir)
            return cls(
                SqliteHearingStore(database),
                SqliteRevokedTokens(database),
                SqliteHearingStateStore(database),
                audit_checkpoints=SqliteAuditCheckpoints(database),
                links=SqliteIssuedLinks(database),
                webhooks=SqliteWebhookStore(database),
                database=database,
            )
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
            links=RedisIssuedLinks(redis, prefix),
            placement=RedisPlacement(redis, prefix),
            leases=RedisLeases(redis, prefix),
            # blocks on listen: no timeout
            bus=RedisBus(Redis.from_url(settings.redis_url), prefix),
            webhooks=RedisWebhookStore(redis, prefix),
            board=RedisBoardStore(redis, prefix),
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
        if self.database is not None:
            await self.database.close()
        if self.redis is not None:
            await self.redis.aclose()


def check_redis_persists(settings: Settings) -> None:
    """Refuse (`StoreUnusable`) a Redis that would lose the records on a restart: one without
    an append-only file or an RDB save rule, unless `ECOURT_REDIS_VOLATILE=1` says the
    operator knows. A Redis that does not answer cannot be checked, and is refused too."""
    if settings.redis_url is None or settings.redis_volatile:
        return
    problem = redis_persistence(settings.redis_url, timeout=PERSISTENCE_CHECK_TIMEOUT)
    if problem is not None:
        raise StoreUnusable(f"{problem}; see the README (or set ECOURT_REDIS_VOLATILE=1)")
