"""`POST /api/hearings/{id}/connection-check`: the device check's test of the connection, before
the participant joins. The page offers a data channel labelled `probe` with its join token as
the bearer credential; the server answers from a leg built like the SFU's (`media/probe.py`) and
echoes what the page sends, so the page sees whether ICE gets through and measures the round
trip. The token is checked exactly as the signalling connection checks it (`SignalingServer
.check_link`). Each participant may run 2 checks a minute; the node holds at most 16 open at
once (`MediaSettings.max_probes`), and the engine closes them all when the server stops.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Final

from aiohttp import web

from media.sdp import parse_probe_offer
from signaling.member import hearing_json
from web.api import find_hearing, parse, read_object
from web.errors import RateLimited, TooLarge
from web.keys import ENGINE, SIGNALING
from web.openapi import CHECK_FIELDS, MAX_CHECK_BODY

log = logging.getLogger(__name__)

PATH: Final = "/api/hearings/{id}/connection-check"
CHECKS_PER_WINDOW: Final = 2
WINDOW_SECONDS: Final = 60.0


class CheckLimiter:
    """At most `per_window` checks per participant in any `window` seconds."""

    def __init__(
        self,
        per_window: int = CHECKS_PER_WINDOW,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_window = per_window
        self._window = window
        self._clock = clock
        self._recent: dict[tuple[str, str], deque[float]] = {}

    def take(self, hearing_id: str, participant_id: str) -> None:
        """Count one check, or raise `RateLimited` saying when the next one may start."""
        now = self._clock()
        for key, stamps in list(self._recent.items()):  # forget whoever has been quiet
            while stamps and stamps[0] <= now - self._window:
                stamps.popleft()
            if not stamps:
                del self._recent[key]
        stamps = self._recent.setdefault((hearing_id, participant_id), deque())
        if len(stamps) >= self._per_window:
            wait = stamps[0] + self._window - now
            raise RateLimited(
                f"at most {self._per_window} connection checks a minute; try again in {wait:.0f} s"
            )
        stamps.append(now)


LIMITER: Final = web.AppKey("connection_check_limiter", CheckLimiter)


def add_routes(app: web.Application) -> None:
    app[LIMITER] = CheckLimiter()
    app.router.add_get(PATH, ice_servers)
    app.router.add_post(PATH, connection_check)


def bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def ice_servers(request: web.Request) -> web.Response:
    """What the device check needs, asked with the join token: the STUN and TURN servers to
    offer with, so that the check goes the way the hearing's media will (through TURN where
    the network needs it), and the hearing the link opens, so the page names it before the
    person joins (the welcome says the same once joined)."""
    hearing_id = request.match_info["id"]
    await request.app[SIGNALING].check_link(bearer(request), hearing_id)
    hearing = await find_hearing(request.app, hearing_id)
    body = {
        "ice_servers": request.app[ENGINE].ice_servers_json(),
        "hearing": hearing_json(hearing),
    }
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def connection_check(request: web.Request) -> web.Response:
    hearing_id = request.match_info["id"]
    grant = await request.app[SIGNALING].check_link(bearer(request), hearing_id)
    await find_hearing(request.app, hearing_id)
    if len(await request.read()) > MAX_CHECK_BODY:
        raise TooLarge(f"a connection check's body is at most {MAX_CHECK_BODY} bytes")
    offer = parse(await read_object(request), CHECK_FIELDS).get("sdp", str)
    parse_probe_offer(offer)  # a malformed offer costs nothing of the participant's allowance
    participant_id = grant.participant.id
    request.app[LIMITER].take(hearing_id, participant_id)
    peer = request.app[ENGINE].probe_peer()
    try:
        answer = await peer.accept(offer)
    except BaseException:
        await peer.close()
        raise
    log.info("connection check open for %s in %s", participant_id, hearing_id)
    body = {"sdp": answer, "type": "answer"}
    return web.json_response(body, headers={"Cache-Control": "no-store"})
