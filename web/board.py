"""The court's supervision board (`/court`): every hearing in session on every node, its phase,
rooms, lobby, media health, recording, livestream and alerts, and the webhook deliveries owed,
live over the socket server's `/court` namespace (`signaling/board_channel.py`), or read
from `/court/board.json`. For the court administrator only, with a key of their own
(`ECOURT_COURT_ADMIN_KEY`), apart from the API key and the join links: `POST /court/login`
takes it and gives an HttpOnly, SameSite=Strict cookie for 8 hours; `GET /court/ticket`
turns that session into a one-minute ticket for the socket. Every login, refused or not
(through the page or the socket), is written to the court's own audit log. Counts and states
only (`signaling/board.py`): never a name, never media; a court administrator holds no join
link and can join nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from security import Secret
from signaling.board import BoardStore, board_row, court_board
from signaling.board_channel import BoardChannel
from signaling.errors import Refused
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
CHECK_SECONDS: Final = 0.25
"""This node's rows are looked at this often; a change is published at once."""
BOARD_ORDER: Final = "board"
"""The cluster bus's notice that a node's rows changed: `{"order": "board", "node": id}`."""
TICKET_SECONDS: Final = 60
STALE_AFTER: Final = 4.0
"""A node silent this long (twice the heartbeat's lifetime) is lost."""
FORGET_AFTER: Final = 3600.0


class BoardPublisher:
    """Writes this node's rows to the board store when they change (looked at four times a
    second) and every second anyway (their age says the node is alive), so that every node's
    board shows them; a change is also announced on the cluster bus, which wakes every node's
    live board. A clean close takes them out. Started and closed with the app."""

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
        node = self._signaling.node.node_id
        last: list[dict[str, object]] | None = None
        last_at = 0.0
        while True:
            rows, now = self.rows(), time.time()
            if rows != last or now - last_at >= PUBLISH_SECONDS:
                try:
                    await self._store.publish(node, now, rows)
                    last_at = now
                    if rows != last:
                        last = rows
                        await self._signaling.publish_order({"order": BOARD_ORDER, "node": node})
                except Exception as exc:  # a store away: the next look tries again
                    log.warning("the board store refused this node's rows (%s)", type(exc).__name__)
            await asyncio.sleep(CHECK_SECONDS)

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
    app.router.add_get("/court/ticket", ticket)


def live_board(app: web.Application, signaling: SignalingServer) -> BoardChannel:
    """The `/court` namespace on the socket server, woken by every node's `board` notices."""

    async def authorize(auth: object, since: float | None) -> None:
        await authorize_socket(app, auth, since)

    async def snapshot() -> dict[str, Any]:
        return await board_body(app)

    channel = BoardChannel(signaling.sio, authorize, snapshot, max_age=SESSION_SECONDS)

    async def on_notice(_order: dict[str, Any]) -> None:
        channel.changed()

    signaling.on_order(BOARD_ORDER, on_notice)
    return channel


def _key(request: web.Request) -> Secret:
    key = request.app[SETTINGS].court_admin_key
    if key is None:
        raise BoardDisabled("the supervision board is off on this node: set ECOURT_COURT_ADMIN_KEY")
    return key


def _mac(key: Secret, expires: int, purpose: bytes = b"session") -> str:
    derived = hashlib.sha256(b"ecourt court board " + purpose + b"\x00" + key.value).digest()
    return hmac.new(derived, str(expires).encode(), hashlib.sha256).hexdigest()


def session_cookie(key: Secret, now: float) -> str:
    expires = int(now) + SESSION_SECONDS
    return f"{expires}.{_mac(key, expires)}"


def check_session(key: Secret, cookie: str, now: float, purpose: bytes = b"session") -> bool:
    """A cookie (or ticket) this key made for `purpose`, not expired (a new key ends every
    session)."""
    expires, _, mac = cookie.partition(".")
    if not expires.isdigit() or len(expires) > 12 or int(expires) < now:
        return False
    return hmac.compare_digest(_mac(key, int(expires), purpose), mac)


def socket_ticket(key: Secret, now: float) -> str:
    """A ticket for the board's socket, good for a minute (a key of its own: a ticket is no
    session cookie, nor the other way round)."""
    expires = int(now) + TICKET_SECONDS
    return f"{expires}.{_mac(key, expires, b'ticket')}"


def _audit(app: web.Application, action: str, result: str = "ok", via: str | None = None) -> None:
    log = app[AUDIT].open_court()
    try:
        log.record(ACTOR, action, result=result, details=None if via is None else {"via": via})
    finally:
        log.release()


async def authorize_socket(app: web.Application, auth: object, since: float | None = None) -> None:
    """Open the `/court` namespace to `{"ticket": …}` (from `GET /court/ticket`) or
    `{"key": …}` (the court administrator's key: a login, audited like the page's); refuse
    anything else `unauthorized` (a join token, the API key), or `board_disabled`. With
    `since`, for a connection open since then: the ticket as it was at `since`, under the key
    in force now (a new key closes it), and no audit entry (`BoardChannel.recheck`)."""
    key = app[SETTINGS].court_admin_key
    if key is None:
        raise Refused("board_disabled", "the supervision board is off on this node")
    fields = set(auth) if isinstance(auth, dict) else set()
    value = auth.get("ticket", auth.get("key")) if isinstance(auth, dict) else None
    if len(fields) != 1 or not fields <= {"ticket", "key"}:
        raise Refused("unauthorized", "connect with auth: {ticket} (GET /court/ticket) or {key}")
    if not isinstance(value, str) or len(value) > 1024:
        raise Refused("unauthorized", "the board's credential is a string")
    if "ticket" in fields:
        if not check_session(key, value, time.time() if since is None else since, b"ticket"):
            raise Refused("unauthorized", "this ticket is not the board's, or has expired")
        return
    if not key.equals(value.encode()):
        if since is None:
            _audit(app, "board_login", "unauthorized", via="socket")
        raise Refused("unauthorized", "this is not the court administrator's key")
    if since is None:
        _audit(app, "board_login", via="socket")


async def login(request: web.Request) -> web.Response:
    key = _key(request)
    body = await read_object(request)
    presented = body.get("key")
    if set(body) != {"key"} or not isinstance(presented, str) or len(presented) > 1024:
        raise BadRequest('the body is {"key": "<the court administrator\'s key>"}', field="key")
    if not key.equals(presented.encode()):
        _audit(request.app, "board_login", "unauthorized")
        raise Unauthorized("this is not the court administrator's key")
    _audit(request.app, "board_login")
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


def _logged_in(request: web.Request) -> Secret:
    key = _key(request)
    if not check_session(key, request.cookies.get(COOKIE, ""), time.time()):
        raise Unauthorized("log in to the supervision board first")
    return key


async def ticket(request: web.Request) -> web.Response:
    key = _logged_in(request)
    body = {"ticket": socket_ticket(key, time.time()), "expires_in": TICKET_SECONDS}
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def board(request: web.Request) -> web.Response:
    _logged_in(request)
    body = await board_body(request.app)
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def board_body(app: web.Application) -> dict[str, Any]:
    """The whole board now: every node's rows (this node's as they are this instant), and
    the webhook deliveries owed."""
    signaling = app[SIGNALING]
    node = signaling.node.node_id
    now = time.time()
    nodes = await app[STORES].board.nodes()
    for old in [n for n, (at, _) in nodes.items() if now - at > FORGET_AFTER]:
        del nodes[old]
    nodes[node] = (now, [board_row(session, node).json() for session in signaling.hearings()])
    rows = court_board(nodes, now, STALE_AFTER)
    webhooks = app[WEBHOOKS].store
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
    return {"node": node, "time": int(now), "hearings": rows, "webhooks": deliveries}
