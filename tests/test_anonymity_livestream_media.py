"""The public stream of a hearing with an anonymous witness, through the real server: the
witness's tile carries the pseudonym and the masked variant (a silhouette and a shifted
voice), never their colour, their tone or their name, while the judge still receives both.
With masking switched off the witness would be left off the stream, and this test fails."""

from __future__ import annotations

import time

import numpy as np
import pytest

from signaling.client import HearingClient
from tests.conftest import RunningServer
from tests.livestream_support import (
    BLUE,
    MAGENTA,
    TONE_JUDGE,
    TONE_WITNESS,
    colour_pixels,
    tone_share,
)
from tests.test_livestream_media import (
    Viewer,
    court,
    live_server,  # noqa: F401 (the fixture)
    livestream,
    media_segments,
    shows,
)

pytestmark = pytest.mark.media


async def test_the_public_stream_shows_an_anonymous_witness_only_masked_and_by_pseudonym(
    live_server: RunningServer,  # noqa: F811
    clients: list[HearingClient],
) -> None:
    hearing_id, (judge, witness) = await court(
        live_server,
        clients,
        [
            ("presiding_judge", "Judge Le", BLUE, TONE_JUDGE),
            ("witness", "Jane Doe", MAGENTA, TONE_WITNESS),
        ],
    )
    await judge.client.request("call_witness", {"participant_id": witness.id, "audio_only": True})
    seen = await judge.client.wait_for_track(witness.id, "video")
    assert await shows(seen.track, MAGENTA)  # the court sees the witness as they are
    await judge.client.order_anonymity(
        witness.id, "Witness A", screening="silhouette", masked_from=("public_stream",)
    )
    assert await shows(seen.track, MAGENTA)  # and still does under the order

    await judge.client.request("livestream", {"action": "open"})
    stream = livestream(live_server, hearing_id)
    started = time.monotonic()
    viewer = Viewer(live_server, hearing_id)
    await viewer.watch_until(lambda: len(viewer.order) >= 4, within=40)
    print(f"four segments after {time.monotonic() - started:.1f} s")

    tiles = {t.name: t for t in stream.tiles}
    assert set(tiles) == {"Judge Le", "Witness A"}
    masked = tiles["Witness A"]
    assert masked.video is not None and masked.video.form == "masked"
    assert masked.audio is not None and masked.audio.form == "masked"

    decoded = media_segments(stream, viewer)
    for name, segment in decoded:
        for picture in segment.pictures:
            assert colour_pixels(picture, MAGENTA) == 0, name
        assert tone_share(segment.samples, TONE_WITNESS) < 0.002, name
    everything = np.concatenate([s.samples for _, s in decoded[1:]])
    assert tone_share(everything, TONE_JUDGE) > 0.05
    assert colour_pixels(decoded[-1][1].pictures[-1], BLUE) > 500
