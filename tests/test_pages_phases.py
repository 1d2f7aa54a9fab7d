"""The pages' copies of the court's rules (web/static/phases.js) are the server's: the table
of phase moves (hearing/phases.py), so that a button the console enables is a move the court
can make and none is missing; and the rooms the court records in (hearing/policy.py), so that
"Recorded" shows only where it is true."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hearing.phases import TRANSITIONS, Phase
from hearing.policy import RECORDED_ROOMS

PHASES_JS = Path(__file__).resolve().parent.parent / "web" / "static" / "phases.js"


def page_table() -> dict[str, list[str]]:
    source = PHASES_JS.read_text(encoding="utf-8")
    found = re.search(r"export const NEXT_PHASES = (\{.*?\});", source, re.DOTALL)
    assert found, "web/static/phases.js has no NEXT_PHASES table"
    table: dict[str, list[str]] = json.loads(found.group(1))
    return table


def test_the_page_enables_exactly_the_moves_the_court_can_make() -> None:
    server = {phase.value: sorted(p.value for p in TRANSITIONS[phase]) for phase in Phase}
    page = {phase: sorted(moves) for phase, moves in page_table().items()}
    assert page == server


def test_nothing_follows_an_adjournment_on_the_page() -> None:
    assert page_table()["adjourned"] == []


def test_the_page_says_recorded_in_exactly_the_rooms_the_court_records() -> None:
    source = PHASES_JS.read_text(encoding="utf-8")
    found = re.search(r"export const RECORDED_ROOMS = (\[.*?\]);", source, re.DOTALL)
    assert found, "web/static/phases.js has no RECORDED_ROOMS"
    assert sorted(json.loads(found.group(1))) == sorted(room.value for room in RECORDED_ROOMS)
