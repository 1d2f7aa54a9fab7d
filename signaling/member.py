"""A participant's connection to a hearing in session, how the session talks to it, and how
participants and hearings are described on the wire."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hearing import MODERATORS, Hearing, Participant
from hearing.anonymity import THE_COURT, AnonymityOrder, name_for
from hearing.privacy import shown_name
from hearing.seats import Seat
from media import PublishedTrack, PublishPeer, SubscribePeer
from media.subscribe import SubscribeOffer
from signaling.courtroom import Courtroom


class Records(Protocol):
    """Writes one action or refusal to the hearing's audit log (`HearingSession.record`)."""

    def record(
        self,
        actor: str,
        action: str,
        *,
        target: str | None = None,
        result: str = "ok",
        details: Mapping[str, object] | None = None,
    ) -> None: ...


class Outbox(Protocol):
    """How a session talks to connections; the socket.io server implements it."""

    async def send(self, sid: str, event: str, payload: dict[str, Any]) -> None: ...

    async def disconnect(self, sid: str) -> None: ...


@dataclass(eq=False)
class Member:
    participant: Participant
    sid: str
    joined: bool = False
    muted: dict[str, bool] = field(default_factory=lambda: {"audio": False, "video": False})
    publish: PublishPeer | None = None
    subscribe: SubscribePeer | None = None
    subscribe_legs: int = 1
    """Which subscribe leg this is; a new one (after `restart_media`) comes with a new number."""
    subscribe_lost: str | None = None
    """Why the server closed this member's subscribe leg (`media_lost`); while set, no new leg
    is built until the client asks for one (`restart_media`)."""
    publish_lost: str | None = None
    """Why the server closed this member's publish leg, until a new one is accepted."""
    health: dict[str, str] = field(default_factory=dict)
    """How their camera and microphone reach the court (`hearing.media_health`), by kind."""
    round_trip: float | None = None
    """Seconds of round trip their connection has held lately, the slower of their two legs
    (`media.round_trips`); None while unmeasured."""
    negotiation: asyncio.Lock = field(default_factory=asyncio.Lock)
    resume: str | None = None
    """The page's own key for this connection: the same page reconnecting shows it again."""

    @property
    def tracks(self) -> list[PublishedTrack]:
        return [t for t in self.publish.tracks if not t.ended] if self.publish else []


def participant_json(p: Participant) -> dict[str, Any]:
    return {"id": p.id, "role": p.role.value, "display_name": p.display_name}


def hearing_json(h: Hearing) -> dict[str, Any]:
    return {
        "id": h.id,
        "type": h.type.value,
        "case_number": h.case_number,
        "title": h.title,
        "scheduled_at": h.scheduled_at.isoformat(),
        "public": h.public,
        "language": h.language,
        "languages": list(h.languages),
    }


def offer_json(
    offer: SubscribeOffer,
    viewer: Member,
    members: Mapping[str, Member],
    orders: Mapping[str, AnonymityOrder] | None = None,
) -> dict[str, Any]:
    """`subscribe_offer` for `viewer`: each track labelled with its publisher, a protected
    witness's name shown only to those cleared, an anonymous witness's pseudonym to all but
    the court, and its `form` (`natural` or `masked`); a new `leg` number means a new
    connection."""
    tracks = []
    for forwarded in offer.tracks:
        owner = members.get(forwarded.track.source)
        if owner is not None:
            name = shown_name(owner.participant, viewer.participant)
            order = (orders or {}).get(owner.participant.id)
            tracks.append(
                {
                    "mid": forwarded.mid,
                    "kind": forwarded.track.label,
                    "participant_id": owner.participant.id,
                    "role": owner.participant.role.value,
                    "display_name": name_for(order, viewer.participant.role, owner is viewer, name),
                    "form": forwarded.track.form,
                }
            )
    return {
        "sdp": offer.sdp,
        "type": "offer",
        "version": offer.version,
        "leg": viewer.subscribe_legs,
        "tracks": tracks,
    }


def roster_entry(member: Member, seat: Seat | None, court: Courtroom) -> dict[str, Any]:
    entry = participant_json(member.participant) | {
        "muted": dict(member.muted),
        "publishing": sorted({t.label for t in member.tracks}),
        "health": dict(member.health),
    }
    return entry if seat is None else entry | court.roster_fields(seat)


def roster_for(entry: dict[str, Any], member: Member, viewer: Member) -> dict[str, Any]:
    """`member`'s roster entry as `viewer` may see it: a protected witness's name only if
    cleared; the media health only to the bench (judge, clerk) and to the person it is about."""
    shown = entry | {"display_name": shown_name(member.participant, viewer.participant)}
    if viewer.participant.role not in MODERATORS and viewer is not member:
        shown.pop("health", None)
    order = entry.get("anonymity")
    if order is not None and viewer.participant.role not in THE_COURT and viewer is not member:
        shown["display_name"] = order["pseudonym"]
        shown["anonymity"] = {"pseudonym": order["pseudonym"]}
    return shown
