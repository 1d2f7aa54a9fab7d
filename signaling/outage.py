"""Whether the stores this node shares with others (Redis) answer, as seen from here.

Every call into a store that fails with a store error (`STORE_ERRORS`) is reported to the
node's `StoreWatch`; so is every heartbeat. While the last failure is recent, joins and REST
calls are refused at once (`service_unavailable`, with a retry time) instead of each waiting
for its own time-out; running hearings carry on. After the store comes back, this node takes
no hearing from another for one lease (`signaling/lease.py`), so that every holder has taken
its lease back first (a Redis pause lets leases lapse; a restart without persistence loses
them).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.exceptions import RedisError

from signaling.lease import LEASE_SECONDS, RENEW_SECONDS

STORE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
RETRY_AFTER = 2.0
"""Seconds a refused client is asked to wait before trying again."""
DOWN_FOR = 2.0
"""A store failure this recent means the store is away: refuse at once."""


class StoreWatch:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failed_at = float("-inf")
        self._back_at = float("-inf")
        self.failures = 0

    def failed(self) -> None:
        self.failures += 1
        self._failed_at = self._clock()

    def answered(self) -> None:
        """A call succeeded; if the store was away, it is back from now."""
        if self._failed_at > self._back_at:
            self._back_at = self._clock()

    def down(self) -> bool:
        return self._clock() - self._failed_at < DOWN_FOR and self._failed_at > self._back_at

    def settling(self) -> bool:
        """Back for less than one lease after an outage: holders are taking theirs back."""
        return self._clock() - self._back_at < LEASE_SECONDS + RENEW_SECONDS

    def retry_after(self) -> float:
        return RETRY_AFTER
