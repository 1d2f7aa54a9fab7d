"""The pages people open: the join page, the public docket, the viewer page of a livestream
(`web/livestreams.py`), and the static browser client.

The join token travels in the URL fragment (``/join/<hearing>#token=...``), so it never reaches
the server or its logs; the page's script reads it. All script lives in files under
``/static/``: the content security policy allows no inline script.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from hearing import Hearing, HearingType, Phase
from recording.livestream.stream import LivestreamState
from web.keys import HEARINGS, LIVESTREAMS, SETTINGS, SIGNALING

STATIC_DIR = Path(__file__).parent / "static"
JOIN_PAGE = STATIC_DIR / "hearing.html"
PAGE_PREFIXES = ("/join/", "/docket", "/static/", "/watch/")
_HEARING_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(self), geolocation=()",
}
TYPE_NAMES = {HearingType.TRIAL: "Trial", HearingType.CONCILIATION: "Conciliation"}
STATUS_NAMES = {"scheduled": "Scheduled", "live": "Live", "ended": "Ended"}
DOCKET_CACHE = "public, max-age=10"


def add_routes(app: web.Application) -> None:
    join_html = JOIN_PAGE.read_text(encoding="utf-8")

    async def join(request: web.Request) -> web.Response:
        if not _HEARING_ID.match(request.match_info["hearing_id"]):
            raise web.HTTPNotFound()
        return web.Response(
            text=join_html, content_type="text/html", headers={"Cache-Control": "no-store"}
        )

    async def docket(request: web.Request) -> web.Response:
        sessions, streams = request.app[SIGNALING], request.app[LIVESTREAMS]

        def status(hearing: Hearing) -> str:
            session = sessions.session(hearing.id)
            if session is not None and session.court.phase is Phase.ADJOURNED:
                return "ended"
            stream = streams.get(hearing.id)
            live = stream is not None and stream.state is LivestreamState.LIVE
            return "live" if live else "scheduled"

        hearings = [h for h in await request.app[HEARINGS].all() if h.public]
        return web.Response(
            text=render_docket(hearings, status),
            content_type="text/html",
            headers={"Cache-Control": DOCKET_CACHE},
        )

    app.router.add_get("/join/{hearing_id}", join, name="join")
    app.router.add_get("/docket", docket, name="docket")
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False, name="static")
    app.on_response_prepare.append(_security_headers)


API_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
HSTS = "max-age=31536000; includeSubDomains"


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Pages and assets get the page policy; the API and health checks a policy that allows
    nothing; everything served behind TLS (ECOURT_PUBLIC_URL is https) gets HSTS."""
    if request.path.startswith("/socket.io/"):
        return
    page = request.path.startswith(PAGE_PREFIXES)
    for name, value in (SECURITY_HEADERS if page else API_HEADERS).items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-cache")
    if request.path.startswith("/api/hearings"):
        response.headers.setdefault("Cache-Control", "no-store")
    if request.path.startswith("/live/"):  # public media: any page or cache may fetch it
        response.headers.setdefault("Cache-Control", "public, max-age=1")
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
    if request.app[SETTINGS].public_url.startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)


def is_today(hearing: Hearing, now: datetime | None = None) -> bool:
    """Whether the hearing is scheduled for today, in its own time zone."""
    zone = hearing.scheduled_at.tzinfo
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    return hearing.scheduled_at.date() == today


def render_docket(
    hearings: list[Hearing],
    status: Callable[[Hearing], str] = lambda _h: "scheduled",
    now: datetime | None = None,
) -> str:
    """Today's public hearings (and any live one), every value escaped. Nothing about the
    participants is shown: a protected witness is not even counted."""
    shown = [(h, status(h)) for h in hearings if is_today(h, now) or status(h) == "live"]
    if shown:
        shown.sort(key=lambda row: row[0].scheduled_at)
        rows = "\n".join(_docket_row(h, state) for h, state in shown)
        body = (
            '<table class="docket">\n<caption>Today\'s public hearings</caption>\n<thead><tr>'
            '<th scope="col">Scheduled (UTC)</th><th scope="col">Case number</th>'
            '<th scope="col">Title</th><th scope="col">Type</th>'
            '<th scope="col">Status</th></tr></thead>\n'
            f"<tbody>\n{rows}\n</tbody>\n</table>"
        )
    else:
        body = '<p class="empty">No public hearings are scheduled today.</p>'
    return _DOCKET_PAGE.format(body=body)


def _docket_row(hearing: Hearing, status: str) -> str:
    when = hearing.scheduled_at.astimezone(UTC)
    state = _e(STATUS_NAMES.get(status, "Scheduled"))
    if status == "live":
        state = f'<a class="watch" href="/watch/{_e(hearing.id)}">{state}: watch</a>'
    cells = [
        f'<td><time datetime="{_e(when.isoformat())}">'
        f"{_e(when.strftime('%d %B %Y, %H:%M'))}</time></td>",
        f"<td>{_e(hearing.case_number)}</td>",
        f"<td>{_e(hearing.title)}</td>",
        f"<td>{_e(TYPE_NAMES.get(hearing.type, str(hearing.type)))}</td>",
        f'<td class="status" data-status="{_e(status)}">{state}</td>',
    ]
    return f'<tr data-hearing-id="{_e(hearing.id)}">' + "".join(cells) + "</tr>"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


_DOCKET_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Court docket</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/hearing.css">
<link rel="stylesheet" href="/static/docket.css">
</head>
<body>
<header class="bar"><h1>Court docket</h1></header>
<main id="main" class="docket-main">
{body}
</main>
</body>
</html>
"""
