"""Logging that cannot flood: one line per interval per logger, with a count of what was held."""

from __future__ import annotations

import logging
import time


class RateLimitedLog:
    def __init__(self, logger: logging.Logger, interval: float) -> None:
        self._logger = logger
        self._interval = interval
        self._last = -interval
        self._suppressed = 0

    def _due(self) -> bool:
        now = time.monotonic()
        if now - self._last < self._interval:
            self._suppressed += 1
            return False
        self._last = now
        return True

    def exception(self, message: str, *args: object) -> None:
        if self._due():
            held, self._suppressed = self._suppressed, 0
            self._logger.exception(message + " (%d similar held back)", *args, held)

    def warning(self, message: str, *args: object) -> None:
        if self._due():
            held, self._suppressed = self._suppressed, 0
            self._logger.warning(message + " (%d similar held back)", *args, held)
