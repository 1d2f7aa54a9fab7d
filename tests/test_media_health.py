"""The rule that turns what the server received of a person's camera or microphone into one
state (`hearing.media_health`), as a table."""

from __future__ import annotations

import pytest

from hearing.media_health import MediaHealth, TrackWindow, has_media, media_health

H = MediaHealth
CASES = [
    # kind, sent, silent for, packets, expected, span, leg -> state
    ("video", True, 0.1, 40, 40, 2.0, "connected", H.LIVE),
    ("audio", True, 0.02, 100, 100, 2.0, "connected", H.LIVE),
    ("video", True, 0.1, 40, 50, 2.0, "connected", H.WEAK),  # a fifth lost
    ("video", True, 0.1, 6, 6, 2.0, "connected", H.WEAK),  # 3 packets a second
    ("audio", True, 0.1, 30, 30, 2.0, "connected", H.WEAK),
    ("video", True, 0.1, 3, 3, 0.5, "connected", H.LIVE),  # too soon to call it weak
    ("video", True, 2.5, 0, 0, 2.0, "connected", H.FROZEN),
    ("audio", True, 9.0, 0, 0, 2.0, "connected", H.FROZEN),
    ("video", False, None, 0, 0, 0.0, "connected", H.NO_MEDIA),  # camera refused
    ("video", True, None, 0, 0, 2.0, "connected", H.NO_MEDIA),  # published, never arrived
    ("audio", False, None, 0, 0, 0.0, "none", H.NO_MEDIA),  # never published
    ("video", True, 3.0, 0, 0, 2.0, "connecting", H.RECONNECTING),
    ("video", False, None, 0, 0, 0.0, "lost", H.RECONNECTING),
]


@pytest.mark.parametrize(
    ("kind", "sent", "silent", "packets", "expected", "span", "leg", "state"), CASES
)
def test_what_arrived_gives_one_state(
    kind: str,
    sent: bool,
    silent: float | None,
    packets: int,
    expected: int,
    span: float,
    leg: str,
    state: MediaHealth,
) -> None:
    window = TrackWindow(kind, sent, silent, packets, expected, span, leg)
    assert media_health(window) is state


def test_a_window_with_an_unknown_kind_or_negative_counts_cannot_exist() -> None:
    with pytest.raises(ValueError):
        TrackWindow("screen", True, 0.0, 1, 1, 1.0, "connected")
    with pytest.raises(ValueError):
        TrackWindow("video", True, 0.0, -1, 1, 1.0, "connected")


def test_a_person_is_seen_or_heard_while_one_kind_is_live_or_weak() -> None:
    assert has_media({"audio": H.WEAK, "video": H.NO_MEDIA})
    assert not has_media({"audio": H.FROZEN, "video": H.NO_MEDIA})
    assert not has_media({"audio": H.RECONNECTING, "video": H.RECONNECTING})
