"""The pages of the exhibit presented, served one at a time to the participants who see it:
`GET /api/hearings/{id}/exhibits/{exhibit_id}/pages/{page}` with the participant's join token
(`Authorization: Bearer <token>`). The session decides (`signaling/exhibit_orders.py`): the
exhibit must be the one presented now, the page the one on screen (the presenter may fetch
any), and the viewer one the matrix lets see it; a viewer it keeps from the exhibit is refused
`403 exhibit_hidden`, and the refusal is audited. A PDF page is rendered to PNG (or, with
`?as=pdf`, cut out as a one-page PDF for pdf.js); an image is served as it was submitted.
Nothing is cached by the browser."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Final

from aiohttp import web

from recording.exhibits.content import ExhibitKind
from recording.exhibits.errors import ExhibitNotPresented
from recording.exhibits.ledger import ExhibitLedger, read_content
from recording.exhibits.pdf import extract_page, render_page
from recording.exhibits.record import ExhibitRecord
from web.errors import BadRequest, Unauthorized
from web.keys import EXHIBITS, SIGNALING

PAGE_WIDTH: Final = 1240
KEPT: Final = 24
"""Rendered pages kept in memory, across hearings (the latest ones)."""


class RenderedPages:
    """The latest rendered pages, so that a room of viewers costs one render per page."""

    def __init__(self) -> None:
        self._pages: OrderedDict[tuple[str, int, str], tuple[bytes, str]] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def page(
        self, ledger: ExhibitLedger, hearing_id: str, exhibit_id: str, page: int, form: str
    ) -> tuple[bytes, str]:
        key = (exhibit_id, page, form)
        lock = self._locks.setdefault(exhibit_id, asyncio.Lock())
        async with lock:
            kept = self._pages.get(key)
            if kept is None:
                record = ledger.get(hearing_id, exhibit_id)
                kept = await asyncio.to_thread(_render, ledger, record, page, form)
                self._pages[key] = kept
                while len(self._pages) > KEPT:
                    self._pages.popitem(last=False)
            self._pages.move_to_end(key)
        return kept


def _render(
    ledger: ExhibitLedger, record: ExhibitRecord, page: int, form: str
) -> tuple[bytes, str]:
    content = read_content(ledger, record)
    if record.kind is not ExhibitKind.PDF:
        return content, record.kind.media_type
    if form == "pdf":
        return extract_page(content, page), "application/pdf"
    return render_page(content, page, PAGE_WIDTH), "image/png"


PAGES = web.AppKey("exhibit_pages", RenderedPages)


def add_routes(app: web.Application) -> None:
    app[PAGES] = RenderedPages()
    app.router.add_get("/api/hearings/{id}/exhibits/{exhibit_id}/pages/{page}", serve_page)


async def serve_page(request: web.Request) -> web.Response:
    app = request.app
    hearing_id = request.match_info["id"]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized("a participant's join token is required: Authorization: Bearer <token>")
    grant = await app[SIGNALING].authorize(token.strip(), hearing_id)
    try:
        page = int(request.match_info["page"])
    except ValueError:
        raise ExhibitNotPresented("no such page") from None
    session = app[SIGNALING].session(hearing_id)
    if session is None:
        raise ExhibitNotPresented("the hearing is not in session here")
    form = request.query.get("as", "png")
    if form not in ("png", "pdf"):
        raise BadRequest("as is png or pdf", field="as")
    exhibit_id = request.match_info["exhibit_id"]
    session.page_for(grant.participant.id, exhibit_id, page)
    body, media_type = await app[PAGES].page(app[EXHIBITS], hearing_id, exhibit_id, page, form)
    headers = {"Cache-Control": "no-store, private"}
    return web.Response(body=body, content_type=media_type, headers=headers)
