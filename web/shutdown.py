"""Stopping a node always finishes (`docs/cluster.md#shutdown`).

The first SIGTERM (or SIGINT) drains: aiohttp stops, the signalling server hands every
hearing over (`SignalingServer.close`, itself bounded by `DRAIN_DEADLINE`), the stores close.
Whatever Redis does, the process is gone STOP_DEADLINE seconds after that first signal: a
watchdog thread closes every hearing's audit chain and exits. A second SIGTERM exits at once,
after closing the audit chains the same way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading

from aiohttp import web
from aiohttp.web_runner import GracefulExit

from signaling.server import SignalingServer

log = logging.getLogger(__name__)
STOP_DEADLINE = 10.0
"""Seconds from the first SIGTERM to the end of the process, at most."""
FORCED_EXIT = 3
"""The exit code of a stop that the deadline or a second signal cut short."""


class Shutdown:
    def __init__(self, signaling: SignalingServer, deadline: float = STOP_DEADLINE) -> None:
        self._signaling = signaling
        self._deadline = deadline
        self._stopping = False
        self._lock = threading.Lock()
        self._watchdog: threading.Timer | None = None

    async def install(self, _app: web.Application) -> None:
        """An `on_startup` hook: SIGTERM and SIGINT come here (run with handle_signals off)."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.signalled)

    def signalled(self) -> None:
        if self._stopping:
            log.warning("a second stop signal: closing the audit chains and exiting now")
            self.exit_now()
        self._stopping = True
        log.info("stopping: handing hearings over (at most %.0f s)", self._deadline)
        self._watchdog = threading.Timer(self._deadline, self._overdue)
        self._watchdog.daemon = True
        self._watchdog.start()
        raise GracefulExit()  # aiohttp's own way out of run_app: cleanup runs, then return

    def _overdue(self) -> None:
        log.error("the stop took longer than %.0f s: exiting", self._deadline)
        self.exit_now()

    def exit_now(self) -> None:
        """Close every audit chain still open here (thread-safe: the log has its own lock),
        then end the process without waiting for anything else."""
        with self._lock:
            try:
                self._signaling.close_audit_now()
            except Exception:
                log.exception("closing the audit chains failed")
            logging.shutdown()
            os._exit(FORCED_EXIT)

    def cancel(self) -> None:
        """The process is ending on its own, in time."""
        if self._watchdog is not None:
            self._watchdog.cancel()
