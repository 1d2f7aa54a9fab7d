"""The fuzz harnesses: every parser that reads bytes from outside on the way into a hearing.

Each harness takes raw bytes, drives one parser exactly as the server does, and may raise only
the error that parser documents; anything else is a crash. A harness returns a small "shape"
of what it parsed, which the mutation engine uses to keep inputs that reached somewhere new.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import struct
import tempfile
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aioice import stun
from aiortc import sdp as aiortc_sdp
from aiortc.rtcdtlstransport import RtpRouter
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    HeaderExtensionsMap,
    RtcpByePacket,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unpack_remb_fci,
)

from media.datagrams import classify, parse_stun
from media.errors import MediaError
from media.forwarder import PublishedTrack, TrackSink
from media.rtcp import parse_rtcp
from media.rtp import URI_ABS_SEND_TIME, URI_AUDIO_LEVEL, URI_MID, parse_rtp, vp8_is_keyframe
from media.sdp import parse_offer
from media.srtp import NATIVE, GcmProtector, native_sender
from recording.exhibits.content import inspect_bytes
from recording.exhibits.errors import ExhibitRefused
from security import Secret, TokenRefused, TokenSigner
from signaling.errors import BadRequest
from signaling.messages import (
    Empty,
    FloorRequest,
    HandoverRequest,
    HandRequest,
    InterpretationRequest,
    LanguageRequest,
    MoveRequest,
    Mute,
    MuteOrder,
    ParticipantRequest,
    PhaseRequest,
    Publish,
    SubscribeAnswer,
)
from tests import exhibit_samples

CORPUS = Path(__file__).parent / "fuzz_corpus"


@dataclass(frozen=True)
class Target:
    name: str
    harness: Callable[[bytes], Hashable]
    allowed: tuple[type[BaseException], ...]
    seeds: Callable[[], list[bytes]]
    mutator: str = "bytes"  # "bytes", "lines" (text, line by line) or "json" (structured)
    suffix: str = "bin"
    corpus: str = ""
    """The corpus directory under tests/fuzz_corpus/ (the target's name if empty). A raw
    third-party parser shares the directory of the ecourt boundary that wraps it, so every
    crash it finds is replayed against that boundary."""

    @property
    def folder(self) -> Path:
        return CORPUS / (self.corpus or self.name)


# -- STUN: the guard's check, then what aioice does with a request --------------------------


def stun_harness(data: bytes) -> Hashable:
    classify(data)
    message = parse_stun(data)
    message.check_message_integrity(b"the-local-password")
    return (message.message_method, message.message_class, tuple(sorted(message.attributes)))


def stun_seeds() -> list[bytes]:
    txid = b"0123456789ab"
    request = stun.Message(stun.Method.BINDING, stun.Class.REQUEST, txid)
    request.attributes.update(
        {
            "USERNAME": "abcd:efgh",
            "PRIORITY": 1853824767,
            "ICE-CONTROLLING": 0x1234567890,
            "USE-CANDIDATE": None,
        }
    )
    request.add_message_integrity(b"the-local-password")
    response = stun.Message(stun.Method.BINDING, stun.Class.RESPONSE, txid)
    response.attributes["XOR-MAPPED-ADDRESS"] = ("127.0.0.1", 50000)
    response.add_message_integrity(b"the-local-password")
    response6 = stun.Message(stun.Method.BINDING, stun.Class.RESPONSE, txid)
    response6.attributes["XOR-MAPPED-ADDRESS"] = ("2001:db8::1", 50000)
    response6.attributes["MAPPED-ADDRESS"] = ("2001:db8::2", 3478)
    error = stun.Message(stun.Method.BINDING, stun.Class.ERROR, txid)
    error.attributes.update({"ERROR-CODE": (401, "Unauthorized"), "SOFTWARE": "ecourt"})
    error.add_fingerprint()
    allocate = stun.Message(stun.Method.ALLOCATE, stun.Class.RESPONSE, txid)
    allocate.attributes.update(
        {
            "XOR-RELAYED-ADDRESS": ("192.0.2.1", 49152),
            "LIFETIME": 600,
            "REALM": "example.org",
            "NONCE": b"nonce-value",
            "CHANNEL-NUMBER": 0x4000,
            "DATA": b"\x16\xfe\xfd",
        }
    )
    return [bytes(m) for m in (request, response, response6, error, allocate)]


# -- RTP: the forwarding path's parser, keyframe check and fan-out ----------------------------


class _Wire:
    """A subscriber's way out that protects with the forwarding path's own SRTP (a fixed test
    key) and keeps what it would send."""

    native_sender = None

    def __init__(self, sent: list[bytes]) -> None:
        self._protect = GcmProtector(bytes(range(44))).protect
        self._sent = sent

    def send(self, header: bytes, payload: bytes, ssrc: int, index: int) -> bytes:
        packet = self._protect(header, payload, ssrc, index)
        self._sent.append(packet)
        return packet

    def resend(self, packet: bytes) -> None:
        self._sent.append(packet)


class _NativeWire:
    """A subscriber's way out on the C sender, to a loopback socket nobody reads (once its
    buffer is full, the sender drops): after the first packet, the sink is forwarded by the
    C fan-out, so the fuzzer's packets go through it too."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self.native_sender = native_sender(
            bytes(range(44)), self._sock.fileno(), self._sock.getsockname()
        )
        self._sock.close()  # the C sender keeps its own descriptor
        assert self.native_sender is not None
        self.send, self.resend = self.native_sender.send, self.native_sender.resend


def _forwarding() -> tuple[PublishedTrack, list[bytes]]:
    sent: list[bytes] = []

    async def no_keyframes(_ssrc: int) -> None:
        return None

    track = PublishedTrack(
        track_id="fuzz",
        source="fuzz",
        kind="audio",  # no keyframe gate, so no event loop is needed
        mime_type="audio/opus",
        clock_rate=48000,
        payload_type=111,
        ssrc=1,
        extension_ids={URI_AUDIO_LEVEL: 1, URI_ABS_SEND_TIME: 3},
        request_keyframe=no_keyframes,
    )
    sink = TrackSink(_Wire(sent), ssrc=99, kind="audio", clock_rate=48000)
    sink.abs_send_time_id, sink.audio_level_id, sink.started = 2, 1, True
    sink.permitted = True
    track.add_sink(sink)
    if NATIVE:
        in_c = TrackSink(_NativeWire(), ssrc=98, kind="audio", clock_rate=48000)
        in_c.abs_send_time_id, in_c.audio_level_id, in_c.started = 2, 1, True
        in_c.permitted = True
        track.add_sink(in_c)
    return track, sent


_track, _sent = _forwarding()


def rtp_harness(data: bytes) -> Hashable:
    vp8_is_keyframe(data)
    packet = parse_rtp(data)
    keyframe = vp8_is_keyframe(packet.payload)
    _track.handle(packet)  # rewrite and rebuild the header for a subscriber
    _sent.clear()
    return (keyframe, tuple(sorted((k, len(v)) for k, v in packet.extensions.items())))


def rtp_seeds() -> list[bytes]:
    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=1, uri=URI_AUDIO_LEVEL),
                RTCRtpHeaderExtensionParameters(id=3, uri=URI_ABS_SEND_TIME),
                RTCRtpHeaderExtensionParameters(id=4, uri=URI_MID),
            ]
        )
    )
    seeds = []
    payloads = [
        b"\x90\xe0\x80\x01\x00\x9d\x01\x2a" + bytes(20),  # VP8 keyframe, X/I/L/T/K set
        b"\x10\x00\x9d\x01\x2a" + bytes(12),  # VP8 keyframe, no extension byte
        b"\x00\x01\x02\x03",  # VP8 continuation
        b"\xfc\xff\xfe" + bytes(40),  # Opus
    ]
    for n, payload in enumerate(payloads):
        packet = RtpPacket(payload_type=96 + n, sequence_number=n, timestamp=n * 3000, ssrc=1)
        packet.payload = payload
        packet.marker = n & 1
        packet.extensions.abs_send_time = 0x123456
        packet.extensions.audio_level = (True, 42)
        packet.extensions.mid = "0"
        packet.csrc = [7, 8][: n % 3]
        packet.padding_size = 4 * (n % 2)
        seeds.append(packet.serialize(extensions))
    two_byte = struct.pack("!HH", 0x1000, 2) + b"\x01\x01\x80\x03\x03\x12\x34\x56"
    seeds.append(struct.pack("!BBHII", 0x90, 111, 5, 9, 1) + two_byte + b"opus")
    return seeds


# -- RTCP: parsed, then routed and handled as the server does ---------------------------------

_router = RtpRouter()


def rtcp_harness(data: bytes) -> Hashable:
    packets = parse_rtcp(data)
    for packet in packets:
        _router.route_rtcp(packet)
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            list(packet.lost)[:64]
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            with contextlib.suppress(ValueError):  # what the subscribe leg reads, and allows
                unpack_remb_fci(packet.fci)
    return tuple(type(p).__name__ for p in packets)


def rtcp_seeds() -> list[bytes]:
    report = RtcpReceiverInfo(
        ssrc=1, fraction_lost=3, packets_lost=-2, highest_sequence=70000, jitter=5, lsr=6, dlsr=7
    )
    info = RtcpSenderInfo(ntp_timestamp=1 << 62, rtp_timestamp=9, packet_count=10, octet_count=11)
    sr = RtcpSrPacket(ssrc=2, sender_info=info, reports=[report])
    sdes = RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=2, items=[(1, b"cname-value")])])
    packets: list[AnyRtcpPacket] = [
        sr,
        RtcpRrPacket(ssrc=3, reports=[report, report]),
        sdes,
        RtcpByePacket(sources=[1, 2]),
        RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=3, media_ssrc=1, lost=[5, 7, 30]),
        RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=3, media_ssrc=1),
        RtcpPsfbPacket(fmt=RTCP_PSFB_FIR, ssrc=3, media_ssrc=0, fci=b"\x00\x00\x00\x01\x05\0\0\0"),
        RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=3, media_ssrc=0, fci=pack_remb_fci(1_500_000, [1])),
    ]
    seeds = [bytes(p) for p in packets]
    seeds.append(bytes(sr) + bytes(sdes))
    seeds.append(bytes(packets[1]) + bytes(packets[-1]) + bytes(packets[4]))
    return seeds


# -- SDP: a publish offer (and, through the same parse, a subscribe answer) -------------------


def sdp_harness(data: bytes) -> Hashable:
    text = data.decode("utf-8", "replace")
    screen = "1" if data[-1:] == b"\n" else None
    return tuple(parse_offer(text, screen))


def sdp_seeds() -> list[bytes]:
    minimal = "\r\n".join(
        [
            "v=0",
            "o=- 1 1 IN IP4 0.0.0.0",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE 0 1",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            "c=IN IP4 0.0.0.0",
            "a=mid:0",
            "a=sendonly",
            "a=rtcp-mux",
            "a=rtpmap:111 opus/48000/2",
            "a=fmtp:111 minptime=10;useinbandfec=1",
            "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
            "a=ssrc:11 cname:x",
            "a=ice-ufrag:abcd",
            "a=ice-pwd:abcdefghijklmnopqrstuvwx",
            "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
            "a=setup:actpass",
            "a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host",
            "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
            "c=IN IP4 0.0.0.0",
            "a=mid:1",
            "a=sendonly",
            "a=rtcp-mux",
            "a=rtpmap:96 VP8/90000",
            "a=rtcp-fb:96 nack pli",
            "a=rtpmap:97 rtx/90000",
            "a=fmtp:97 apt=96",
            "a=ssrc-group:FID 21 22",
            "a=ssrc:21 cname:x",
            "a=ice-ufrag:abcd",
            "a=ice-pwd:abcdefghijklmnopqrstuvwx",
            "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
            "a=setup:actpass",
            "",
        ]
    )
    return [minimal.encode()] + [p.read_bytes() for p in sorted((CORPUS / "sdp").glob("seed-*"))]


# -- signalling messages: every request parser, on any JSON the socket can deliver ----------

PARSERS: tuple[Any, ...] = (
    ParticipantRequest,
    Publish,
    SubscribeAnswer,
    Mute,
    Empty,
    PhaseRequest,
    MoveRequest,
    FloorRequest,
    HandRequest,
    MuteOrder,
    LanguageRequest,
    InterpretationRequest,
    HandoverRequest,
)


def signaling_harness(data: bytes) -> Hashable:
    try:  # what python-socketio hands the server: it decodes with json
        payload = json.loads(data)
    except (ValueError, RecursionError):
        return "not deliverable"
    accepted = []
    for parser in PARSERS:
        try:
            parser.parse(payload)
            accepted.append(parser.__name__)
        except BadRequest:
            pass
    return tuple(accepted)


def signaling_seeds() -> list[bytes]:
    payloads: list[object] = [
        {"participant_id": "p_abc"},
        {"sdp": "v=0\r\n", "type": "offer", "screen_mid": "1"},
        {"sdp": "v=0\r\n", "type": "offer", "channel_mid": "2", "channel_language": "en"},
        {"language": "zh-Hant-TW"},
        {"participant_id": "p_abc", "mode": "whispered", "on_air": True, "whisper_to": ["p_x"]},
        {"from": "p_abc", "to": "p_def"},
        {"sdp": "v=0\r\n", "type": "answer", "version": 3},
        {"kind": "audio", "muted": True},
        {},
        None,
        {"phase": "in_session"},
        {"participant_id": "p_abc", "room": {"kind": "witness_room", "id": "witness_room"}},
        {"participant_id": "p_abc", "granted": False},
        {"raised": True},
        {"participant_id": "p_abc", "kind": "video"},
        [1, "two", {"three": None}],
    ]
    return [json.dumps(p).encode() for p in payloads]


# -- join tokens: signed here, so that mutated claims reach the claim parser ------------------

_signer = TokenSigner(Secret(b"f" * 32), clock=lambda: 1_800_000_000.0)


def token_harness(data: bytes) -> Hashable:
    body = base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    token = f"v1.{body}.{_signer._sign(body)}"
    try:
        return _signer.verify(token, hearing_id=None).participant.role.value
    except TokenRefused as refused:
        return refused.code


def token_seeds() -> list[bytes]:
    claims = {
        "h": "h_1",
        "p": "p_1",
        "r": "plaintiff",
        "n": "Ms Nguyen",
        "iat": 1_799_999_000,
        "exp": 1_800_009_000,
    }
    return [json.dumps(claims).encode(), json.dumps(claims | {"r": "child_witness"}).encode()]


# -- an uploaded exhibit: the content checks, PDFium and Pillow behind them -------------------

_EXHIBIT_SCRATCH = Path(tempfile.mkdtemp(prefix="ecourt-fuzz-exhibit-")) / "upload.part"


def exhibit_harness(data: bytes) -> Hashable:
    found = inspect_bytes(data, _EXHIBIT_SCRATCH)
    return (found.kind.value, found.pages > 1, found.width > 100)


def exhibit_seeds() -> list[bytes]:
    return [
        exhibit_samples.clean_pdf(pages=2),
        exhibit_samples.pdf_with_javascript(),
        exhibit_samples.pdf_with_javascript_in_an_object_stream(),
        exhibit_samples.png(8, 8),
        exhibit_samples.jpeg(8, 8),
        exhibit_samples.mp3(frames=3),
        exhibit_samples.mp4(),
        exhibit_samples.png_bomb(),
    ]


# -- the third-party parsers as shipped, to find what the boundaries above must absorb --------


def _aiortc_extensions() -> HeaderExtensionsMap:
    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=1, uri=URI_AUDIO_LEVEL),
                RTCRtpHeaderExtensionParameters(id=3, uri=URI_ABS_SEND_TIME),
                RTCRtpHeaderExtensionParameters(id=4, uri=URI_MID),
            ]
        )
    )
    return extensions


_raw_extensions = _aiortc_extensions()


def raw_stun_harness(data: bytes) -> Hashable:
    return stun.parse_message(data).message_method


def raw_rtp_harness(data: bytes) -> Hashable:
    return RtpPacket.parse(data, _raw_extensions).payload_type


def raw_rtcp_harness(data: bytes) -> Hashable:
    packets = RtcpPacket.parse(data)
    for packet in packets:
        RtpRouter().route_rtcp(packet)
    return tuple(type(p).__name__ for p in packets)


def raw_sdp_harness(data: bytes) -> Hashable:
    return len(aiortc_sdp.SessionDescription.parse(data.decode("utf-8", "replace")).media)


RAW_TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("raw-stun", raw_stun_harness, (ValueError,), stun_seeds, corpus="stun"),
        Target("raw-rtp", raw_rtp_harness, (ValueError,), rtp_seeds, corpus="rtp"),
        Target("raw-rtcp", raw_rtcp_harness, (ValueError,), rtcp_seeds, corpus="rtcp"),
        Target(
            "raw-sdp",
            raw_sdp_harness,
            (ValueError,),
            sdp_seeds,
            mutator="lines",
            suffix="sdp",
            corpus="sdp",
        ),
    )
}

TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("stun", stun_harness, (ValueError,), stun_seeds),
        Target("rtp", rtp_harness, (ValueError,), rtp_seeds),
        Target("rtcp", rtcp_harness, (ValueError,), rtcp_seeds),
        Target("sdp", sdp_harness, (MediaError,), sdp_seeds, mutator="lines", suffix="sdp"),
        Target(
            "signaling",
            signaling_harness,
            (BadRequest,),
            signaling_seeds,
            mutator="json",
            suffix="json",
        ),
        Target("token", token_harness, (), token_seeds, mutator="json", suffix="json"),
        Target("exhibit", exhibit_harness, (ExhibitRefused,), exhibit_seeds),
    )
}
