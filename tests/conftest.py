"""Shared fixtures: a real ecourt server on 127.0.0.1, REST helpers, and the media guard.

Tests marked `media` carry WebRTC traffic. They run only inside the loopback-only network
namespace that `make test` creates (ECOURT_IN_NETNS=1), so that ICE never uses the machine's
own network address.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from security import Secret
from signaling.client import HearingClient
from web.app import create_app
from web.cli import new_event_loop
from web.settings import Settings

API_KEY = "test-api-key-0123456789"


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async test runs on the loop the server runs on (`ECOURT_EVENT_LOOP`, uvloop by
    default), so the tests exercise what ships."""
    kind = os.environ.get("ECOURT_EVENT_LOOP") or "uvloop"
    return {kind: functools.partial(new_event_loop, kind)}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("ECOURT_IN_NETNS") == "1":
        return
    skip = pytest.mark.skip(reason="media tests run only inside the loopback namespace (make test)")
    for item in items:
        if "media" in item.keywords:
            item.add_marker(skip)


@dataclass
class RunningServer:
    base_url: str
    app: web.Application
    session: aiohttp.ClientSession

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_KEY}"}

    async def create_hearing(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "type": "trial",
            "case_number": "01/2026/DS-ST",
            "title": "Nguyen v. Tran, contract dispute",
            "scheduled_at": "2026-11-29T09:00:00+07:00",
            "public": False,
            "profile": "default",
        } | overrides
        async with self.session.post(
            f"{self.base_url}/api/hearings", json=body, headers=self.headers
        ) as response:
            assert response.status == 201, await response.text()
            result: dict[str, Any] = await response.json()
            return result

    async def issue_token(
        self,
        hearing_id: str,
        role: str,
        display_name: str,
        ttl_seconds: int = 600,
        **extra: Any,
    ) -> dict[str, Any]:
        """`extra`: more fields of the token request (`language`, `interpreting`)."""
        body = {"role": role, "display_name": display_name, "ttl_seconds": ttl_seconds} | extra
        async with self.session.post(
            f"{self.base_url}/api/hearings/{hearing_id}/tokens",
            json=body,
            headers=self.headers,
        ) as response:
            assert response.status == 201, await response.text()
            result: dict[str, Any] = await response.json()
            return result


def test_settings(**overrides: Any) -> Settings:
    overrides.setdefault("port", 0)
    return Settings(
        host="127.0.0.1",
        api_key=Secret(API_KEY.encode()),
        api_key_generated=False,
        token_key=Secret(b"k" * 32),
        **overrides,
    )


test_settings.__test__ = False  # type: ignore[attr-defined]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def running_server(data_dir: Path, **overrides: Any) -> AsyncIterator[RunningServer]:
    """The real app on 127.0.0.1 and a free port, in the test's event loop."""
    port = free_port()
    overrides.setdefault("keyring_path", data_dir.with_name(f"{data_dir.name}-keyring.json"))
    app = create_app(test_settings(port=port, data_dir=data_dir, **overrides))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        async with aiohttp.ClientSession() as session:
            yield RunningServer(f"http://127.0.0.1:{port}", app, session)
    finally:
        await runner.cleanup()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path / "data") as running:
        yield running


@pytest.fixture
async def clients() -> AsyncIterator[list[HearingClient]]:
    """Hearing clients a test makes; all closed at the end, whatever happened."""
    made: list[HearingClient] = []
    yield made
    await asyncio.gather(*(c.close() for c in made))
