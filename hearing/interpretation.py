"""Interpretation: an interpreter's language channel, and who receives it.

An interpreter publishes, besides their camera and microphone, one extra audio track: the
channel of one language of their pair (its label is `channel:<tag>`, `channel_label`). The
presiding judge or the clerk orders, per interpreter, a mode and whether they are on air:

- simultaneous: the channel goes to the listeners who follow the hearing in its language;
  they still receive the floor (their page lowers it);
- whispered (chuchotage): the channel goes only to the participants the order names;
- consecutive: no channel; the interpreter speaks on the floor like anyone else.

A channel is a track of the interpreter's seat: it reaches a viewer only where the
interpreter's own audio would (`hearing.matrix.visible`, with its rooms, phases and profiles).
The mode only narrows that. `tests/matrix/channels.md` states the expected answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final

from hearing.errors import InvalidHearing
from hearing.languages import LanguagePair, language_tag
from hearing.matrix import Visibility, visible
from hearing.model import check_id
from hearing.phases import Phase
from hearing.profiles import HearingRules
from hearing.seats import MediaKind, Seat

CHANNEL_PREFIX: Final = "channel:"
MAX_WHISPER: Final = 8
"""Participants one whisper may reach (the accused and their counsel, a family)."""


class Mode(StrEnum):
    SIMULTANEOUS = "simultaneous"
    WHISPERED = "whispered"
    CONSECUTIVE = "consecutive"


def channel_label(language: str) -> str:
    """The track label of a channel in `language` (a canonical tag)."""
    return CHANNEL_PREFIX + language_tag(language, "channel_language")


def channel_language(label: str) -> str | None:
    """The language of a channel's track label; None for any other track."""
    if not label.startswith(CHANNEL_PREFIX):
        return None
    return label[len(CHANNEL_PREFIX) :]


@dataclass(frozen=True, slots=True)
class InterpretationOrder:
    """What the court has ordered for one interpreter."""

    mode: Mode = Mode.SIMULTANEOUS
    on_air: bool = False
    whisper_to: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not isinstance(self.mode, Mode):
            raise InvalidHearing("mode is simultaneous, whispered or consecutive", field="mode")
        if len(self.whisper_to) > MAX_WHISPER:
            raise InvalidHearing(f"a whisper reaches at most {MAX_WHISPER}", field="whisper_to")
        for pid in self.whisper_to:
            check_id(pid, "whisper_to")
        if self.mode is Mode.WHISPERED and self.on_air and not self.whisper_to:
            raise InvalidHearing("a whisper names who hears it", field="whisper_to")

    def with_changes(
        self,
        mode: Mode | None = None,
        on_air: bool | None = None,
        whisper_to: frozenset[str] | None = None,
    ) -> InterpretationOrder:
        return replace(
            self,
            mode=self.mode if mode is None else mode,
            on_air=self.on_air if on_air is None else on_air,
            whisper_to=self.whisper_to if whisper_to is None else whisper_to,
        )


def may_publish_channel(pair: LanguagePair | None, language: str) -> bool:
    """An interpreter publishes a channel only in a language of their own pair."""
    return pair is not None and language in pair.languages


def channel_reaches(
    viewer: Seat,
    viewer_language: str | None,
    interpreter: Seat,
    language: str,
    order: InterpretationOrder | None,
    phase: Phase,
    hearing: HearingRules,
) -> bool:
    """Whether `viewer` (following the hearing in `viewer_language`; None: someone the court
    does not know, such as the livestream's public) receives `interpreter`'s channel in
    `language` under the court's `order`."""
    if order is None or not order.on_air or order.mode is Mode.CONSECUTIVE:
        return False
    if visible(viewer, interpreter, MediaKind.AUDIO, phase, hearing) is not Visibility.ALLOW:
        return False  # a channel never reaches anyone the interpreter's own voice could not
    if order.mode is Mode.WHISPERED:
        return viewer.participant_id in order.whisper_to
    return viewer_language is not None and viewer_language == language
