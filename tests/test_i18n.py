"""The server's side of the catalogue: which language a request gets, the docket in it (with a
switch that needs no script, and headers that keep caches honest), dates as each language
writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.conftest import RunningServer
from web.i18n import COOKIE, format_datetime, from_accept_language, t, zone_label

ENGLISH_BROWSER = {"Accept-Language": "en-GB,en;q=0.9"}


async def docket(
    server: RunningServer, path: str = "/docket", **headers: str
) -> tuple[str, dict[str, str], str]:
    async with server.session.get(f"{server.base_url}{path}", headers=headers) as response:
        assert response.status == 200
        cookie = response.cookies.get(COOKIE)
        return await response.text(), dict(response.headers), cookie.value if cookie else ""


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        ("/docket", {}, "en"),
        ("/docket", {"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.8"}, "vi"),
        ("/docket", {"Accept-Language": "en;q=0.5, vi;q=0.9"}, "vi"),
        ("/docket", {"Accept-Language": "fr-FR, de;q=0.9, vi;q=0.1"}, "vi"),
        ("/docket", {"Accept-Language": "vi;q=0, fr"}, "en"),
        ("/docket", {"Accept-Language": ";;q=x,,\u00e9"}, "en"),
        ("/docket", {"Cookie": f"{COOKIE}=vi", "Accept-Language": "en"}, "vi"),
        ("/docket", {"Cookie": f"{COOKIE}=xx", "Accept-Language": "vi"}, "vi"),
        ("/docket?lang=en", {"Cookie": f"{COOKIE}=vi", "Accept-Language": "vi"}, "en"),
        ("/docket?lang=vi", {}, "vi"),
        ("/docket?lang=fr", {"Accept-Language": "vi"}, "vi"),
        ("/docket?lang=%3Cb%3E", {}, "en"),
    ],
)
async def test_the_docket_speaks_the_asked_language_then_the_kept_one_then_the_browsers(
    server: RunningServer, path: str, headers: dict[str, str], expected: str
) -> None:
    text, response_headers, _ = await docket(server, path, **headers)
    assert f'<html lang="{expected}">' in text
    assert response_headers["Content-Language"] == expected
    assert f"<h1>{t(expected, 'docket.title')}</h1>" in text
    assert "&lt;b&gt;" not in text and "<b>" not in text


async def test_the_docket_varies_by_cookie_and_language_for_caches(server: RunningServer) -> None:
    _, headers, cookie = await docket(server)
    assert headers["Vary"] == "Cookie, Accept-Language"
    assert headers["Cache-Control"] == "public, max-age=2"
    assert cookie == ""  # nothing chosen, nothing kept


async def test_a_language_chosen_by_link_is_kept_in_the_cookie_without_script(
    server: RunningServer,
) -> None:
    text, headers, cookie = await docket(server, "/docket?lang=vi")
    assert cookie == "vi"
    assert headers["Cache-Control"] == "private, max-age=2"  # one person's choice
    assert "SameSite=Lax" in headers["Set-Cookie"] and "Path=/" in headers["Set-Cookie"]
    # the next visit sends the cookie back, with no ?lang=: Vietnamese, whatever the browser
    text, _, _ = await docket(server, "/docket", Cookie=f"{COOKIE}={cookie}", **ENGLISH_BROWSER)
    assert '<html lang="vi">' in text


async def test_the_switch_is_a_link_per_language_named_in_its_own(server: RunningServer) -> None:
    text, _, _ = await docket(server, "/docket?lang=vi")
    assert f'<nav class="language" aria-label="{t("vi", "common.language")}">' in text
    assert '<a href="?lang=en" hreflang="en" lang="en">English</a>' in text
    assert '<a href="?lang=vi" hreflang="vi" lang="vi" aria-current="true">Tiếng Việt</a>' in text
    assert "<script" not in text and "<form" not in text


def test_accept_language_is_read_by_quality_then_order() -> None:
    assert from_accept_language("") == "en"
    assert from_accept_language("vi") == "vi"
    assert from_accept_language("en, vi") == "en"
    assert from_accept_language("en;q=0.8, vi") == "vi"
    assert from_accept_language("vi;q=2") == "en"  # not a quality
    assert from_accept_language("x" * 10_000) == "en"


HANOI = timezone(timedelta(hours=7))


def test_dates_are_written_as_each_language_writes_them() -> None:
    moment = datetime(2026, 11, 29, 14, 30, tzinfo=HANOI)
    assert format_datetime("en", moment) == "29 November 2026, 14:30"
    assert format_datetime("vi", moment) == "29/11/2026, 14:30"
    assert format_datetime("vi", datetime(2027, 1, 5, 8, 5, tzinfo=HANOI)) == "5/01/2027, 08:05"
    assert zone_label(moment) == "UTC+7"
    assert zone_label(moment.astimezone(UTC)) == "UTC"
    assert zone_label(datetime(2026, 1, 1, tzinfo=timezone(-timedelta(hours=3, minutes=30)))) == (
        "UTC-3:30"
    )


def test_words_fill_their_placeholders_and_an_unknown_key_shows_itself() -> None:
    assert t("vi", "common.date_time", day=1, month="02", year=2026, hour="09", minute="00") == (
        "1/02/2026, 09:00"
    )
    assert t("en", "common.date_time", day=1) == "1 {month} {year}, {hour}:{minute}"
    assert t("fr", "docket.title") == t("en", "docket.title")
    assert t("vi", "docket.no_such_key") == "docket.no_such_key"
