"""The signature of a webhook delivery: HMAC-SHA256 over the timestamp and the body, as Stripe
and GitHub sign theirs.

The header is ``Ecourt-Signature: t=<unix seconds>,v1=<64 hex digits>``, where the digits are
``HMAC-SHA256(secret, "<t>." + body)``. A receiver recomputes it over the raw body it received,
compares in constant time and refuses a timestamp outside its tolerance (a replay).
`docs/webhooks.md` has the same check in a dozen lines for a receiver without ecourt.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from security.errors import SecurityError
from security.secret import Secret

HEADER: Final = "Ecourt-Signature"
SCHEME: Final = "v1"
DEFAULT_TOLERANCE: Final = 300
"""Seconds a receiver accepts between the signature's timestamp and its own clock."""
MAX_HEADER: Final = 512


class WebhookSignatureInvalid(SecurityError):
    code = "webhook_signature_invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _digest(secret: Secret, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.value, signed, hashlib.sha256).hexdigest()


def sign_delivery(secret: Secret, timestamp: int, body: bytes) -> str:
    """The value of the `Ecourt-Signature` header for `body` sent at `timestamp`."""
    return f"t={timestamp},{SCHEME}={_digest(secret, timestamp, body)}"


def verify_delivery(
    secret: Secret,
    header: str,
    body: bytes,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> int:
    """The signed timestamp, if `header` signs `body` with `secret` within `tolerance` seconds
    of `now`; else `WebhookSignatureInvalid`, saying why."""
    if len(header) > MAX_HEADER:
        raise WebhookSignatureInvalid("the signature header is too long")
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise WebhookSignatureInvalid("the signature header is not t=...,v1=...")
        fields.setdefault(name, []).append(value)
    stamps = fields.get("t", [])
    if len(stamps) != 1 or not stamps[0].isdigit() or len(stamps[0]) > 12:
        raise WebhookSignatureInvalid("the signature header has no single timestamp t")
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        raise WebhookSignatureInvalid("the signature's timestamp is outside the tolerance")
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, v) for v in fields.get(SCHEME, [])):
        raise WebhookSignatureInvalid("no v1 signature matches the body and the secret")
    return timestamp
