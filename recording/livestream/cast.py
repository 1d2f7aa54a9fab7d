"""Who the public stream shows, and how each tile is labelled.

`signaling` hands over the tracks the visibility matrix lets a member of the public in the
courtroom receive, with the name that viewer may see. The stream then asks the court's policy
itself (`hearing.policy.shown_on_livestream`), so no caller can put a protected participant,
anyone on the child's side, or a room other than the courtroom on the air.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from hearing.model import Role
from hearing.phases import Phase
from hearing.policy import shown_on_livestream
from hearing.profiles import HearingRules
from hearing.seats import Seat
from media.compositor import TileSource
from media.forwarder import PublishedTrack

MAX_TILES = 12
_ORDER = {role: index for index, role in enumerate(Role)}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A track the public may receive, whose it is, and the name the public may see."""

    track: PublishedTrack
    participant_id: str
    seat: Seat
    name: str


@dataclass(frozen=True, slots=True)
class StreamWords:
    """What the public stream writes, in the court's language: each role's title (role value,
    title), a shared screen's label (`{name}` placeholder) and the two slates. `web/` fills
    it from the pages' catalogue; the defaults are English."""

    roles: tuple[tuple[str, str], ...] = ()
    shared_screen: str = "{name}: shared screen"
    cut: str = "Stream paused by the court"
    not_sitting: str = "The court is not sitting in public"

    def role_title(self, role: Role) -> str:
        return dict(self.roles).get(role.value) or role_title(role)

    def screen_of(self, name: str) -> str:
        return self.shared_screen.replace("{name}", name)


ENGLISH: Final = StreamWords()


def role_title(role: Role) -> str:
    return role.value.replace("_", " ").capitalize()


def public_tiles(
    candidates: Iterable[Candidate],
    rules: HearingRules,
    phase: Phase,
    limit: int = MAX_TILES,
    words: StreamWords = ENGLISH,
) -> list[TileSource]:
    """One tile per person shown (camera and voice), one per shared screen; the bench
    first, in the order of `Role`; at most `limit`; labelled in `words`' language."""
    people: dict[str, dict[str, PublishedTrack]] = {}
    seats: dict[str, Seat] = {}
    names: dict[str, str] = {}
    for c in candidates:
        if c.track.ended or not shown_on_livestream(rules, c.seat, phase):
            continue
        people.setdefault(c.participant_id, {}).setdefault(c.track.label, c.track)
        seats[c.participant_id] = c.seat
        names[c.participant_id] = c.name
    order = sorted(people, key=lambda pid: _ORDER[seats[pid].role])
    tiles: list[TileSource] = []
    for pid in order:
        tracks, title = people[pid], words.role_title(seats[pid].role)
        if "video" in tracks or "audio" in tracks:
            tiles.append(
                TileSource(pid, names[pid], title, tracks.get("video"), tracks.get("audio"))
            )
        if "screen" in tracks:
            tiles.append(
                TileSource(f"{pid}:screen", words.screen_of(names[pid]), title, tracks["screen"])
            )
    return tiles[:limit]
