"""The fault suite's servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from security import Secret
from tests.conftest import RunningServer, running_server
from tests.metrics_support import METRICS_KEY

SERVER_SILENCE = 30.0
"""The server's consent period, as deployed: a client healing itself must not wait for it."""


@pytest.fixture
async def heal_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server with the deployed consent period and no recess of its own."""
    async with running_server(
        tmp_path / "data",
        leg_silence=SERVER_SILENCE,
        due_process_grace=3600.0,
        metrics_key=Secret(METRICS_KEY.encode()),
    ) as running:
        yield running
