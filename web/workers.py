"""`ecourt serve --workers N`: N node processes on one machine, one per core, sharing Redis.

Python forwards on one core per process, so one machine uses all of its cores by running
several nodes. Worker i listens on PORT + i and is node `<node id>-i`; placement spreads
hearings over them, and a client that reaches the wrong one is sent to the right one. The
parent passes SIGTERM and SIGINT on (each worker drains) and exits when they have.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from types import FrameType

from web.settings import Settings, SettingsError

STOP_GRACE = 20.0


def default_workers(settings: Settings) -> int:
    """One per core when Redis is configured (they need it to share), else one."""
    return (os.cpu_count() or 1) if settings.redis_url else 1


def worker_environment(
    settings: Settings, index: int, env: Mapping[str, str], shared_keys: Mapping[str, str]
) -> dict[str, str]:
    child = dict(env) | dict(shared_keys)
    child["ECOURT_HOST"] = settings.host
    child["ECOURT_PORT"] = str(settings.port + index)
    child["ECOURT_NODE_ID"] = f"{settings.node_id}-{index}"
    return child


def shared_keys(env: Mapping[str, str]) -> dict[str, str]:
    """The API and token keys every worker must share; made here if the operator set none
    (each worker would otherwise make its own, and a link from one fail on another)."""
    return {
        "ECOURT_API_KEY": env.get("ECOURT_API_KEY") or secrets.token_urlsafe(24),
        "ECOURT_TOKEN_KEY": env.get("ECOURT_TOKEN_KEY") or secrets.token_hex(32),
    }


def run_workers(settings: Settings, count: int, demo: bool) -> int:
    if settings.redis_url is None:
        raise SettingsError("--workers needs ECOURT_REDIS_URL: the workers share hearings there")
    if settings.public_url:
        raise SettingsError(
            "--workers gives each worker its own port; leave ECOURT_PUBLIC_URL unset"
        )
    if settings.port == 0 or settings.port + count - 1 > 65535:
        raise SettingsError("--workers needs a fixed --port with room for one port per worker")
    keys = shared_keys(os.environ) | {"ECOURT_TOKEN_KEY": settings.token_key.value.decode()}
    if not os.environ.get("ECOURT_API_KEY"):
        print(f"ecourt: API key {keys['ECOURT_API_KEY']}  (generated; set ECOURT_API_KEY)")
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "web.cli", "serve", "--workers", "1"]
            + (["--demo"] if demo and i == 0 else []),
            env=worker_environment(settings, i, os.environ, keys),
        )
        for i in range(count)
    ]

    def pass_on(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, pass_on)
    signal.signal(signal.SIGINT, pass_on)
    print(
        f"ecourt: {count} workers on ports {settings.port}-{settings.port + count - 1}", flush=True
    )
    codes = []
    for child in children:
        codes.append(_wait(child))
    return max(codes, default=0)


def _wait(child: subprocess.Popen[bytes]) -> int:
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            deadline = time.monotonic() + STOP_GRACE
            while child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
