"""The catalogue of the pages' words (`web/static/i18n/<lang>.json`): both languages say the
same things, and every key a page uses exists. It checks every page's markup and script,
whoever wrote them, and the docket the server renders."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from hearing import Hearing, HearingType
from web.i18n import CATALOGUE_DIR, CATALOGUES, LANGUAGES, format_datetime, t
from web.pages import render_docket

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
WEB = STATIC.parent
PLACEHOLDER = re.compile(r"\{(\w+)\}")
DATA_I18N = re.compile(r'\bdata-i18n="([^"]*)"')
DATA_I18N_ATTR = re.compile(r'\bdata-i18n-attr="([^"]*)"')
JS_T = re.compile(r"""(?<![\w.$])t\(\s*(["'])([^"'`$]+?)\1""")
PY_T = re.compile(r"""(?<![\w.])t\(\s*\w+\s*,\s*"([^"]+)\"""")
PY_KEY = re.compile(r'"((?:common|docket|watch)\.[a-z0-9_.]+)"')
FILE_NAME = re.compile(r"\.(html|css|js|json|py|png)$")
JS_COMMENT = re.compile(r"/\*.*?\*/|(^|\s)//[^\n]*", re.DOTALL)
RAW_KEY = re.compile(r"\b(?:common|docket|watch)\.[a-z0-9_.]+")


class Words(HTMLParser):
    """What a page shows or says: its text and its attributes, not where it links to."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen += [value for name, value in attrs if value and name not in ("href", "src")]

    def handle_data(self, data: str) -> None:
        self.seen.append(data)


def pairs(lang: str) -> list[tuple[str, object]]:
    text = (CATALOGUE_DIR / f"{lang}.json").read_text(encoding="utf-8")
    found: list[tuple[str, object]] = json.loads(text, object_pairs_hook=list)
    return found


def test_english_and_vietnamese_have_exactly_the_same_keys() -> None:
    en, vi = set(CATALOGUES["en"]), set(CATALOGUES["vi"])
    assert not en - vi, f"missing in vi.json: {sorted(en - vi)}"
    assert not vi - en, f"missing in en.json: {sorted(vi - en)}"
    assert set(LANGUAGES) == {"en", "vi"}


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_each_catalogue_is_a_flat_sorted_object_of_non_empty_strings(lang: str) -> None:
    entries = pairs(lang)
    keys = [key for key, _ in entries]
    assert len(keys) == len(set(keys)), f"{lang}.json names a key twice"
    assert keys == sorted(keys), f"{lang}.json: keep the keys sorted (and so grouped)"
    bad = [key for key, value in entries if not isinstance(value, str) or not value.strip()]
    assert not bad, f"{lang}.json: empty or not text: {bad}"
    malformed = [key for key in keys if not re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+", key)]
    assert not malformed, f"{lang}.json: keys are dotted lower-case names: {malformed}"


def test_every_placeholder_in_english_is_in_vietnamese_too() -> None:
    missing = {
        key: sorted(
            set(PLACEHOLDER.findall(text)) - set(PLACEHOLDER.findall(CATALOGUES["vi"][key]))
        )
        for key, text in CATALOGUES["en"].items()
        if key in CATALOGUES["vi"]
    }
    missing = {key: names for key, names in missing.items() if names}
    assert not missing, f"vi.json lacks these placeholders: {missing}"


def used_in_static_files() -> dict[str, set[str]]:
    """Every key the markup (data-i18n, data-i18n-attr) and the scripts (t("...")) name."""
    used: dict[str, set[str]] = {}
    for page in sorted(STATIC.glob("*.html")):
        text = page.read_text(encoding="utf-8")
        for key in DATA_I18N.findall(text):
            used.setdefault(key.strip(), set()).add(page.name)
        for spec in DATA_I18N_ATTR.findall(text):
            for pair in spec.split(";"):
                attribute, _, key = pair.partition(":")
                assert attribute.strip() and key.strip(), f"{page.name}: {spec!r}"
                used.setdefault(key.strip(), set()).add(page.name)
    for script in sorted(STATIC.glob("*.js")):
        code = JS_COMMENT.sub(" ", script.read_text(encoding="utf-8"))
        for _, key in JS_T.findall(code):
            used.setdefault(key, set()).add(script.name)
    return used


def test_every_key_the_pages_markup_and_scripts_name_is_in_the_catalogue() -> None:
    used = used_in_static_files()
    assert {"common.court", "watch.title", "watch.state.live"} <= set(used)  # it does look
    unknown = {key: sorted(files) for key, files in used.items() if key not in CATALOGUES["en"]}
    assert not unknown, f"keys used but not in the catalogue: {unknown}"


def test_every_key_the_server_names_is_in_the_catalogue() -> None:
    used: dict[str, set[str]] = {}
    for module in sorted(WEB.glob("*.py")):
        text = module.read_text(encoding="utf-8")
        for key in PY_T.findall(text) + PY_KEY.findall(text):
            if not FILE_NAME.search(key):
                used.setdefault(key, set()).add(module.name)
    assert {"docket.caption", "docket.status.live", "common.date_time"} <= set(used)
    unknown = {key: sorted(files) for key, files in used.items() if key not in CATALOGUES["en"]}
    assert not unknown, f"keys named in web/*.py but not in the catalogue: {unknown}"


NOW = datetime(2026, 11, 29, 7, 30, tzinfo=UTC)


def hearing(type: HearingType, status_id: str) -> Hearing:
    return Hearing(
        id=status_id,
        type=type,
        case_number="01/2026/DS-ST",
        title="Nguyen v. Tran",
        scheduled_at=datetime.fromisoformat("2026-11-29T14:30:00+07:00"),
        public=type is HearingType.TRIAL,  # render_docket shows what it is given
        profile="default",
    )


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_the_docket_the_server_renders_shows_words_never_keys(lang: str) -> None:
    statuses = {"h_trial_live": "live", "h_conc_ended": "ended", "h_trial_sched": "scheduled"}
    hearings = [
        hearing(HearingType.TRIAL, "h_trial_live"),
        hearing(HearingType.CONCILIATION, "h_conc_ended"),
        hearing(HearingType.TRIAL, "h_trial_sched"),
    ]
    full = render_docket(hearings, lambda h: statuses[h.id], NOW, lang=lang)
    empty = render_docket([], now=NOW, lang=lang)
    for page in (full, empty):
        words = Words()
        words.feed(page)
        leaked = [key for text in words.seen for key in RAW_KEY.findall(text)]
        assert not leaked, f"raw keys on the {lang} docket: {leaked}"
        assert f'<html lang="{lang}">' in page
    for key in (
        "docket.caption",
        "docket.column.case",
        "docket.status.ended",
        "docket.status.scheduled",
        "docket.watch",
        "common.hearing_type.trial",
        "common.hearing_type.conciliation",
        "common.court",
    ):
        assert html.escape(t(lang, key)) in full, key
    assert html.escape(t(lang, "docket.empty")) in empty
    assert format_datetime(lang, hearings[0].scheduled_at) in full
