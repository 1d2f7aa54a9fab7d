"""A stall of the server's event loop longer than a second is logged with its duration; a
busy but moving loop is not."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from web.stalls import LoopStallWatch


def stall(seconds: float) -> None:
    """Block the event loop, as a long computation on it would: nothing else runs."""
    time.sleep(seconds)


async def test_a_stall_longer_than_a_second_is_logged_with_its_duration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = LoopStallWatch()
    watch.start()
    try:
        await asyncio.sleep(0.3)
        with caplog.at_level(logging.WARNING, logger="web.stalls"):
            stall(1.6)
            await asyncio.sleep(0.3)
    finally:
        await watch.close()
    stalled = [r for r in caplog.records if "stalled" in r.getMessage()]
    assert len(stalled) == 1 and watch.stalls == 1
    assert 1.0 < watch.longest < 10.0  # 1.5 s and the tick, on a busy machine
    assert f"{watch.longest:.2f} s" in stalled[0].getMessage()


async def test_short_pauses_are_not_stalls(caplog: pytest.LogCaptureFixture) -> None:
    watch = LoopStallWatch()
    watch.start()
    try:
        with caplog.at_level(logging.WARNING, logger="web.stalls"):
            for _ in range(3):
                stall(0.2)
                await asyncio.sleep(0.1)
    finally:
        await watch.close()
    assert watch.stalls == 0
    await watch.close()  # closing twice is fine


def test_a_watch_needs_positive_times() -> None:
    with pytest.raises(ValueError):
        LoopStallWatch(threshold=0)
