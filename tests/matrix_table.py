"""Reads `tests/matrix/visibility.md`, the lawyer-readable visibility table, and answers a
situation the way the table does: the first row that fits decides."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from hearing import MediaKind, Phase, Role, RoomKind, Seat, Visibility

TABLE = Path(__file__).parent / "matrix" / "visibility.md"
ANY_WORDS = frozenset({"any", "anyone", "anywhere"})


class TableError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class SeatPattern:
    roles: frozenset[Role]
    rooms: frozenset[RoomKind]
    same_room: bool
    floor: bool | None
    linked: bool | None

    def fits(self, seat: Seat) -> bool:
        return (
            seat.role in self.roles
            and seat.room.kind in self.rooms
            and (self.floor is None or seat.floor is self.floor)
            and (self.linked is None or seat.linked is self.linked)
        )


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    profiles: frozenset[str] | None
    phases: frozenset[Phase]
    viewer: tuple[SeatPattern, ...]
    publisher: tuple[SeatPattern, ...]
    publisher_is_self: bool
    kinds: frozenset[MediaKind]
    answer: Visibility
    why: str

    def describe(self) -> str:
        return f"row at line {self.line} ({self.answer.value}: {self.why})"


@dataclass(frozen=True, slots=True)
class Table:
    rows: tuple[Row, ...]

    def rows_for(self, profile: str, phase: Phase, kind: MediaKind) -> list[Row]:
        return [
            row
            for row in self.rows
            if (row.profiles is None or profile in row.profiles)
            and phase in row.phases
            and kind in row.kinds
        ]


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


E = TypeVar("E", Role, RoomKind, Phase, MediaKind)


def _enum_values(
    kind: type[E], names: Iterable[str], groups: dict[str, frozenset[E]]
) -> frozenset[E]:
    values: set[E] = set()
    for name in names:
        if name in groups:
            values |= groups[name]
            continue
        try:
            values.add(kind(name))
        except ValueError:
            raise TableError(f"unknown {kind.__name__} {name!r}") from None
    return frozenset(values)


class _Reader:
    def __init__(self) -> None:
        self.role_groups: dict[str, frozenset[Role]] = {}
        self.phase_groups: dict[str, frozenset[Phase]] = {}
        self.seat_names: dict[str, str] = {}

    def definition(self, line: str) -> bool:
        match = re.match(r"^- (group|define|phases) (.+?) = (.+)$", line)
        if match is None:
            return False
        what, name, value = match.groups()
        if what == "group":
            self.role_groups[name] = _enum_values(Role, _split(value), self.role_groups)
        elif what == "phases":
            self.phase_groups[name] = _enum_values(Phase, _split(value), self.phase_groups)
        else:
            self.seat_names[name] = value
        return True

    def seats(self, text: str) -> tuple[SeatPattern, ...]:
        text = self.seat_names.get(text, text)
        return tuple(self.seat(alternative.strip()) for alternative in text.split(" or "))

    def seat(self, text: str) -> SeatPattern:
        roles_text, sep, where = text.partition(" @ ")
        if not sep:
            raise TableError(f"a seat is 'roles @ rooms', not {text!r}")
        words = where.split()
        flags = {w[1:]: w[0] == "+" for w in words if w[0] in "+-"}
        if set(flags) - {"floor", "link"}:
            raise TableError(f"unknown flag in {text!r}")
        rooms_text = " ".join(w for w in words if w[0] not in "+-")
        roles = (
            frozenset(Role)
            if roles_text == "anyone"
            else _enum_values(Role, _split(roles_text), self.role_groups)
        )
        same = rooms_text == "same"
        rooms = (
            frozenset(RoomKind)
            if rooms_text in ("anywhere", "same")
            else _enum_values(RoomKind, _split(rooms_text), {})
        )
        return SeatPattern(roles, rooms, same, flags.get("floor"), flags.get("link"))

    def row(self, line_number: int, cells: Sequence[str]) -> Row:
        if len(cells) != 7:
            raise TableError(f"line {line_number}: a row has 7 cells, not {len(cells)}")
        profile, phase, viewer, publisher, kind, answer, why = cells
        phases = (
            frozenset(Phase)
            if phase == "any"
            else _enum_values(
                Phase, [phase] if phase in self.phase_groups else _split(phase), self.phase_groups
            )
        )
        return Row(
            line=line_number,
            profiles=None if profile == "any" else frozenset(_split(profile)),
            phases=phases,
            viewer=self.seats(viewer),
            publisher=() if publisher == "self" else self.seats(publisher),
            publisher_is_self=publisher == "self",
            kinds=frozenset(MediaKind)
            if kind == "any"
            else _enum_values(MediaKind, _split(kind), {}),
            answer=Visibility(answer),
            why=why,
        )


def read_table(path: Path = TABLE) -> Table:
    reader = _Reader()
    rows: list[Row] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if reader.definition(line) or not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] in ("profile", "---"):
            continue
        rows.append(reader.row(number, cells))
    return Table(tuple(rows))
