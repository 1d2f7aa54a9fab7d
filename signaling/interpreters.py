"""Languages and interpreters of one hearing in session: who follows it in which language,
each interpreter's pair, and the court's order for each (mode, on air, whom a whisper
reaches). `hearing.interpretation` decides who receives a channel; this keeps the state,
and `InterpretationOrders` (mixed into `HearingSession`) takes the orders and audits them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hearing import Hearing, InvalidHearing, Participant
from hearing.interpretation import InterpretationOrder, Mode, channel_reaches
from hearing.languages import LanguagePair, language_tag
from hearing.model import hearing_languages
from hearing.phases import Phase
from hearing.profiles import HearingRules
from hearing.seats import Seat


class Interpreters:
    def __init__(self, hearing: Hearing) -> None:
        self.court_language = hearing.language
        self.known = hearing_languages(hearing)
        self.languages: dict[str, str] = {}
        """Participant id -> the language they follow the hearing in."""
        self.pairs: dict[str, LanguagePair] = {}
        """Interpreter's participant id -> their pair, from their token."""
        self.orders: dict[str, InterpretationOrder] = {}

    def enrol(self, participant: Participant) -> None:
        """Note the language and the pair a participant's token names (once: a language the
        participant has chosen since stays)."""
        self.languages.setdefault(participant.id, participant.language or self.court_language)
        if participant.interpreting is not None:
            self.pairs.setdefault(participant.id, participant.interpreting)

    def choose(self, participant_id: str, language: str) -> str:
        tag = language_tag(language)
        if tag not in self.known:
            raise InvalidHearing(
                f"{tag} is not a language of this hearing ({', '.join(self.known)})",
                field="language",
            )
        self.languages[participant_id] = tag
        return tag

    def pair_of(self, participant_id: str) -> LanguagePair:
        pair = self.pairs.get(participant_id)
        if pair is None:
            raise InvalidHearing("this participant is not an interpreter", field="participant_id")
        return pair

    def order(
        self,
        participant_id: str,
        mode: Mode | None,
        on_air: bool | None,
        whisper_to: frozenset[str] | None,
    ) -> list[str]:
        """Apply the court's order to one interpreter; return the interpreters of the same
        pair it took off air (at most one simultaneous interpreter per pair is on air)."""
        pair = self.pair_of(participant_id)
        current = self.orders.get(participant_id, InterpretationOrder())
        changed = current.with_changes(mode, on_air, whisper_to)
        self.orders[participant_id] = changed
        return self._exclusive(participant_id, pair, changed)

    def hand_over(self, from_id: str, to_id: str) -> None:
        """`to_id` takes `from_id`'s order and goes on air; `from_id` goes off air. Both in
        one step, so the next reconciliation swaps the channels at once."""
        pair = self.pair_of(from_id)
        if from_id == to_id or not self.pair_of(to_id).same_as(pair):
            raise InvalidHearing("a handover is between two interpreters of one pair", field="to")
        current = self.orders.get(from_id, InterpretationOrder())
        if not current.on_air:
            raise InvalidHearing("the interpreter handing over is not on air", field="from")
        self.orders[to_id] = current
        self.orders[from_id] = current.with_changes(on_air=False)

    def _exclusive(self, pid: str, pair: LanguagePair, order: InterpretationOrder) -> list[str]:
        if not (order.on_air and order.mode is Mode.SIMULTANEOUS):
            return []
        taken_off = []
        for other, theirs in self.orders.items():
            same_pair = other != pid and self.pairs[other].same_as(pair)
            if same_pair and theirs.on_air and theirs.mode is Mode.SIMULTANEOUS:
                self.orders[other] = theirs.with_changes(on_air=False)
                taken_off.append(other)
        return taken_off

    def reaches(
        self, viewer: Seat, interpreter: Seat, language: str, phase: Phase, rules: HearingRules
    ) -> bool:
        pair = self.pairs.get(interpreter.participant_id)
        if pair is None or language not in pair.languages:
            return False
        order = self.orders.get(interpreter.participant_id)
        viewer_language = self.languages.get(viewer.participant_id)
        return channel_reaches(viewer, viewer_language, interpreter, language, order, phase, rules)

    def roster_fields(self, participant_id: str) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "language": self.languages.get(participant_id, self.court_language)
        }
        pair = self.pairs.get(participant_id)
        if pair is not None:
            order = self.orders.get(participant_id, InterpretationOrder())
            fields["interpreting"] = {
                "pair": str(pair),
                "mode": order.mode.value,
                "on_air": order.on_air,
                "whisper_to": sorted(order.whisper_to),
            }
        return fields

    def snapshot(self) -> dict[str, Any]:
        return {
            "languages": dict(sorted(self.languages.items())),
            "pairs": {pid: str(pair) for pid, pair in sorted(self.pairs.items())},
            "orders": {
                pid: [o.mode.value, o.on_air, sorted(o.whisper_to)]
                for pid, o in sorted(self.orders.items())
            },
        }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Take a snapshot's state (one written before interpretation existed has none);
        raises ValueError or a HearingError if it is malformed, and then changes nothing."""
        languages = {str(p): language_tag(str(t)) for p, t in snapshot.get("languages", {}).items()}
        pairs = {str(p): LanguagePair.parse(str(t)) for p, t in snapshot.get("pairs", {}).items()}
        orders = {
            str(pid): InterpretationOrder(Mode(mode), bool(on_air), frozenset(map(str, whisper)))
            for pid, (mode, on_air, whisper) in snapshot.get("orders", {}).items()
        }
        if set(orders) - set(pairs):
            raise ValueError("an interpretation order for someone who is not an interpreter")
        self.languages, self.pairs, self.orders = languages, pairs, orders
