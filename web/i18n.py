"""The pages' words on the server: the same catalogue as the browser's `web/static/i18n.js`.

`web/static/i18n/<lang>.json` holds one flat object per language (``"docket.caption": "..."``,
with ``{name}`` placeholders). They are read once, when this module is imported. A page
rendered here picks its language the way the browser does: ``?lang=`` first, then the
``ecourt_lang`` cookie, then the ``Accept-Language`` header, else English.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Final

from aiohttp import web

log = logging.getLogger(__name__)

LANGUAGES: Final[Mapping[str, str]] = MappingProxyType({"en": "English", "vi": "Tiếng Việt"})
DEFAULT: Final = "en"
COOKIE: Final = "ecourt_lang"
COOKIE_MAX_AGE: Final = 365 * 24 * 3600
CATALOGUE_DIR: Final = Path(__file__).parent / "static" / "i18n"
_PLACEHOLDER: Final = re.compile(r"\{(\w+)\}")


def load_catalogue(lang: str, directory: Path = CATALOGUE_DIR) -> Mapping[str, str]:
    """One language's words, read from its JSON file (a flat object of strings)."""
    words = json.loads((directory / f"{lang}.json").read_text(encoding="utf-8"))
    if not isinstance(words, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in words.items()
    ):
        raise ValueError(f"{lang}.json must be a flat object of strings")
    return MappingProxyType(words)


CATALOGUES: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {lang: load_catalogue(lang) for lang in LANGUAGES}
)


def t(lang: str, key: str, **values: object) -> str:
    """The words for `key` in `lang` (English where that language lacks them), with each
    ``{name}`` filled from `values`; a key in no catalogue comes back as itself (as in the
    browser), which the catalogue test catches. Nothing is escaped here."""
    text = CATALOGUES.get(lang, CATALOGUES[DEFAULT]).get(key)
    if text is None:
        text = CATALOGUES[DEFAULT].get(key)
    if text is None:
        log.warning("no words for %s", key)
        return key

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(values[name]) if name in values else match.group(0)

    return _PLACEHOLDER.sub(fill, text)


def choose_language(request: web.Request) -> str:
    """``?lang=``, then the cookie, then Accept-Language (vi or en); English by default. A
    value naming no language of ours is ignored, never an error."""
    asked = request.query.get("lang", "")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(COOKIE, "")
    if kept in LANGUAGES:
        return kept
    return from_accept_language(request.headers.get("Accept-Language", ""))


def from_accept_language(header: str) -> str:
    """The preferred language of ours in an Accept-Language header (highest q first; for
    equal q the earlier one); `DEFAULT` when none is acceptable or the header is malformed."""
    best, best_q = DEFAULT, 0.0
    for item in header.split(",")[:32]:
        tag, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and 0.0 < q <= 1.0 and q > best_q:
            best, best_q = base, q
    return best


def format_datetime(lang: str, moment: datetime) -> str:
    """A date and time as the language writes it (``29 November 2026, 14:30``;
    ``29/11/2026, 14:30``), from the catalogue's ``common.date_time`` pattern and its month
    names, in the moment's own time zone."""
    months = t(lang, "common.date_months").split(",")
    month = months[moment.month - 1].strip() if len(months) == 12 else str(moment.month)
    return t(
        lang,
        "common.date_time",
        day=moment.day,
        month=month,
        year=moment.year,
        hour=f"{moment.hour:02d}",
        minute=f"{moment.minute:02d}",
    )


def zone_label(moment: datetime) -> str:
    """``UTC+7``, ``UTC-3:30``, ``UTC``: the moment's offset, the same in every language."""
    offset = moment.utcoffset()
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
