"""When a leg is dead: its transport failed or closed, or its other end went silent."""

from __future__ import annotations

LEG_FAILED_STATES = frozenset({"failed", "closed"})
CONSENT_SECONDS = 30.0
"""RFC 7675: consent expires 30 s after the last authenticated check from the other end."""


def leg_failure(state: str, heard_at: float, now: float, silence: float) -> str | None:
    """Why a leg is dead, or None: its connection failed or closed (`transport_failed`,
    `transport_closed`), or, once connected, nothing came from the other end for `silence`
    seconds (`silent`: consent expired). `heard_at` and `now` are `time.monotonic()` values."""
    if state in LEG_FAILED_STATES:
        return f"transport_{state}"
    if state == "connected" and now - heard_at > silence:
        return "silent"
    return None
