"""`/metrics` scraped after a short real hearing (aiortc clients), and the client's own stats."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from security import Secret
from signaling.client import HearingClient
from tests.conftest import RunningServer, running_server
from tests.metrics_support import METRICS_KEY, scrape
from tests.session_support import decodes_video_from, in_session_publishing

pytestmark = pytest.mark.media


@pytest.fixture
async def metered(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path / "data", metrics_key=Secret(METRICS_KEY.encode())) as s:
        yield s


def counted(stats: list[dict[str, object]], kind: str, counter: str) -> int:
    return sum(int(str(entry[counter])) for entry in stats if entry["type"] == kind)


async def test_a_short_hearing_shows_forwarded_packets_and_join_times_in_the_metrics(
    metered: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await metered.create_hearing()
    tokens = [
        (await metered.issue_token(hearing["id"], role, name))["token"]
        for role, name in (("presiding_judge", "Judge Le"), ("plaintiff", "Ms Nguyen"))
    ]
    judge, party = await in_session_publishing(metered.base_url, tokens, clients)
    for viewer, publisher in ((judge, party), (party, judge)):
        await decodes_video_from(viewer, publisher, 5)

    stats = await party.connection_stats()
    json.dumps(stats)  # ready for a tool to print
    assert counted(stats["publish"], "outbound-rtp", "packetsSent") > 0
    received = counted(stats["subscribe"], "inbound-rtp", "packetsReceived")
    assert received > 0

    samples = await scrape(metered)
    assert samples["ecourt_media_forwarded_packets_total"] >= received
    assert samples["ecourt_media_forwarded_bytes_total"] > 0
    assert samples["ecourt_media_received_packets_total"] > 0
    assert samples["ecourt_media_keyframe_waits_total"] == 2  # one video sink per viewer
    assert samples["ecourt_join_to_first_frame_seconds_count"] == 2
    assert samples['ecourt_join_to_first_frame_seconds_bucket{le="+Inf"}'] == 2
    assert 0 < samples["ecourt_join_to_first_frame_seconds_sum"] < 2 * 30
    assert samples['ecourt_signaling_request_seconds_count{request="publish"}'] == 2
    assert samples['ecourt_participants{room="courtroom"}'] == 2

    # a leg that goes keeps its counts: the totals never step back
    await party.close()
    for _ in range(200):  # until nothing is forwarded any more: the party's legs are closed
        after = await scrape(metered)
        if after["ecourt_media_forwarded_streams"] == 0:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the party's legs were never closed")
    assert after['ecourt_participants{room="courtroom"}'] == 1
    assert (
        after["ecourt_media_forwarded_packets_total"]
        >= samples["ecourt_media_forwarded_packets_total"]
    )
    assert after["ecourt_join_to_first_frame_seconds_count"] == 2
