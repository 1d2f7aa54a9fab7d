"""What the SFU accepts in a session description, checked before aiortc acts on it."""

from __future__ import annotations

import ipaddress

from aiortc import RTCRtpReceiver
from aiortc import sdp as aiortc_sdp
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from media.errors import SdpInvalid, TooManyTracks

MAX_SDP_BYTES = 32 * 1024
FORWARDED_CODECS = {"video/vp8": "video", "audio/opus": "audio"}


def parse_offer(
    text: str, screen_mid: str | None = None, channel_mid: str | None = None
) -> list[str]:
    """Return the media kinds of a publish offer, in order; refuse anything else.

    At most one audio and one camera section; a second video section is accepted only as the
    screen (an exhibit), named by its mid, and a second audio section only as a channel (an
    interpreter's), named by its mid.
    """
    description = parse(text, "offer")
    kinds: list[str] = []
    screens = channels = 0
    for media in description.media:
        if media.kind not in ("audio", "video"):
            raise SdpInvalid(f"media section of kind {media.kind!r} is not accepted")
        if media.direction not in ("sendonly", "sendrecv"):
            raise SdpInvalid("a publish offer must send")
        if media.kind == "video" and media.rtp.muxId == screen_mid:
            screens += 1
        elif media.kind == "audio" and channel_mid is not None and media.rtp.muxId == channel_mid:
            channels += 1
        elif media.kind in kinds:
            raise TooManyTracks(f"more than one {media.kind} section")
        kinds.append(media.kind)
    if screen_mid is not None and screens != 1:
        raise SdpInvalid(f"no video section has the screen's mid {screen_mid!r}")
    if channel_mid is not None and channels != 1:
        raise SdpInvalid(f"no audio section has the channel's mid {channel_mid!r}")
    if not kinds:
        raise SdpInvalid("the offer has no audio or video")
    return kinds


ANSWER_DIRECTIONS = {
    "sendonly": ("recvonly", "inactive"),
    "inactive": ("inactive",),
}
"""What an answer may say to each direction the server offers on a subscribe leg: it may
receive or decline what the server sends, and never send anything itself."""


def check_answer(offer: str, answer: str) -> None:
    """Refuse an answer that does not answer this offer: the same sections with the same mids
    and kinds, in order; each direction one that the offer allows (never `sendrecv` or
    `sendonly` to a server that only sends); every codec one the offer proposed under the
    same payload type. Raises `SdpInvalid` saying what differs."""
    offered = parse(offer, "offer")
    answered = parse(answer, "answer")
    if len(answered.media) != len(offered.media):
        raise SdpInvalid(
            f"the answer has {len(answered.media)} media sections; the offer has "
            f"{len(offered.media)}"
        )
    for mine, theirs in zip(offered.media, answered.media, strict=True):
        mid = mine.rtp.muxId
        if theirs.rtp.muxId != mid or theirs.kind != mine.kind:
            raise SdpInvalid(
                f"the answer's section {theirs.rtp.muxId!r} is not the offer's {mid!r}"
            )
        if theirs.port == 0:
            continue  # declined
        allowed = ANSWER_DIRECTIONS.get(mine.direction or "", (mine.direction,))
        if theirs.direction not in allowed:
            raise SdpInvalid(
                f"the answer's section {mid!r} is {theirs.direction}; the offer allows "
                + " or ".join(str(d) for d in allowed)
            )
        proposed = {(c.payloadType, c.mimeType.lower()) for c in mine.rtp.codecs}
        for codec in theirs.rtp.codecs:
            if (codec.payloadType, codec.mimeType.lower()) not in proposed:
                raise SdpInvalid(
                    f"the answer's section {mid!r} has codec {codec.mimeType}/"
                    f"{codec.payloadType}, which the offer did not propose"
                )


def parse_probe_offer(text: str) -> None:
    """Refuse a connection check's offer unless it is one data channel section and nothing
    else (no audio, no video)."""
    description = parse(text, "offer")
    kinds = [media.kind for media in description.media]
    if kinds != ["application"]:
        raise SdpInvalid("a connection check offers one data channel section and no media")
    if description.media[0].sctp_port is None and not description.media[0].sctpmap:
        raise SdpInvalid("the data channel section has no SCTP port")


def parse(text: str, expected_type: str) -> aiortc_sdp.SessionDescription:
    if not isinstance(text, str) or not text.strip():
        raise SdpInvalid("the SDP is empty")
    if len(text.encode()) > MAX_SDP_BYTES:
        raise SdpInvalid(f"the SDP is larger than {MAX_SDP_BYTES} bytes")
    try:
        description = aiortc_sdp.SessionDescription.parse(text)
    except Exception as exc:  # aiortc's parser raises many kinds on hostile input
        raise SdpInvalid(f"the {expected_type} is not valid SDP") from exc
    for media in description.media:
        if media.kind in ("audio", "video", "application") and (
            media.ice is None
            or not media.ice.usernameFragment
            or not media.ice.password
            or media.dtls is None
            or not media.dtls.fingerprints  # aiortc would assert on it when DTLS starts
        ):
            raise SdpInvalid("a media section lacks ICE credentials or a DTLS fingerprint")
    if not description.media:
        raise SdpInvalid(f"the {expected_type} has no media sections")
    mids = [media.rtp.muxId for media in description.media if media.rtp.muxId]
    if len(set(mids)) != len(mids):
        raise SdpInvalid("two media sections share a mid")
    for group in description.group:
        # aiortc bundles onto the first mid of the group: one that names no section leaves
        # the connection with a transceiver that has no transport (and that cannot close)
        if group.semantic == "BUNDLE" and not {str(item) for item in group.items} <= set(mids):
            raise SdpInvalid("the BUNDLE group names a mid that no media section has")
    return description


def preferred_codecs(kind: str, mime_type: str | None = None) -> list[RTCRtpCodecCapability]:
    """The codecs a leg may negotiate: the forwarded ones only, no RTX."""
    wanted = mime_type or next(m for m, k in FORWARDED_CODECS.items() if k == kind)
    capabilities = RTCRtpReceiver.getCapabilities(kind)
    if capabilities is None:
        raise SdpInvalid(f"no {kind} capabilities")
    return [c for c in capabilities.codecs if c.mimeType.lower() == wanted]


def announce(sdp: str, address: str) -> str:
    """The session description with `address` in place of the host candidates' addresses (and
    of the default connection address) of the same IP version: what clients behind the NAT or
    the container's port mapping must reach. Other lines, and the ports, are unchanged."""
    version = ipaddress.ip_address(address).version
    family = f"IP{version}"
    lines = []
    for line in sdp.split("\r\n"):
        if line.startswith("a=candidate:"):
            fields = line.split(" ")
            if len(fields) > 7 and fields[7] == "host" and _version(fields[4]) == version:
                fields[4] = address
                line = " ".join(fields)
        elif line.startswith(f"c=IN {family} ") and line != f"c=IN {family} 0.0.0.0":
            line = f"c=IN {family} {address}"
        lines.append(line)
    return "\r\n".join(lines)


def _version(address: str) -> int | None:
    try:
        return ipaddress.ip_address(address).version
    except ValueError:
        return None
