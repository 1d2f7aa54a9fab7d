"""What a publish offer may contain, checked before aiortc acts on it."""

from __future__ import annotations

import pytest

from media import SdpInvalid, TooManyTracks
from media.sdp import announce, parse_offer
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


ANSWER = "\r\n".join(
    [
        "v=0",
        "m=audio 50007 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 10.0.0.5",
        "a=candidate:a 1 udp 2130706431 10.0.0.5 50007 typ host",
        "a=candidate:b 1 udp 2130706431 172.17.0.1 50011 typ host",
        "a=candidate:c 1 udp 2130706431 fd00::5 50012 typ host",
        "a=candidate:d 1 udp 1694498815 198.51.100.1 50007 typ srflx raddr 10.0.0.5 rport 50007",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "",
    ]
)


def test_announcing_an_address_rewrites_the_host_candidates_of_its_ip_version() -> None:
    announced = announce(ANSWER, "203.0.113.7").split("\r\n")
    assert "c=IN IP4 203.0.113.7" in announced
    assert "a=candidate:a 1 udp 2130706431 203.0.113.7 50007 typ host" in announced
    assert "a=candidate:b 1 udp 2130706431 203.0.113.7 50011 typ host" in announced
    assert "a=candidate:c 1 udp 2130706431 fd00::5 50012 typ host" in announced  # IPv6 stays
    assert ANSWER.split("\r\n")[6] in announced  # not a host candidate
    assert "a=rtcp:9 IN IP4 0.0.0.0" in announced
    assert "m=audio 50007 UDP/TLS/RTP/SAVPF 111" in announced
