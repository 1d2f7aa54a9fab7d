"""Typed application state."""

from __future__ import annotations

from aiohttp import web

from media import MediaEngine
from recording.exhibits.ledger import ExhibitLedger
from security import TokenSigner
from signaling.board_channel import BoardChannel
from signaling.server import SignalingServer
from signaling.store import HearingStore
from signaling.webhooks import WebhookDispatcher
from web.audit import AuditLogs
from web.livestreams import Livestreams
from web.metrics import Metrics
from web.recordings import Recordings
from web.settings import Settings
from web.stores import Stores

SETTINGS = web.AppKey("settings", Settings)
BOARD_LIVE = web.AppKey("board_live", BoardChannel)
HEARINGS = web.AppKey("hearings", HearingStore)
SIGNER = web.AppKey("signer", TokenSigner)
SIGNALING = web.AppKey("signaling", SignalingServer)
ENGINE = web.AppKey("engine", MediaEngine)
AUDIT = web.AppKey("audit", AuditLogs)
RECORDINGS = web.AppKey("recordings", Recordings)
LIVESTREAMS = web.AppKey("livestreams", Livestreams)
STORES = web.AppKey("stores", Stores)
METRICS = web.AppKey("metrics", Metrics)
WEBHOOKS = web.AppKey("webhooks", WebhookDispatcher)
EXHIBITS = web.AppKey("exhibits", ExhibitLedger)
