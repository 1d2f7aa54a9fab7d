"""What a publish offer may contain, checked before aiortc acts on it."""

from __future__ import annotations

import pytest

from media import SdpInvalid, TooManyTracks
from media.sdp import parse_offer
from tests.test_signaling import TWO_VIDEO_OFFER


def test_a_second_video_section_is_refused_unless_it_is_the_screen() -> None:
    with pytest.raises(TooManyTracks):
        parse_offer(TWO_VIDEO_OFFER)
    assert parse_offer(TWO_VIDEO_OFFER, screen_mid="1") == ["video", "video"]


def test_a_screen_mid_that_names_no_section_is_refused() -> None:
    one_video = TWO_VIDEO_OFFER[: TWO_VIDEO_OFFER.rindex("m=video")]
    assert parse_offer(one_video) == ["video"]
    with pytest.raises(SdpInvalid, match="screen"):
        parse_offer(one_video, screen_mid="7")


@pytest.mark.parametrize(
    "text", ["", "   ", "v=0", "not sdp at all\r\n", "v=0\r\nm=application 9 x 0\r\n" * 3]
)
def test_garbage_is_refused_as_sdp_invalid(text: str) -> None:
    with pytest.raises(SdpInvalid):
        parse_offer(text)


def test_an_offer_larger_than_the_limit_is_refused() -> None:
    with pytest.raises(SdpInvalid, match="larger than"):
        parse_offer("v=0\r\n" + "a=x\r\n" * 10_000)


def test_a_bundle_group_naming_a_mid_no_section_has_is_refused() -> None:
    """aiortc would bundle onto a transport that does not exist, and could not close."""
    one_video = TWO_VIDEO_OFFER[: TWO_VIDEO_OFFER.rindex("m=video")]
    bundled = one_video.replace("t=0 0\r\n", "t=0 0\r\na=group:BUNDLE 0\r\n")
    assert parse_offer(bundled) == ["video"]
    with pytest.raises(SdpInvalid, match="BUNDLE"):
        parse_offer(bundled.replace("BUNDLE 0", "BUNDLE 7 0"))


def test_two_sections_with_one_mid_are_refused() -> None:
    with pytest.raises(SdpInvalid, match="share a mid"):
        parse_offer(TWO_VIDEO_OFFER.replace("a=mid:1", "a=mid:0"), screen_mid="0")


@pytest.mark.parametrize(
    "line", ["a=fingerprint:", "a=ice-ufrag:", "a=ice-pwd:"], ids=["fingerprint", "ufrag", "pwd"]
)
def test_a_section_without_ice_credentials_or_a_fingerprint_is_refused(line: str) -> None:
    """Without a fingerprint aiortc asserts when DTLS starts, in a task nobody awaits."""
    one_video = TWO_VIDEO_OFFER[: TWO_VIDEO_OFFER.rindex("m=video")]
    stripped = "\r\n".join(x for x in one_video.split("\r\n") if not x.startswith(line))
    with pytest.raises(SdpInvalid, match="ICE credentials or a DTLS fingerprint"):
        parse_offer(stripped)
