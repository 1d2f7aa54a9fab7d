"""Every request a client may send, validated at the door into a typed value."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from hearing import HearingError
from hearing.interpretation import MAX_WHISPER, Mode
from hearing.languages import MAX_TAG, language_tag
from hearing.phases import Phase
from hearing.rooms import Room, RoomKind
from signaling.errors import BadRequest

MAX_MESSAGE_BYTES = 64 * 1024
MAX_SDP = 32 * 1024
ALL_WAITING = "all_waiting"
"""`lobby_message`'s `to` for everyone waiting in the lobby (no participant id looks like it)."""
MAX_LOBBY_TEXT = 500
"""Characters of one message to the lobby (after NFC normalisation)."""
MAX_LOBBY_LINES = 20
_NOT_PLAIN = frozenset({"Cc", "Cs", "Co", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _object(payload: Any, allowed: set[str]) -> dict[str, Any]:
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise BadRequest("the payload must be a JSON object")
    if len(json.dumps(payload, default=str)) > MAX_MESSAGE_BYTES:
        raise BadRequest(f"the payload is larger than {MAX_MESSAGE_BYTES} bytes")
    unknown = set(payload) - allowed
    if unknown:
        name = sorted(unknown)[0]
        raise BadRequest(f"unknown field {name!r}", field=name)
    return payload


def _str(payload: dict[str, Any], name: str, max_len: int) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{name} must be a non-empty string", field=name)
    if len(value) > max_len:
        raise BadRequest(f"{name} is longer than {max_len} characters", field=name)
    return value


def _literal(payload: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = payload.get(name)
    if value not in allowed:
        raise BadRequest(f"{name} must be one of {', '.join(allowed)}", field=name)
    return str(value)


@dataclass(frozen=True, slots=True)
class ParticipantRequest:
    """`admit` and `deny`."""

    participant_id: str

    @classmethod
    def parse(cls, payload: Any) -> ParticipantRequest:
        body = _object(payload, {"participant_id"})
        return cls(_str(body, "participant_id", 64))


@dataclass(frozen=True, slots=True)
class CallWitnessRequest:
    """`call_witness`: `audio_only` confirms calling a witness whose camera does not reach
    the court (they testify by audio only)."""

    participant_id: str
    audio_only: bool = False

    @classmethod
    def parse(cls, payload: Any) -> CallWitnessRequest:
        body = _object(payload, {"participant_id", "audio_only"})
        audio_only = body.get("audio_only", False)
        if not isinstance(audio_only, bool):
            raise BadRequest("audio_only must be true or false", field="audio_only")
        return cls(_str(body, "participant_id", 64), audio_only)


@dataclass(frozen=True, slots=True)
class Publish:
    sdp: str
    screen_mid: str | None = None
    channel: tuple[str, str] | None = None
    """(mid, language): an interpreter's channel."""

    @classmethod
    def parse(cls, payload: Any) -> Publish:
        body = _object(payload, {"sdp", "type", "screen_mid", "channel_mid", "channel_language"})
        _literal(body, "type", ("offer",))
        screen_mid = body.get("screen_mid")
        if screen_mid is not None:
            screen_mid = _str(body, "screen_mid", 32)
        channel = None
        if "channel_mid" in body or "channel_language" in body:
            language = _tag(body, "channel_language")
            channel = (_str(body, "channel_mid", 32), language)
        return cls(_str(body, "sdp", MAX_SDP), screen_mid, channel)


def _tag(body: dict[str, Any], name: str) -> str:
    try:
        return language_tag(_str(body, name, MAX_TAG), name)
    except HearingError as exc:
        raise BadRequest(exc.message, field=name) from None


@dataclass(frozen=True, slots=True)
class LanguageRequest:
    """`language`: the language a participant follows the hearing in."""

    language: str

    @classmethod
    def parse(cls, payload: Any) -> LanguageRequest:
        return cls(_tag(_object(payload, {"language"}), "language"))


@dataclass(frozen=True, slots=True)
class InterpretationRequest:
    """`interpretation`: the court's order for one interpreter; what is left out stays."""

    participant_id: str
    mode: Mode | None
    on_air: bool | None
    whisper_to: frozenset[str] | None

    @classmethod
    def parse(cls, payload: Any) -> InterpretationRequest:
        body = _object(payload, {"participant_id", "mode", "on_air", "whisper_to"})
        mode = body.get("mode")
        if mode is not None:
            mode = Mode(_literal(body, "mode", tuple(m.value for m in Mode)))
        on_air = body.get("on_air")
        if on_air is not None and not isinstance(on_air, bool):
            raise BadRequest("on_air must be true or false", field="on_air")
        whisper = body.get("whisper_to")
        if whisper is not None:
            if not isinstance(whisper, list) or len(whisper) > MAX_WHISPER:
                raise BadRequest(
                    f"whisper_to is a list of at most {MAX_WHISPER} participant ids",
                    field="whisper_to",
                )
            if not all(isinstance(p, str) and 0 < len(p) <= 64 for p in whisper):
                raise BadRequest("whisper_to holds participant ids", field="whisper_to")
            whisper = frozenset(whisper)
        return cls(_str(body, "participant_id", 64), mode, on_air, whisper)


@dataclass(frozen=True, slots=True)
class HandoverRequest:
    """`interpretation_handover`: `to` takes over from `from` (two interpreters of a pair)."""

    from_id: str
    to_id: str

    @classmethod
    def parse(cls, payload: Any) -> HandoverRequest:
        body = _object(payload, {"from", "to"})
        return cls(_str(body, "from", 64), _str(body, "to", 64))


@dataclass(frozen=True, slots=True)
class SubscribeAnswer:
    sdp: str
    version: int

    @classmethod
    def parse(cls, payload: Any) -> SubscribeAnswer:
        body = _object(payload, {"sdp", "type", "version"})
        _literal(body, "type", ("answer",))
        version = body.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise BadRequest("version must be a positive integer", field="version")
        return cls(_str(body, "sdp", MAX_SDP), version)


@dataclass(frozen=True, slots=True)
class Mute:
    kind: str
    muted: bool

    @classmethod
    def parse(cls, payload: Any) -> Mute:
        body = _object(payload, {"kind", "muted"})
        kind = _literal(body, "kind", ("audio", "video"))
        muted = body.get("muted")
        if not isinstance(muted, bool):
            raise BadRequest("muted must be true or false", field="muted")
        return cls(kind, muted)


@dataclass(frozen=True, slots=True)
class Empty:
    """`join` and `leave` carry nothing: an empty object (or nothing at all)."""

    @classmethod
    def parse(cls, payload: Any) -> Empty:
        _object(payload, set())
        return cls()


@dataclass(frozen=True, slots=True)
class PhaseRequest:
    phase: Phase

    @classmethod
    def parse(cls, payload: Any) -> PhaseRequest:
        body = _object(payload, {"phase"})
        return cls(Phase(_literal(body, "phase", tuple(p.value for p in Phase))))


@dataclass(frozen=True, slots=True)
class MoveRequest:
    participant_id: str
    room: Room

    @classmethod
    def parse(cls, payload: Any) -> MoveRequest:
        body = _object(payload, {"participant_id", "room"})
        participant_id = _str(body, "participant_id", 64)
        room = _object(body.get("room"), {"kind", "id"})
        kind = RoomKind(_literal(room, "kind", tuple(k.value for k in RoomKind)))
        room_id = room.get("id", kind.value)
        if not isinstance(room_id, str):
            raise BadRequest("room.id must be a string", field="room")
        try:
            return cls(participant_id, Room(kind, room_id))
        except HearingError as exc:
            raise BadRequest(exc.message, field="room") from None


@dataclass(frozen=True, slots=True)
class FloorRequest:
    participant_id: str
    granted: bool

    @classmethod
    def parse(cls, payload: Any) -> FloorRequest:
        body = _object(payload, {"participant_id", "granted"})
        granted = body.get("granted")
        if not isinstance(granted, bool):
            raise BadRequest("granted must be true or false", field="granted")
        return cls(_str(body, "participant_id", 64), granted)


@dataclass(frozen=True, slots=True)
class ExhibitDecisionRequest:
    exhibit_id: str
    admitted: bool

    @classmethod
    def parse(cls, payload: Any) -> ExhibitDecisionRequest:
        body = _object(payload, {"exhibit_id", "decision"})
        decision = _literal(body, "decision", ("admit", "refuse"))
        return cls(_str(body, "exhibit_id", 32), decision == "admit")


@dataclass(frozen=True, slots=True)
class PresentRequest:
    exhibit_id: str

    @classmethod
    def parse(cls, payload: Any) -> PresentRequest:
        return cls(_str(_object(payload, {"exhibit_id"}), "exhibit_id", 32))


@dataclass(frozen=True, slots=True)
class ExhibitPageRequest:
    """A page turn, a zoom, or the pointer moved (x and y as fractions of the page)."""

    page: int
    zoom: float
    pointer: tuple[float, float] | None

    @classmethod
    def parse(cls, payload: Any) -> ExhibitPageRequest:
        body = _object(payload, {"page", "zoom", "pointer"})
        page = body.get("page")
        if not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= 100_000:
            raise BadRequest("page must be an integer from 1", field="page")
        zoom = body.get("zoom", 1.0)
        if not isinstance(zoom, int | float) or isinstance(zoom, bool) or not 0.25 <= zoom <= 8:
            raise BadRequest("zoom must be a number from 0.25 to 8", field="zoom")
        pointer = body.get("pointer")
        if pointer is not None:
            if (
                not isinstance(pointer, list)
                or len(pointer) != 2
                or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1
                    for v in pointer
                )
            ):
                raise BadRequest("pointer is null or [x, y] with 0 <= x, y <= 1", field="pointer")
            return cls(page, float(zoom), (float(pointer[0]), float(pointer[1])))
        return cls(page, float(zoom), None)


@dataclass(frozen=True, slots=True)
class HandRequest:
    raised: bool

    @classmethod
    def parse(cls, payload: Any) -> HandRequest:
        body = _object(payload, {"raised"})
        raised = body.get("raised")
        if not isinstance(raised, bool):
            raise BadRequest("raised must be true or false", field="raised")
        return cls(raised)


@dataclass(frozen=True, slots=True)
class RecordingOrder:
    """`recording`: `{"action": "start" | "pause"}`."""

    start: bool

    @classmethod
    def parse(cls, payload: Any) -> RecordingOrder:
        action = _object(payload, {"action"}).get("action")
        if action not in ("start", "pause"):
            raise BadRequest("action must be start or pause", field="action")
        return cls(action == "start")


@dataclass(frozen=True, slots=True)
class MuteOrder:
    """`force_mute` and `ask_unmute`."""

    participant_id: str
    kind: str

    @classmethod
    def parse(cls, payload: Any) -> MuteOrder:
        body = _object(payload, {"participant_id", "kind"})
        kind = _literal(body, "kind", ("audio", "video"))
        return cls(_str(body, "participant_id", 64), kind)


@dataclass(frozen=True, slots=True)
class LivestreamOrder:
    """`livestream`: `{"action": "open" | "close" | "cut"}`."""

    action: str

    @classmethod
    def parse(cls, payload: Any) -> LivestreamOrder:
        action = _object(payload, {"action"}).get("action")
        if action not in ("open", "close", "cut"):
            raise BadRequest("action must be open, close or cut", field="action")
        return cls(str(action))


def _plain_text(payload: dict[str, Any], name: str) -> str:
    """One message of plain text: NFC, trimmed, at most MAX_LOBBY_TEXT characters and
    MAX_LOBBY_LINES lines; no control character but the line break, no bidirectional override
    (text that would show other than it reads), no private-use or lone surrogate."""
    value = payload.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string", field=name)
    if len(value) > 4 * MAX_LOBBY_TEXT:
        raise BadRequest(f"{name} is longer than {MAX_LOBBY_TEXT} characters", field=name)
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    if not text:
        raise BadRequest(f"{name} must not be empty", field=name)
    if len(text) > MAX_LOBBY_TEXT:
        raise BadRequest(f"{name} is longer than {MAX_LOBBY_TEXT} characters", field=name)
    if text.count("\n") >= MAX_LOBBY_LINES:
        raise BadRequest(f"{name} has more than {MAX_LOBBY_LINES} lines", field=name)
    for char in text:
        odd = char != "\n" and unicodedata.category(char) in _NOT_PLAIN
        if odd or char in _BIDI_CONTROLS:
            raise BadRequest(f"{name} must be plain text (U+{ord(char):04X})", field=name)
    return text


@dataclass(frozen=True, slots=True)
class LobbyMessage:
    """`lobby_message`: `{"to": participant_id | "all_waiting", "text": str}`."""

    to: str
    text: str

    @classmethod
    def parse(cls, payload: Any) -> LobbyMessage:
        body = _object(payload, {"to", "text"})
        return cls(_str(body, "to", 64), _plain_text(body, "text"))

    @property
    def to_all(self) -> bool:
        return self.to == ALL_WAITING


@dataclass(frozen=True, slots=True)
class AnonymityRequest:
    """`anonymity_order`: `{"participant_id", "pseudonym", "screening", "voice",
    "masked_from": [audience, ...]}` (makes or varies); `discharge_anonymity` takes the
    participant id alone."""

    participant_id: str
    pseudonym: str
    screening: str
    voice: str
    masked_from: tuple[str, ...]

    @classmethod
    def parse(cls, payload: Any) -> AnonymityRequest:
        fields = {"participant_id", "pseudonym", "screening", "voice", "masked_from"}
        body = _object(payload, fields)
        screening = _literal(
            body, "screening", ("none", "blur", "pixelate", "silhouette", "hidden")
        )
        voice = _literal(body, "voice", ("natural", "modulated"))
        names = body.get("masked_from")
        if not isinstance(names, list) or not names or len(names) > 8:
            raise BadRequest("masked_from must be a list of 1-8 audiences", field="masked_from")
        if not all(isinstance(n, str) and 0 < len(n) <= 40 for n in names):
            raise BadRequest("masked_from must name audiences", field="masked_from")
        return cls(
            _str(body, "participant_id", 64),
            _str(body, "pseudonym", 40),
            screening,
            voice,
            tuple(names),
        )
