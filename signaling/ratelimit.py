"""Token buckets for what one connection may send: a steady rate with a burst allowance."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("a rate needs a positive refill and a burst of at least one")


MESSAGES = Rate(per_second=20.0, burst=50)
"""Any signalling message."""
RENEGOTIATIONS = Rate(per_second=5 / 60, burst=5)
"""Publish offers (new publish legs, ICE restarts): at most 5 a minute."""
LOBBY_MESSAGES = Rate(per_second=0.5, burst=10)
"""Messages to those waiting in the lobby: 10 at once, then one every 2 seconds."""
REFUSALS = Rate(per_second=2.0, burst=50)
"""How many refused messages a connection may send before it is closed as abusive: 50 at
once, then 2 a second. A client that keeps sending faster than the message rate runs out."""


class TokenBucket:
    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._clock = clock
        self._tokens = float(rate.burst)
        self._stamp = clock()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._tokens = min(float(self._rate.burst), self._tokens + elapsed * self._rate.per_second)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class ConnectionLimits:
    """The buckets of one connection. Refused messages spend from a third bucket; when that
    is empty the sender is abusing the connection and is closed."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._messages = TokenBucket(MESSAGES, clock)
        self._renegotiations = TokenBucket(RENEGOTIATIONS, clock)
        self._lobby_messages = TokenBucket(LOBBY_MESSAGES, clock)
        self._refusals = TokenBucket(REFUSALS, clock)
        self.abusive = False

    def allow(self, event: str) -> bool:
        renegotiates = event in ("publish", "restart_media")
        allowed = self._messages.take() and (not renegotiates or self._renegotiations.take())
        allowed = allowed and (event != "lobby_message" or self._lobby_messages.take())
        if not allowed and not self._refusals.take():
            self.abusive = True
        return allowed
