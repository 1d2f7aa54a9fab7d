"""Logging that a flood of bad input cannot turn into a flood of log lines."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar


class Throttle(logging.Filter):
    """Let one record of each message through per `interval` seconds; the next one that
    passes says how many like it were held back."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = str(record.msg)[:200]
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        if len(self._last) > 1000:  # many distinct messages: start over rather than grow
            self._last.clear()
            self._held.clear()
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} ({held} similar held back)"
        return True


ENGINEIO_LOG = logging.getLogger("signaling.engineio")
"""engine.io's own logger: its warnings and errors (each malformed engine.io packet logs a
stack trace), throttled."""
ENGINEIO_LOG.setLevel(logging.WARNING)
ENGINEIO_LOG.addFilter(Throttle(10.0))


LOG_CONTEXT: ContextVar[tuple[str, str] | None] = ContextVar("ecourt_log_context", default=None)
"""The hearing and participant (pseudonymous ids, never names) a request is handled for; set
by the signalling edge around each request, so every log line of it names them."""


def log_context() -> tuple[str, str] | None:
    return LOG_CONTEXT.get()
