"""Signed join tokens: bound to a hearing, a participant, a role, a display name and an expiry;
optionally the language the participant follows the hearing in and an interpreter's pair.

Format: ``v1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(key, "v1." + claims))>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from hearing import Participant, Role
from hearing.errors import HearingError
from hearing.languages import LanguagePair
from security.errors import TokenRefusal, TokenRefused
from security.secret import Secret

_PREFIX = "v1"
MAX_TOKEN_LENGTH = 2048
MAX_TTL_SECONDS = 7 * 24 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_id(token: str) -> str:
    """A token's name in the records: base64url of the first 12 bytes of its SHA-256. It says
    which link was issued without being the link: a record that leaks lets nobody join."""
    return _b64(hashlib.sha256(token.encode()).digest()[:12])


@dataclass(frozen=True, slots=True)
class Grant:
    """What a verified token lets its bearer be."""

    participant: Participant
    issued_at: int
    expires_at: int

    def __post_init__(self) -> None:
        if self.expires_at <= self.issued_at:
            raise ValueError("a grant must expire after it was issued")


class TokenSigner:
    """Issues and verifies join tokens with one HMAC key."""

    def __init__(self, key: Secret, clock: Callable[[], float] = time.time) -> None:
        if len(key.value) < 32:
            raise ValueError("the token key must be at least 32 bytes")
        self._key = key
        self._clock = clock

    def issue(self, participant: Participant, ttl_seconds: int) -> tuple[str, Grant]:
        if not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"ttl_seconds must be between 1 and {MAX_TTL_SECONDS}")
        now = int(self._clock())
        grant = Grant(participant=participant, issued_at=now, expires_at=now + ttl_seconds)
        claims = {
            "h": participant.hearing_id,
            "p": participant.id,
            "r": participant.role.value,
            "n": participant.display_name,
            "iat": grant.issued_at,
            "exp": grant.expires_at,
        }
        if participant.language is not None:
            claims["l"] = participant.language
        if participant.interpreting is not None:
            claims["ip"] = str(participant.interpreting)
        body = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{_PREFIX}.{body}.{self._sign(body)}", grant

    def verify(self, token: str, hearing_id: str | None = None) -> Grant:
        """Return the grant, or raise `TokenRefused` with the reason."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            raise TokenRefused(TokenRefusal.MALFORMED, "the token is not a string of sane length")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _PREFIX:
            raise TokenRefused(TokenRefusal.MALFORMED, "the token is not in the v1 format")
        _, body, signature = parts
        if not hmac.compare_digest(self._sign(body), signature):
            raise TokenRefused(TokenRefusal.FORGED, "the token's signature does not match")
        try:
            claims = json.loads(_unb64(body))
            participant = Participant(
                id=str(claims["p"]),
                hearing_id=str(claims["h"]),
                role=Role(claims["r"]),
                display_name=str(claims["n"]),
                language=None if claims.get("l") is None else str(claims["l"]),
                interpreting=None
                if claims.get("ip") is None
                else LanguagePair.parse(str(claims["ip"])),
            )
            grant = Grant(participant, int(claims["iat"]), int(claims["exp"]))
        except (
            ValueError,
            KeyError,
            TypeError,
            OverflowError,  # an infinite iat or exp (json reads Infinity)
            binascii.Error,
            HearingError,
        ) as exc:
            raise TokenRefused(TokenRefusal.MALFORMED, "the token's claims are invalid") from exc
        if self._clock() >= grant.expires_at:
            raise TokenRefused(TokenRefusal.EXPIRED, "the token has expired")
        if hearing_id is not None and hearing_id != participant.hearing_id:
            raise TokenRefused(TokenRefusal.WRONG_HEARING, "the token is for another hearing")
        return grant

    def _sign(self, body: str) -> str:
        mac = hmac.new(self._key.value, f"{_PREFIX}.{body}".encode(), hashlib.sha256)
        return _b64(mac.digest())
