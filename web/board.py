"""The court's supervision board (`/court`): every hearing in session on every node, its phase,
rooms, lobby, recording, livestream and alerts, and the webhook deliveries owed, refreshed
every 2 s. For the court administrator only, with a key of their own
(`ECOURT_COURT_ADMIN_KEY`), apart from the API key and the join links: `POST /court/login`
takes it and gives an HttpOnly, SameSite=Strict cookie for 8 hours. Every login, refused or
not, is written to the court's own audit log. Counts and states only (`signaling/board.py`):
never a name, never media; a court administrator holds no join link and can join nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from pathlib import Path
from typing import Final

from aiohttp import web

from security import Secret
from signaling.board import BoardStore, board_row, court_board
from signaling.server import SignalingServer
from web.api import read_object
from web.errors import BadRequest, BoardDisabled, Unauthorized
from web.keys import AUDIT, SETTINGS, SIGNALING, STORES, WEBHOOKS

log = logging.getLogger(__name__)

COOKIE: Final = "ecourt_court"
SESSION_SECONDS: Final = 8 * 3600
PAGE: Final = Path(__file__).parent / "static" / "court.html"
ACTOR: Final = "court_admin"
PUBLISH_SECONDS: Final = 1.0
STALE_AFTER: Final = 4.0
"""A node silent this long (twice the heartbeat's lifetime) is lost."""
FORGET_AFTER: Final = 3600.0


class BoardPublisher:
    """Writes this node's rows to the board store every second, so that every node's board
    shows them; a clean close takes them out. Started and closed with the app."""

    def __init__(self, signaling: SignalingServer, store: BoardStore) -> None:
        self._signaling = signaling
        self._store = store
        self._task: asyncio.Task[None] | None = None

    def rows(self) -> list[dict[str, object]]:
        node = self._signaling.node.node_id
        return [board_row(session, node).json() for session in self._signaling.hearings()]

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="board")

    async def _run(self) -> None:
        while True:
            try:
                await self._store.publish(self._signaling.node.node_id, time.time(), self.rows())
            except Exception as exc:  # a store away: the next second tries again
                log.warning("the board store refused this node's rows (%s)", type(exc).__name__)
            await asyncio.sleep(PUBLISH_SECONDS)

    async def close(self) -> None:
        """Idempotent; this node's rows leave the board (a killed node's stay, and age)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait({task}, timeout=2.0)  # a store that hangs does not hold the exit
        try:
            await asyncio.wait_for(self._store.forget(self._signaling.node.node_id), 2.0)
        except Exception as exc:
            log.warning("this node's board rows could not be removed (%s)", type(exc).__name__)


def add_routes(app: web.Application) -> None:
    page = PAGE.read_text(encoding="utf-8")

    async def court(_request: web.Request) -> web.Response:
        return web.Response(
            text=page, content_type="text/html", headers={"Cache-Control": "no-store"}
        )

    app.router.add_get("/court", court)
    app.router.add_post("/court/login", login)
    app.router.add_post("/court/logout", logout)
    app.router.add_get("/court/board.json", board)


def _key(request: web.Request) -> Secret:
    key = request.app[SETTINGS].court_admin_key
    if key is None:
        raise BoardDisabled("the supervision board is off on this node: set ECOURT_COURT_ADMIN_KEY")
    return key


def _mac(key: Secret, expires: int) -> str:
    session_key = hashlib.sha256(b"ecourt court board session\x00" + key.value).digest()
    return hmac.new(session_key, str(expires).encode(), hashlib.sha256).hexdigest()


def session_cookie(key: Secret, now: float) -> str:
    expires = int(now) + SESSION_SECONDS
    return f"{expires}.{_mac(key, expires)}"


def check_session(key: Secret, cookie: str, now: float) -> bool:
    """A cookie this key made, not expired (a new key ends every session)."""
    expires, _, mac = cookie.partition(".")
    if not expires.isdigit() or len(expires) > 12 or int(expires) < now:
        return False
    return hmac.compare_digest(_mac(key, int(expires)), mac)


def _audit(request: web.Request, action: str, result: str = "ok") -> None:
    log = request.app[AUDIT].open_court()
    try:
        log.record(ACTOR, action, result=result)
    finally:
        log.release()


async def login(request: web.Request) -> web.Response:
    key = _key(request)
    body = await read_object(request)
    presented = body.get("key")
    if set(body) != {"key"} or not isinstance(presented, str) or len(presented) > 1024:
        raise BadRequest('the body is {"key": "<the court administrator\'s key>"}', field="key")
    if not key.equals(presented.encode()):
        _audit(request, "board_login", "unauthorized")
        raise Unauthorized("this is not the court administrator's key")
    _audit(request, "board_login")
    response = web.Response(status=204, headers={"Cache-Control": "no-store"})
    secure = request.app[SETTINGS].public_url.startswith("https://")
    response.set_cookie(
        COOKIE,
        session_cookie(key, time.time()),
        max_age=SESSION_SECONDS,
        path="/court",
        httponly=True,
        samesite="Strict",
        secure=secure,
    )
    return response


async def logout(request: web.Request) -> web.Response:
    response = web.Response(status=204, headers={"Cache-Control": "no-store"})
    response.del_cookie(COOKIE, path="/court")
    return response


async def board(request: web.Request) -> web.Response:
    key = _key(request)
    if not check_session(key, request.cookies.get(COOKIE, ""), time.time()):
        raise Unauthorized("log in to the supervision board first")
    signaling = request.app[SIGNALING]
    node = signaling.node.node_id
    now = time.time()
    nodes = await request.app[STORES].board.nodes()
    for old in [n for n, (at, _) in nodes.items() if now - at > FORGET_AFTER]:
        del nodes[old]
    nodes[node] = (now, [board_row(session, node).json() for session in signaling.hearings()])
    rows = court_board(nodes, now, STALE_AFTER)
    webhooks = request.app[WEBHOOKS].store
    endpoints = {e.id: e.url for e in await webhooks.endpoints()}
    deliveries = [
        {
            "endpoint_id": b.endpoint_id,
            "url": endpoints.get(b.endpoint_id, ""),
            "pending": b.pending,
            "abandoned": b.abandoned,
            "last_error": b.last_error,
        }
        for b in await webhooks.backlog()
    ]
    body = {"node": node, "time": int(now), "hearings": rows, "webhooks": deliveries}
    return web.json_response(body, headers={"Cache-Control": "no-store"})
