"""Languages of a hearing: BCP 47 tags (RFC 5646), the court language, and an interpreter's
pair. Values that validate themselves at the door; `signaling` and `web` only carry them.

A tag is checked for its shape (language, optional script, region and variants; no private
use or extensions) and written in its canonical case (`vi`, `zh-Hant-TW`, `sgn-VN`). Sign
languages are ordinary tags: ISO 639-3 gives each its own code (`hab`, `haf`, `hos` for the
sign languages of Ha Noi, Hai Phong and Ho Chi Minh City; `ase`, `bfi`, `vsl` ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from hearing.errors import InvalidHearing

COURT_LANGUAGE: Final = "vi"
"""The default court language (CPC 2015 art. 23: proceedings are held in Vietnamese)."""
MAX_LANGUAGES: Final = 16
"""Other languages a hearing may name besides the court language."""
MAX_TAG: Final = 35
_TAG: Final = re.compile(
    r"^(?P<language>[a-z]{2,3})"
    r"(?:-(?P<script>[a-z]{4}))?"
    r"(?:-(?P<region>[a-z]{2}|[0-9]{3}))?"
    r"(?P<variants>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*)$"
)
PAIR_SEPARATORS: Final = ("↔", "<>")


def language_tag(value: str, field: str = "language") -> str:
    """`value` as a canonical BCP 47 tag; `InvalidHearing` naming `field` if it is not one."""
    match = _TAG.match(value.lower()) if isinstance(value, str) and len(value) <= MAX_TAG else None
    if match is None:
        raise InvalidHearing(
            f"{field} must be a BCP 47 language tag such as vi, en, zh-Hant or hab",
            field=field,
        )
    parts = [match["language"]]
    if match["script"]:
        parts.append(match["script"].title())
    if match["region"]:
        parts.append(match["region"].upper())
    return "-".join(parts) + match["variants"]


def language_tags(values: Iterable[str], field: str = "languages") -> tuple[str, ...]:
    """Several tags, canonical, in the order given, each once."""
    tags: list[str] = []
    for value in values:
        tag = language_tag(value, field)
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_LANGUAGES:
        raise InvalidHearing(f"{field} names at most {MAX_LANGUAGES} languages", field=field)
    return tuple(tags)


@dataclass(frozen=True, slots=True)
class LanguagePair:
    """The two languages an interpreter works between, either way (`vi↔en`)."""

    first: str
    second: str

    def __post_init__(self) -> None:
        if language_tag(self.first, "interpreting") != self.first:
            raise InvalidHearing("a pair's languages are canonical tags", field="interpreting")
        if language_tag(self.second, "interpreting") != self.second:
            raise InvalidHearing("a pair's languages are canonical tags", field="interpreting")
        if self.first == self.second:
            raise InvalidHearing("an interpreter's pair has two languages", field="interpreting")

    @classmethod
    def parse(cls, text: str) -> LanguagePair:
        """`vi↔en` (or `vi<>en`)."""
        for separator in PAIR_SEPARATORS:
            first, sep, second = (
                text.partition(separator) if isinstance(text, str) else ("", "", "")
            )
            if sep:
                return cls(
                    language_tag(first.strip(), "interpreting"),
                    language_tag(second.strip(), "interpreting"),
                )
        raise InvalidHearing("interpreting is a pair such as vi↔en", field="interpreting")

    def __str__(self) -> str:
        return f"{self.first}↔{self.second}"

    @property
    def languages(self) -> frozenset[str]:
        return frozenset({self.first, self.second})

    def same_as(self, other: LanguagePair) -> bool:
        """Either way round: `vi↔en` is `en↔vi`."""
        return self.languages == other.languages
