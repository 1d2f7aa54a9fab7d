"""Checks any page test can run on a real page in headless Chromium: axe-core's rules, the fit
on a phone's width, and screenshots of the page in each language at each width.

axe-core comes from npm (`package.json`; `make assets` installs it into node_modules). The
pages' content security policy allows no inline script, so axe is not added as a <script>:
its source is evaluated through the DevTools protocol (`page.evaluate`), which the page's
policy does not govern. Nothing of the page's own is loosened for the check
(`tests/test_public_pages_browser.py` shows an inline script is still refused).

Usage, for any page (the participant page's tests call the same):

    await assert_accessible(page, "the lobby")
    await save_screenshots(page, "lobby")                 # docs/screenshots/lobby-vi-360.png …
    await save_screenshots(page, "docket", switch=my_switch)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Final

from playwright.async_api import Page
from yarl import URL

ROOT: Final = Path(__file__).resolve().parent.parent
AXE_SOURCE: Final = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS: Final = ROOT / "docs" / "screenshots"
LANGUAGES: Final = ("en", "vi")
WIDTHS: Final[Mapping[int, int]] = {1280: 800, 360: 780}
"""Viewport width -> height: a desktop and a small phone."""
BLOCKING: Final = frozenset({"serious", "critical"})

Switch = Callable[[Page, str], Awaitable[None]]
"""Puts a page into a language ("en", "vi") and returns once its words are in it."""
Check = Callable[[Page, str, int], Awaitable[None]]
"""Anything more to check on the page in one language (second argument) at one width."""

AXE_READY_JS = (
    "() => (window.axe && typeof window.axe.run === 'function') ? window.axe.version : null"
)
AXE_RUN_JS = """
async () => {
  const results = await window.axe.run(document, { resultTypes: ["violations"] });
  return {
    engine: results.testEngine && results.testEngine.name,
    passes: results.passes.length,
    violations: results.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      targets: v.nodes.map((n) => n.target.join(" ")),
    })),
  };
}
"""


async def load_axe(page: Page) -> str:
    """axe-core in the page (once per document); its version. Fails if it cannot be loaded:
    a check that cannot run must not pass."""
    version = await page.evaluate(AXE_READY_JS)
    if version:
        return str(version)
    try:
        source = await asyncio.to_thread(AXE_SOURCE.read_text, encoding="utf-8")
    except FileNotFoundError:
        raise AssertionError(
            f"axe-core is not installed ({AXE_SOURCE}): run `make assets`"
        ) from None
    await page.evaluate(source)
    version = await page.evaluate(AXE_READY_JS)
    if not version:
        raise AssertionError(f"axe-core did not load into {page.url}")
    return str(version)


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Every violation axe finds in the page as it is now (all impacts)."""
    await load_axe(page)
    results: dict[str, Any] = await page.evaluate(AXE_RUN_JS)
    if results["engine"] != "axe-core" or results["passes"] == 0:
        raise AssertionError(f"axe did not check {page.url}: {results}")
    violations: list[dict[str, Any]] = results["violations"]
    return violations


async def assert_accessible(page: Page, what: str) -> None:
    """No violation of impact serious or critical; the failure lists each one (rule, help,
    the elements by selector)."""
    blocking = [v for v in await axe_violations(page) if v["impact"] in BLOCKING]
    if blocking:
        lines = [
            f"- {v['id']} ({v['impact']}): {v['help']} [{', '.join(v['targets'])}] {v['helpUrl']}"
            for v in blocking
        ]
        raise AssertionError(f"axe: {what} at {page.url}:\n" + "\n".join(lines))


async def assert_fits(page: Page, what: str) -> None:
    """Nothing wider than the viewport: no sideways scrolling."""
    seen = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    scroll, client = int(seen[0]), int(seen[1])
    assert scroll <= client, f"{what} overflows sideways: {scroll} px wide in a {client} px view"


FOCUSED_JS = """
(selector) => {
  const el = document.activeElement;
  const style = el ? getComputedStyle(el) : null;
  return {
    matches: !!el && el.matches(selector),
    name: el ? `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} `
      + (el.textContent || "").trim().slice(0, 30) : "none",
    outline: style ? [style.outlineStyle, style.outlineWidth] : ["none", "0px"],
  };
}
"""


async def assert_keyboard_reaches(page: Page, selector: str, what: str, presses: int = 30) -> None:
    """Tab from where the focus is until an element matching `selector` has it (at most
    `presses` times), then check that the focus shows: its outline is drawn."""
    seen: list[str] = []
    for _ in range(presses):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED_JS, selector)
        seen.append(focused["name"])
        if focused["matches"]:
            style, width = focused["outline"]
            assert style != "none" and width != "0px", (
                f"{what} has the keyboard focus but no visible outline ({style} {width})"
            )
            return
    raise AssertionError(f"Tab never reached {what} ({selector}); focus went: {seen}")


async def switch_language(page: Page, lang: str) -> None:
    """The page's own switch: a ``select#lang`` (i18n.js's languageSwitcher) if the page has
    one, else its link to the language (``a[hreflang]``, the server-rendered pages), else the
    same URL with ``?lang=``. Returns once ``<html lang>`` says `lang`."""
    select = page.locator("select#lang")
    link = page.locator(f'a[hreflang="{lang}"]')
    if await select.count():
        await select.select_option(lang)
    elif await link.count():
        async with page.expect_navigation():
            await link.first.click()
    else:
        await page.goto(str(URL(page.url).update_query(lang=lang)))
    await page.wait_for_function("(lang) => document.documentElement.lang === lang", arg=lang)


async def save_screenshots(
    page: Page,
    name: str,
    *,
    switch: Switch = switch_language,
    check: Check | None = None,
    languages: tuple[str, ...] = LANGUAGES,
    widths: Mapping[int, int] = WIDTHS,
    directory: Path = SCREENSHOTS,
) -> list[Path]:
    """For each language and width: switch, resize, check that the page fits and passes axe
    (and `check`, if given), then save ``{directory}/{name}-{lang}-{width}.png`` (the whole
    page). Returns the files, in order. The page is left in the last language and width."""
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    saved: list[Path] = []
    for lang in languages:
        await switch(page, lang)
        for width, height in widths.items():
            await page.set_viewport_size({"width": width, "height": height})
            what = f"{name} ({lang}, {width} px)"
            await assert_fits(page, what)
            await assert_accessible(page, what)
            if check is not None:
                await check(page, lang, width)
            path = directory / f"{name}-{lang}-{width}.png"
            await page.screenshot(path=str(path), full_page=True, animations="disabled")
            saved.append(path)
    return saved
