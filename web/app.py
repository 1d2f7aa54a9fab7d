"""The composition root: build every service from the settings, start and stop them together."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from media import IceServer, MediaEngine, MediaSettings
from security import TokenSigner
from signaling.server import SignalingServer
from signaling.store import MemoryHearingStore
from web import api, pages
from web.audit import AuditLogs
from web.keys import AUDIT, ENGINE, HEARINGS, SETTINGS, SIGNALING, SIGNER
from web.settings import Settings

MAX_BODY = 64 * 1024


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
    hearings = MemoryHearingStore()
    signer = TokenSigner(settings.token_key)
    engine = MediaEngine(media_settings(settings))
    audit = AuditLogs(settings.data_dir)
    signaling = SignalingServer(
        hearings=hearings,
        signer=signer,
        engine=engine,
        audit_log=audit.open,
        due_process_grace=settings.due_process_grace,
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
    signaling.attach(app)
    api.add_routes(app)
    pages.add_routes(app)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await engine.start()
        await signaling.start()
        yield
        await signaling.close()
        await engine.close()

    app.cleanup_ctx.append(lifecycle)
    return app
