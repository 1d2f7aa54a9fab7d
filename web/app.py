"""The composition root: build every service from the settings, start and stop them together."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from aiohttp import web

from media import IceServer, MediaEngine, MediaSettings
from recording.exhibits.ledger import ExhibitLedger
from security import TokenSigner
from signaling.placement import NodeInfo
from signaling.server import SignalingServer
from signaling.webhooks import WebhookDispatcher
from web import (
    api,
    board,
    connection_check,
    exhibit_pages,
    exhibits,
    livestreams,
    pages,
    public_keys,
    report_page,
    webhooks_api,
)
from web.audit import AuditLogs
from web.keys import (
    AUDIT,
    BOARD_LIVE,
    ENGINE,
    EXHIBITS,
    HEARINGS,
    LIVESTREAMS,
    METRICS,
    RECORDINGS,
    SETTINGS,
    SIGNALING,
    SIGNER,
    STORES,
    WEBHOOKS,
)
from web.livestreams import Livestreams
from web.metrics import Metrics
from web.recordings import Recordings
from web.settings import Settings
from web.stalls import LoopStallWatch
from web.stores import Stores

MAX_BODY = 64 * 1024
STORES_CLOSE_TIMEOUT = 1.0
SHUTDOWN_TIMEOUT = 2.0
"""Seconds aiohttp waits for open requests once the hearings are handed over (`web.run_app`)."""


def media_settings(settings: Settings) -> MediaSettings:
    servers = []
    if settings.stun_urls:
        servers.append(IceServer(urls=settings.stun_urls))
    if settings.turn_urls and settings.turn_credential is not None:
        credential = settings.turn_credential.value.decode()
        servers.append(IceServer(settings.turn_urls, settings.turn_username, credential))
    return MediaSettings(
        ice_servers=tuple(servers),
        udp_ports=settings.udp_ports,
        announced_ip=settings.announced_ip,
    )


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=api.middlewares())
    stores = Stores.for_settings(settings)
    hearings = stores.hearings
    signer = TokenSigner(settings.token_key)
    engine = MediaEngine(media_settings(settings))
    audit = AuditLogs(settings.data_dir, stores.audit_checkpoints)
    webhooks = WebhookDispatcher(stores.webhooks)
    audit.watch(webhooks.observe)
    settings.check_keyring_outside_data()
    recordings = Recordings(settings, audit)
    ledger = ExhibitLedger(
        settings.data_dir / "exhibits",
        recordings.keyring,
        max_bytes=settings.exhibit_max_bytes,
    )
    streams = Livestreams(settings)
    signaling = SignalingServer(
        hearings=hearings,
        signer=signer,
        engine=engine,
        audit_log=audit.open,
        revoked=stores.revoked,
        states=stores.states,
        client_manager=stores.client_manager,
        placement=stores.placement,
        leases=stores.leases,
        bus=stores.bus,
        node=NodeInfo(settings.node_id, settings.base_url),
        recorder_for=recordings.recorder_for,
        livestream_for=streams.livestream_for,
        due_process_grace=settings.due_process_grace,
        leg_silence=settings.leg_silence,
        exhibits=ledger,
        allowed_origins=(settings.base_url, *settings.allowed_origins)
        if settings.allowed_origins
        else (),
    )
    app[SETTINGS] = settings
    app[HEARINGS] = hearings
    app[SIGNER] = signer
    app[SIGNALING] = signaling
    app[ENGINE] = engine
    app[AUDIT] = audit
    app[RECORDINGS] = recordings
    app[EXHIBITS] = ledger
    app[LIVESTREAMS] = streams
    app[STORES] = stores
    publisher = board.BoardPublisher(signaling, stores.board)
    live_board = board.live_board(app, signaling)
    app[BOARD_LIVE] = live_board
    app[WEBHOOKS] = webhooks
    app[METRICS] = Metrics(settings, engine, signaling, audit, streams)
    signaling.attach(app)
    api.add_routes(app)
    webhooks_api.add_routes(app)
    exhibits.add_routes(app)
    exhibit_pages.add_routes(app)
    board.add_routes(app)
    report_page.add_routes(app)
    connection_check.add_routes(app)
    pages.add_routes(app)
    livestreams.add_routes(app, streams)
    public_keys.add_routes(app)
    app[METRICS].attach(app)

    stalls = LoopStallWatch()

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        stalls.start()
        ledger.sweep_incoming()  # plaintext a crash left behind, half-checked
        await engine.start()
        await webhooks.start()
        # what the logs hold and the outbox does not (a stop or a crash in between)
        for hearing_id, entries in audit.recent(time.time() - webhooks.policy.give_up_after):
            await webhooks.catch_up(hearing_id, entries)
        await signaling.start()
        await publisher.start()
        await live_board.start()
        yield
        await live_board.close()
        await publisher.close()
        await stalls.close()
        await signaling.close()
        await streams.close()
        await engine.close()
        await webhooks.close()  # what the hearings' last entries said reaches the outbox
        # the checkpoints of the logs handed over reach the store before Redis goes (a store
        # that is away does not hold the exit up for long: the files are ahead of it, not behind)
        await audit.flush(timeout=2.0)
        await audit.close()
        with contextlib.suppress(TimeoutError):  # a Redis that hangs does not hold the exit
            async with asyncio.timeout(STORES_CLOSE_TIMEOUT):
                await stores.close()

    app.cleanup_ctx.append(lifecycle)

    async def drain(_app: web.Application) -> None:
        # before aiohttp waits for open handlers: the sockets are closed by the handover
        await signaling.close()

    app.on_shutdown.append(drain)
    return app
