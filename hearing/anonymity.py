"""Witness anonymity orders: a pseudonym, a screened image, a modulated voice, and who
receives the masked form. Pure data and checks; `hearing.matrix` reads them.

The legal limit (Coroners and Justice Act 2009 s.86(4)): no order may keep the judges from
seeing the witness or hearing the natural voice. The presiding judge, the other judges and
the clerk always receive the natural form; an order naming them is refused
(`masks_the_court`). Observers and the public stream may be named; the prosecutor, the
interpreter, experts and support persons receive the natural form (they are not an
audience an order may name: `docs/anonymity.md` says why).

The voice is shifted by parameters drawn per order (`VoiceKey`); they are kept in the order
for the server's masking alone, and anything a party can read names only their hash.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from hearing.errors import HearingError, InvalidHearing
from hearing.model import Role
from hearing.seats import MediaKind


class MasksTheCourt(HearingError):
    """An anonymity order that would keep the judges or the clerk from the natural form."""

    code = "masks_the_court"


class Screening(StrEnum):
    NONE = "none"
    BLUR = "blur"
    PIXELATE = "pixelate"
    SILHOUETTE = "silhouette"
    HIDDEN = "hidden"


class VoiceForm(StrEnum):
    NATURAL = "natural"
    MODULATED = "modulated"


class Audience(StrEnum):
    """Who an order may name as receiving the masked form."""

    ACCUSED = "accused"
    PARTIES = "parties"
    LAWYERS = "lawyers"
    OBSERVERS = "observers"
    PUBLIC_STREAM = "public_stream"


AUDIENCE_ROLES: Final[Mapping[Audience, frozenset[Role]]] = {
    Audience.ACCUSED: frozenset({Role.ACCUSED}),
    Audience.PARTIES: frozenset({Role.PLAINTIFF, Role.RESPONDENT}),
    Audience.LAWYERS: frozenset({Role.DEFENCE_COUNSEL, Role.PARTY_LAWYER}),
    Audience.OBSERVERS: frozenset({Role.OBSERVER}),
    Audience.PUBLIC_STREAM: frozenset(),
}
THE_COURT: Final = frozenset({Role.PRESIDING_JUDGE, Role.JUDGE, Role.CLERK})
"""Always receive the natural form (s.86(4))."""
_COURT_WORDS: Final = frozenset({"court", "judges", "bench", *(r.value for r in THE_COURT)})
MAX_PSEUDONYM = 40
_PSEUDONYM = re.compile(r"^[\w .'-]{1,40}$", re.UNICODE)


@dataclass(frozen=True, slots=True)
class VoiceKey:
    """The modulation drawn for one order: a pitch ratio (never near 1, up or down) and a
    formant shift (the spectral envelope's ratio, drawn apart from the pitch)."""

    pitch: float
    formant: float

    def __post_init__(self) -> None:
        if not (0.6 <= self.pitch <= 0.84 or 1.2 <= self.pitch <= 1.6):
            raise InvalidHearing("the voice pitch ratio is out of range", field="voice")
        if not 0.8 <= self.formant <= 1.25:
            raise InvalidHearing("the voice formant ratio is out of range", field="voice")

    @classmethod
    def draw(cls) -> VoiceKey:
        rng = secrets.SystemRandom()
        pitch = rng.uniform(0.62, 0.82) if rng.random() < 0.5 else rng.uniform(1.22, 1.55)
        formant = rng.uniform(0.82, 0.95) if pitch > 1 else rng.uniform(1.05, 1.22)
        return cls(round(pitch, 4), round(formant, 4))

    @property
    def digest(self) -> str:
        """What the audit shows of the key: a hash, never the values."""
        return hashlib.sha256(f"{self.pitch:.4f}:{self.formant:.4f}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AnonymityOrder:
    participant_id: str
    pseudonym: str
    screening: Screening
    voice: VoiceForm
    masked_from: frozenset[Audience]
    key: VoiceKey

    def __post_init__(self) -> None:
        if not _PSEUDONYM.match(self.pseudonym) or not self.pseudonym.strip():
            raise InvalidHearing(
                f"a pseudonym is 1-{MAX_PSEUDONYM} letters, digits, spaces or . ' -",
                field="pseudonym",
            )

    def masks(self, role: Role) -> bool:
        """Whether a viewer of this role receives the masked form."""
        return any(role in AUDIENCE_ROLES[a] for a in self.masked_from)

    def masks_kind(self, kind: MediaKind) -> bool:
        """Whether this kind of track has a masked form (a shared screen is screened too)."""
        if kind is MediaKind.AUDIO:
            return self.voice is VoiceForm.MODULATED
        return self.screening is not Screening.NONE

    @property
    def masks_stream(self) -> bool:
        return Audience.PUBLIC_STREAM in self.masked_from

    def audit_details(self) -> dict[str, str]:
        """The order as the audit records it: the pseudonym, never the real name."""
        return {
            "pseudonym": self.pseudonym,
            "screening": self.screening.value,
            "voice": self.voice.value,
            "masked_from": ", ".join(sorted(a.value for a in self.masked_from)),
            "voice_seal": self.key.digest,
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            "pseudonym": self.pseudonym,
            "screening": self.screening.value,
            "voice": self.voice.value,
            "masked_from": sorted(a.value for a in self.masked_from),
            "key": [self.key.pitch, self.key.formant],
        }

    @classmethod
    def restore(cls, participant_id: str, data: Mapping[str, Any]) -> AnonymityOrder:
        pitch, formant = data["key"]
        return cls(
            participant_id,
            str(data["pseudonym"]),
            Screening(data["screening"]),
            VoiceForm(data["voice"]),
            frozenset(Audience(a) for a in data["masked_from"]),
            VoiceKey(float(pitch), float(formant)),
        )


def audience_of(names: Iterable[str]) -> frozenset[Audience]:
    """The audiences named; one naming the court is refused (`masks_the_court`), an unknown
    name is `invalid`."""
    audiences: set[Audience] = set()
    for name in names:
        if name in _COURT_WORDS:
            raise MasksTheCourt(
                "the judges and the clerk always see the witness and hear the natural voice"
                " (Coroners and Justice Act 2009 s.86(4)); an order may not mask the witness"
                " from them",
                field="masked_from",
            )
        try:
            audiences.add(Audience(name))
        except ValueError:
            known = ", ".join(a.value for a in Audience)
            raise InvalidHearing(
                f"unknown audience {name!r}; known: {known}", field="masked_from"
            ) from None
    return frozenset(audiences)


def make_order(
    participant_id: str,
    subject: Role,
    *,
    pseudonym: str,
    screening: str,
    voice: str,
    masked_from: Iterable[str],
    previous: AnonymityOrder | None = None,
) -> AnonymityOrder:
    """Check and build an order (or a variation of `previous`, which keeps its voice key)."""
    audiences = audience_of(masked_from)
    if subject in THE_COURT:
        raise InvalidHearing("an anonymity order protects a witness, not the court", field="role")
    if subject is Role.OBSERVER:
        raise InvalidHearing("an observer sends nothing to mask", field="role")
    try:
        screen, form = Screening(screening), VoiceForm(voice)
    except ValueError:
        raise InvalidHearing("unknown screening or voice form", field="screening") from None
    if not audiences:
        raise InvalidHearing("an order names who receives the masked form", field="masked_from")
    key = previous.key if previous is not None else VoiceKey.draw()
    return AnonymityOrder(participant_id, pseudonym.strip(), screen, form, audiences, key)


def masked_for(
    orders: Mapping[str, AnonymityOrder], viewer: Role, publisher: str, kind: MediaKind
) -> bool:
    """Whether `viewer` receives `publisher`'s `kind` in the masked form (never the court)."""
    order = orders.get(publisher)
    if order is None or viewer in THE_COURT:
        return False
    return order.masks(viewer) and order.masks_kind(kind)


def name_for(order: AnonymityOrder | None, viewer: Role, is_subject: bool, name: str) -> str:
    """The name a viewer sees for a participant: the pseudonym for everyone but the court
    and the witness themself."""
    if order is None or viewer in THE_COURT or is_subject:
        return name
    return order.pseudonym
