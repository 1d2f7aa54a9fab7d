"""The composition root: build every service from the settings, start and stop them together."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from media import MediaEngine, MediaSettings
from security import TokenSigner
from signaling.server import SignalingServer
from signaling.store import MemoryHearingStore
from web import api, livestreams, pages
from web.audit import AuditLogs
from web.keys import (
    AUDIT,
    ENGINE,
    HEARINGS,
    LIVESTREAMS,
    RECORDINGS,
    SETTINGS,
    SIGNALING,
    SIGNER,
)
from web.livestreams import Livestreams
from web.recordings import Recordings
from web.settings import Settings

MAX_BODY = 64 * 1024


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=api.middlewares())
    hearings = MemoryHearingStore()
    signer = TokenSigner(settings.token_key)
    engine = MediaEngine(MediaSettings())
    audit = AuditLogs(settings.data_dir)
    settings.check_keyring_outside_data()
    recordings = Recordings(settings, audit)
    streams = Livestreams(settings)
    signaling = SignalingServer(
        hearings=hearings,
        signer=signer,
        engine=engine,
        audit_log=audit.open,
        recorder_for=recordings.recorder_for,
        livestream_for=streams.livestream_for,
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
    app[RECORDINGS] = recordings
    app[LIVESTREAMS] = streams
    signaling.attach(app)
    api.add_routes(app)
    pages.add_routes(app)
    livestreams.add_routes(app, streams)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await engine.start()
        await signaling.start()
        yield
        await signaling.close()
        await streams.close()
        await engine.close()

    app.cleanup_ctx.append(lifecycle)
    return app
