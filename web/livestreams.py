"""The node's public livestreams: one per hearing in session here, made by the signalling
server when the hearing opens, and the public routes that serve them.

- `GET /live/{hearing}/index.m3u8`: the media playlist, once something has been published
  (404 before); `Cache-Control: public, max-age=1`, so a CDN asks again every second.
- `GET /live/{hearing}/{name}.ts`: a published segment; names are unguessable and never
  reused, so segments are `immutable` for a year. Anything else is 404.
- `GET /watch/{hearing}`: the viewer page (hls.js), the same for every hearing.

None of them needs a login; all of them may be cached by anyone.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from aiohttp import web

from hearing import Hearing, HearingRules
from hearing.model import Role
from media.composite import CompositeSettings
from media.picture import font_file
from recording.livestream.cast import StreamWords
from recording.livestream.encoder import EncoderSettings
from recording.livestream.stream import HearingLivestream, LivestreamSettings
from security import AuditLog
from web.i18n import load_catalogue
from web.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"
WATCH_PAGE = STATIC_DIR / "watch.html"
_HEARING_ID: Final = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
_SEGMENT: Final = re.compile(r"^[A-Za-z0-9_-]{24}$")
PLAYLIST_CACHE: Final = "public, max-age=1"
SEGMENT_CACHE: Final = "public, max-age=31536000, immutable"
WATCH_CACHE: Final = "public, max-age=300"
PLAYLIST_TYPE: Final = "application/vnd.apple.mpegurl"
SEGMENT_TYPE: Final = "video/mp2t"


def stream_words(language: str) -> StreamWords:
    """The stream's words from the pages' catalogue of `language` (docs/glossary.md)."""
    words = load_catalogue(language)
    roles = tuple((role.value, words[f"role.{role.value}"]) for role in Role)
    return StreamWords(
        roles=roles,
        shared_screen=words["court.shared_screen"],
        cut=words["stream.cut"],
        not_sitting=words["stream.not_sitting"],
    )


def livestream_settings(settings: Settings) -> LivestreamSettings:
    width, height = settings.livestream_size
    return LivestreamSettings(
        delay=settings.livestream_delay,
        composite=CompositeSettings(width=width, height=height, fps=settings.livestream_fps),
        encoder=EncoderSettings(preset=settings.livestream_preset),
        words=stream_words(settings.court_language),
    )


class Livestreams:
    def __init__(self, settings: Settings) -> None:
        self.settings = livestream_settings(settings)
        font_file()  # says in the log, at start, when the plates cannot write Vietnamese
        self._streams: dict[str, HearingLivestream] = {}
        self._published_before = 0
        """Segments published by streams since replaced (a hearing's session made again)."""

    def livestream_for(self, hearing: Hearing, audit: AuditLog) -> HearingLivestream:
        stream = HearingLivestream(
            hearing_id=hearing.id,
            rules=HearingRules.of(hearing),
            audit=audit,
            settings=self.settings,
        )
        replaced = self._streams.get(hearing.id)
        if replaced is not None:
            self._published_before += replaced.delay_line.published
        self._streams[hearing.id] = stream
        return stream

    def segments_published(self) -> int:
        """Segments the public could fetch, since this node started (web/metrics.py)."""
        live = sum(s.delay_line.published for s in self._streams.values())
        return self._published_before + live

    def get(self, hearing_id: str) -> HearingLivestream | None:
        return self._streams.get(hearing_id)

    async def close(self) -> None:
        for stream in list(self._streams.values()):
            await stream.aclose()


def add_routes(app: web.Application, streams: Livestreams) -> None:
    watch_html = WATCH_PAGE.read_text(encoding="utf-8")

    def stream_of(request: web.Request) -> HearingLivestream:
        hearing_id = request.match_info["hearing_id"]
        stream = streams.get(hearing_id) if _HEARING_ID.match(hearing_id) else None
        if stream is None:
            raise web.HTTPNotFound()
        return stream

    async def playlist(request: web.Request) -> web.Response:
        text = stream_of(request).playlist()
        if text is None:
            raise web.HTTPNotFound()
        return web.Response(
            text=text, content_type=PLAYLIST_TYPE, headers={"Cache-Control": PLAYLIST_CACHE}
        )

    async def segment(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        data = stream_of(request).segment(name) if _SEGMENT.match(name) else None
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=data, content_type=SEGMENT_TYPE, headers={"Cache-Control": SEGMENT_CACHE}
        )

    async def watch(request: web.Request) -> web.Response:
        if not _HEARING_ID.match(request.match_info["hearing_id"]):
            raise web.HTTPNotFound()
        return web.Response(
            text=watch_html, content_type="text/html", headers={"Cache-Control": WATCH_CACHE}
        )

    app.router.add_get("/live/{hearing_id}/index.m3u8", playlist, name="live_playlist")
    app.router.add_get("/live/{hearing_id}/{name}.ts", segment, name="live_segment")
    app.router.add_get("/watch/{hearing_id}", watch, name="watch")
