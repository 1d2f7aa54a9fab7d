"""An interpreter's channel reaches exactly whom `tests/matrix/channels.md` says, on top of the
visibility table: every viewer seat, every interpreter seat, every phase and profile, every
mode and order, the viewer following the channel's language or not, named in a whisper or not."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from hearing import PROFILES, HearingRules, MediaKind, Phase, Role, Seat, Visibility
from hearing.interpretation import (
    InterpretationOrder,
    Mode,
    channel_label,
    channel_language,
    channel_reaches,
)
from tests.matrix_table import Row, Table
from tests.test_matrix import SEATS, TABLE, TWINS, describe

CHANNELS = Path(__file__).parent / "matrix" / "channels.md"
CONDITIONS = ("anyone", "voice denied", "named", "same language")
LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class ChannelRow:
    line: int
    modes: frozenset[Mode]
    on_air: bool
    viewer: str
    answer: Visibility
    why: str


def read_channels(path: Path = CHANNELS) -> tuple[ChannelRow, ...]:
    rows = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] in ("mode", "---"):
            continue
        mode, on_air, viewer, answer, why = cells
        assert on_air in ("on", "off") and viewer in CONDITIONS, f"line {number}: {cells}"
        modes = frozenset(Mode) if mode == "any" else frozenset({Mode(mode)})
        rows.append(ChannelRow(number, modes, on_air == "on", viewer, Visibility(answer), why))
    return tuple(rows)


ROWS = read_channels()
INTERPRETERS = tuple(s for s in SEATS if s.role is Role.INTERPRETER)
ORDERS = (
    *(InterpretationOrder(mode, on_air=False) for mode in Mode),
    InterpretationOrder(Mode.SIMULTANEOUS, on_air=True),
    InterpretationOrder(Mode.CONSECUTIVE, on_air=True),
)


def _audio_row(table: Table, profile: str, phase: Phase, viewer: Seat, publisher: Seat) -> Row:
    for row in table.rows_for(profile, phase, MediaKind.AUDIO):
        if not any(p.fits(viewer) for p in row.viewer):
            continue
        if row.publisher_is_self:
            if viewer.participant_id == publisher.participant_id:
                return row
            continue
        if any(
            p.fits(publisher) and (not p.same_room or publisher.room == viewer.room)
            for p in row.publisher
        ):
            return row
    raise AssertionError(f"no row of visibility.md decides {describe(viewer)}")


def expected(
    order: InterpretationOrder, voice: Visibility, named: bool, same_language: bool
) -> ChannelRow:
    facts = {
        "anyone": True,
        "voice denied": voice is Visibility.DENY,
        "named": named,
        "same language": same_language,
    }
    for row in ROWS:
        if order.mode in row.modes and order.on_air is row.on_air and facts[row.viewer]:
            return row
    raise AssertionError(f"no row of channels.md decides {order} {facts}")


@dataclass
class Outcome:
    disagreements: list[str] = field(default_factory=list)
    used: set[int] = field(default_factory=set)
    cells: int = 0


@cache
def compare(profile: str, phase: Phase) -> Outcome:
    rules = HearingRules(profile=PROFILES[profile])
    outcome = Outcome()
    for interpreter in INTERPRETERS:
        for vi, viewer in enumerate(SEATS):
            viewers = [viewer] if viewer != interpreter else [viewer, TWINS[vi]]
            for v in viewers:
                voice = _audio_row(TABLE, profile, phase, v, interpreter).answer
                for named, language in itertools.product((False, True), (LANGUAGE, "vi", None)):
                    whisper = frozenset({v.participant_id} if named else {"p_someone_else"})
                    orders = (*ORDERS, InterpretationOrder(Mode.WHISPERED, True, whisper))
                    for order in orders:
                        outcome.cells += 1
                        row = expected(
                            order,
                            voice,
                            named and order.whisper_to == whisper,
                            language == LANGUAGE,
                        )
                        outcome.used.add(row.line)
                        said = channel_reaches(
                            v, language, interpreter, LANGUAGE, order, phase, rules
                        )
                        if said is not (row.answer is Visibility.ALLOW):
                            outcome.disagreements.append(
                                f"{profile} {phase.value} {describe(v)} ({language}, "
                                f"named={named}) <- {describe(interpreter)} {order}: the table"
                                f" says line {row.line} ({row.answer.value}: {row.why}), the"
                                f" server {said}"
                            )
    return outcome


@pytest.mark.parametrize("phase", list(Phase), ids=str)
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_channel_situation_is_decided_by_the_table_and_the_server_agrees(
    profile: str, phase: Phase
) -> None:
    outcome = compare(profile, phase)
    assert outcome.cells > 0
    assert not outcome.disagreements, "\n".join(outcome.disagreements[:20])


def test_every_row_of_the_channel_table_decides_some_situation() -> None:
    used: set[int] = set()
    for profile, phase in itertools.product(sorted(PROFILES), Phase):
        used |= compare(profile, phase).used
    dead = [f"line {row.line}: {row.why}" for row in ROWS if row.line not in used]
    assert not dead, "rows shadowed by earlier rows:\n" + "\n".join(dead)


def test_a_channel_never_reaches_anyone_the_interpreters_voice_cannot() -> None:
    """Whatever the order, whatever the language: a property, not a table."""
    for profile, phase in itertools.product(PROFILES.values(), Phase):
        rules = HearingRules(profile=profile)
        for interpreter, viewer in itertools.product(INTERPRETERS, SEATS[::3]):
            from hearing import visible

            if visible(viewer, interpreter, MediaKind.AUDIO, phase, rules) is Visibility.ALLOW:
                continue
            whisper = InterpretationOrder(Mode.WHISPERED, True, frozenset({viewer.participant_id}))
            for order in (*ORDERS, whisper):
                assert not channel_reaches(
                    viewer, LANGUAGE, interpreter, LANGUAGE, order, phase, rules
                )


def test_a_channels_label_names_its_language_and_no_other_track_has_one() -> None:
    assert channel_label("EN") == "channel:en" and channel_language("channel:en") == "en"
    for kind in MediaKind:
        assert channel_language(kind.value) is None
