"""The pages people open: the join page, the public docket, the viewer page of a livestream
(`web/livestreams.py`), and the static browser client.

The join token travels in the URL fragment (``/join/<hearing>#token=...``), so it never reaches
the server or its logs; the page's script reads it. All script lives in files under
``/static/``: the content security policy allows no inline script.

The docket is rendered here, in the visitor's language (`web/i18n.py`: ``?lang=``, the
``ecourt_lang`` cookie, Accept-Language), with links to switch that work without script; the
scripted pages translate themselves with `web/static/i18n.js` from the same catalogue.
"""

from __future__ import annotations

import html
import mimetypes
import re
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from aiohttp import web

from hearing import Hearing, HearingType, Phase
from recording.livestream.stream import LivestreamState
from web.i18n import (
    COOKIE,
    COOKIE_MAX_AGE,
    LANGUAGES,
    choose_language,
    format_datetime,
    t,
    zone_label,
)
from web.i18n import DEFAULT as DEFAULT_LANGUAGE
from web.keys import HEARINGS, LIVESTREAMS, SETTINGS, SIGNALING

STATIC_DIR = Path(__file__).parent / "static"
mimetypes.add_type("text/javascript", ".mjs")  # pdf.js is a module: served as JavaScript
JOIN_PAGE = STATIC_DIR / "hearing.html"
PAGE_PREFIXES = ("/join/", "/docket", "/static/", "/watch/", "/court")
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
DOCKET_CACHE = "public, max-age=2"
DOCKET_CHOSEN_CACHE = "private, max-age=2"
"""A viewer sees the court sit or rise within seconds; a CDN still takes the load."""


def add_routes(app: web.Application) -> None:
    contact = html.escape(app[SETTINGS].court_contact, quote=True)
    zone = html.escape(app[SETTINGS].time_zone, quote=True)
    join_html = (
        JOIN_PAGE.read_text(encoding="utf-8")
        .replace(
            '<meta name="court-contact" content="">',
            f'<meta name="court-contact" content="{contact}">',
        )
        .replace(
            '<meta name="court-time-zone" content="">',
            f'<meta name="court-time-zone" content="{zone}">',
        )
    )

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
            if stream is not None and stream.state is LivestreamState.LIVE:
                return "live"
            if session is not None and session.court.phase is not Phase.SCHEDULED:
                return "sitting"
            return "scheduled"

        hearings = [h for h in await request.app[HEARINGS].all() if h.public]
        lang = choose_language(request)
        response = web.Response(
            text=render_docket(hearings, status, lang=lang, zone=request.app[SETTINGS].zone),
            content_type="text/html",
            headers={
                "Cache-Control": DOCKET_CACHE,
                "Content-Language": lang,
                "Vary": "Cookie, Accept-Language",
            },
        )
        if request.query.get("lang") == lang:
            remember_language(request, response, lang)
        return response

    async def home(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/docket")  # the public's front door is today's docket

    app.router.add_get("/", home, name="home")
    app.router.add_get("/join/{hearing_id}", join, name="join")
    app.router.add_get("/docket", docket, name="docket")
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False, name="static")
    app.on_response_prepare.append(_security_headers)


def remember_language(request: web.Request, response: web.Response, lang: str) -> None:
    """A language chosen with ``?lang=`` is kept in the cookie the browser's i18n.js also
    keeps, so the next page (scripted or not) opens in it. Such a response names one
    person's choice: no shared cache keeps it."""
    secure = request.app[SETTINGS].public_url.startswith("https://")
    response.set_cookie(
        COOKIE, lang, max_age=COOKIE_MAX_AGE, path="/", samesite="Lax", secure=secure
    )
    response.headers["Cache-Control"] = DOCKET_CHOSEN_CACHE


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


def is_today(hearing: Hearing, now: datetime | None = None, zone: tzinfo | None = None) -> bool:
    """Whether the hearing is scheduled for today, in the court's time zone (else its own)."""
    zone = zone or hearing.scheduled_at.tzinfo
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    return hearing.scheduled_at.astimezone(zone).date() == today


def render_docket(
    hearings: list[Hearing],
    status: Callable[[Hearing], str] = lambda _h: "scheduled",
    now: datetime | None = None,
    lang: str = DEFAULT_LANGUAGE,
    zone: tzinfo | None = None,
) -> str:
    """Today's public hearings (and any sitting or live one), in `lang`, at the court's time
    (`zone`; else each hearing's own), every value escaped. Nothing about the participants is
    shown: a protected witness is not even counted."""
    shown = [
        (h, status(h))
        for h in hearings
        if is_today(h, now, zone) or status(h) in ("live", "sitting")
    ]
    if shown:
        shown.sort(key=lambda row: row[0].scheduled_at)
        heads = "".join(f'<th scope="col">{_e(t(lang, key))}</th>' for key in _COLUMNS)
        rows = "\n".join(_docket_row(h, state, lang, zone) for h, state in shown)
        body = (
            f'<table class="docket">\n<caption>{_e(t(lang, "docket.caption"))}</caption>\n'
            f"<thead><tr>{heads}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"
        )
    else:
        body = f'<p class="empty">{_e(t(lang, "docket.empty"))}</p>'
    return _DOCKET_PAGE.format(
        lang=_e(lang),
        title=_e(t(lang, "docket.title")),
        skip=_e(t(lang, "common.skip")),
        court=_e(t(lang, "common.court")),
        switch=language_links(lang),
        body=body,
    )


_COLUMNS = (
    "docket.column.time",
    "docket.column.case",
    "docket.column.title",
    "docket.column.type",
    "docket.column.status",
)
_CELL_CLASSES = ("time", "case", "title", "type")
_STATUS_KEYS = {
    "scheduled": "docket.status.scheduled",
    "live": "docket.status.live",
    "sitting": "docket.status.sitting",
    "ended": "docket.status.ended",
}
_TYPE_KEYS = {
    HearingType.TRIAL: "common.hearing_type.trial",
    HearingType.CONCILIATION: "common.hearing_type.conciliation",
}


def language_links(lang: str) -> str:
    """The language switch of a page rendered here: one link per language, named in its own
    language (``?lang=`` on the same page, so it works without script)."""
    links = "".join(
        f'<li><a href="?lang={code}" hreflang="{code}" lang="{code}"'
        + (' aria-current="true"' if code == lang else "")
        + f">{_e(name)}</a></li>"
        for code, name in LANGUAGES.items()
    )
    label = _e(t(lang, "common.language"))
    return f'<nav class="language" aria-label="{label}"><ul>{links}</ul></nav>'


def _docket_row(hearing: Hearing, status: str, lang: str, zone: tzinfo | None) -> str:
    when = hearing.scheduled_at.astimezone(zone) if zone else hearing.scheduled_at
    state = _e(t(lang, _STATUS_KEYS.get(status, "docket.status.scheduled")))
    if status == "live":
        state = f'<a class="watch" href="/watch/{_e(hearing.id)}">{_e(t(lang, "docket.watch"))}</a>'
    type_key = _TYPE_KEYS.get(hearing.type)
    values = [
        f'<time datetime="{_e(when.isoformat())}">{_e(format_datetime(lang, when))}</time>'
        f' <span class="zone">{_e(zone_label(when))}</span>',
        _e(hearing.case_number),
        _e(hearing.title),
        _e(t(lang, type_key) if type_key else str(hearing.type)),
    ]
    cells = [
        f'<td class="{kind}" data-label="{_e(t(lang, key))}">{value}</td>'
        for kind, key, value in zip(_CELL_CLASSES, _COLUMNS, values, strict=False)
    ]
    cells.append(
        f'<td class="state" data-label="{_e(t(lang, _COLUMNS[-1]))}" '
        f'data-status="{_e(status)}">{state}</td>'
    )
    return f'<tr data-hearing-id="{_e(hearing.id)}">' + "".join(cells) + "</tr>"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


_DOCKET_PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/hearing.css">
<link rel="stylesheet" href="/static/language.css">
<link rel="stylesheet" href="/static/docket.css">
</head>
<body>
<a class="skip" href="#main">{skip}</a>
<header class="bar with-language">
<p class="court">{court}</p>
<h1>{title}</h1>
{switch}
</header>
<main id="main" class="docket-main">
{body}
</main>
</body>
</html>
"""
