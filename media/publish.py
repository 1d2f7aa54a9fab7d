"""The publish leg: the client offers, the server answers, and incoming RTP is diverted to the
forwarder before aiortc's jitter buffer and decoder ever see it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections.abc import Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_PLI,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    pack_remb_fci,
)

from media import _aiortc_hooks as hooks
from media.datagrams import DropCounts
from media.errors import MediaError, SdpInvalid
from media.forwarder import PublishedTrack, SenderReport
from media.liveness import leg_failure
from media.ratelimit import RateLimitedLog
from media.round_trips import CHECKS_SPAN, RoundTrips, compact_ntp, leg_round_trip
from media.rtp import parse_rtp
from media.sdp import FORWARDED_CODECS, announce, parse_offer, preferred_codecs

log = logging.getLogger(__name__)
_malformed = RateLimitedLog(log, interval=10.0)
_failures = RateLimitedLog(log, interval=10.0)
_track_numbers = itertools.count(1)

TrackCallback = Callable[[PublishedTrack], None]
REMB_FLOOR = 150_000
"""bit/s: below this a court's video is of no use; audio is not counted in REMB."""


def upstream_bitrate(cap: int, tracks: list[PublishedTrack]) -> int:
    """min(cap, the weakest subscriber estimate of any video track), at least REMB_FLOOR
    (or the cap, if that is lower)."""
    estimates = [t.weakest_remb() for t in tracks if t.kind == "video"]
    weakest = min((e for e in estimates if e is not None), default=cap)
    return min(cap, max(weakest, min(REMB_FLOOR, cap)))


def last_sender_report(track: PublishedTrack, now: float) -> tuple[int, int]:
    """(LSR, DLSR) of a receiver report about `track` (RFC 3550, 6.4.1): its publisher's last
    sender report, and how long ago it arrived, so the publisher can measure its round trip;
    (0, 0) before any."""
    if not track.sender_reports:
        return 0, 0
    report = track.sender_reports[-1]
    held = max(0.0, now - report.received_at)
    return compact_ntp(report.ntp_timestamp), min(0xFFFFFFFF, int(held * 65536))


class PublishPeer:
    """One participant's incoming media. Knows its tracks by an opaque `source` label."""

    def __init__(
        self,
        *,
        source: str,
        configuration: RTCConfiguration,
        bitrate_cap: int,
        on_track: TrackCallback,
        udp_ports: tuple[int, int] | None = None,
        announced_ip: str | None = None,
    ) -> None:
        self.source = source
        self._udp_ports = udp_ports
        self._announced_ip = announced_ip
        self._pc = RTCPeerConnection(configuration)
        self._bitrate_cap = bitrate_cap
        self._on_track = on_track
        self._by_ssrc: dict[int, PublishedTrack] = {}
        self._unbound: dict[int, PublishedTrack] = {}
        self._rtcp_ssrc: int | None = None
        self._transport: RTCDtlsTransport | None = None
        self._rtcp_task: asyncio.Task[None] | None = None
        self._accepted = False
        self._closed = False
        self.tracks: list[PublishedTrack] = []
        self.packets_malformed = 0
        self.packets_unroutable = 0
        self.drops = DropCounts()
        self._screen_mid: str | None = None
        self._channel: tuple[str, str] | None = None
        self.remb_sent: int | None = None
        self.consent_round_trips = RoundTrips(CHECKS_SPAN)
        """How long the publisher took to answer the server's consent checks (it sends no
        report blocks on this leg: it receives nothing here)."""

    def round_trip(self, now: float) -> float | None:
        """The round trip this leg has held lately (`media.round_trips`), or None."""
        return leg_round_trip(None, self.consent_round_trips, now)

    def decoder_thread_ids(self) -> list[int]:
        """aiortc starts a decoder thread per receiver; on this path they never get a frame."""
        ids = (hooks.decoder_thread_id(r) for r in self._pc.getReceivers())
        return [i for i in ids if i is not None]

    @property
    def connection_state(self) -> str:
        state: str = self._pc.connectionState
        return state

    def failure(self, now: float, silence: float) -> str | None:
        """Why this leg is dead (`media.liveness.leg_failure`), or None while it is alive."""
        return leg_failure(self._pc.connectionState, self.drops.heard_at, now, silence)

    async def accept(
        self,
        offer_sdp: str,
        screen_mid: str | None = None,
        channel: tuple[str, str] | None = None,
    ) -> str:
        """Answer the client's offer; raise SdpInvalid or TooManyTracks if it is unacceptable.
        The video section whose mid is `screen_mid` is published as the screen; `channel` is
        (mid, label): that second audio section is published under that label."""
        if self._accepted or self._closed:
            raise MediaError("this publish leg was already negotiated")
        kinds = parse_offer(offer_sdp, screen_mid, None if channel is None else channel[0])
        self._screen_mid = screen_mid
        self._channel = channel
        self._accepted = True
        for kind in kinds:
            transceiver = self._pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(preferred_codecs(kind))
        transport = self._pc.getTransceivers()[0].receiver.transport
        self._transport = transport
        hooks.divert_incoming_rtp(transport, self._on_rtp, self._on_receiver)
        if self._udp_ports is not None:
            hooks.bind_in_port_range(self._pc, self._udp_ports)
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            await self._pc.setLocalDescription(await self._pc.createAnswer())
            self.drops = hooks.guard_datagrams(transport, self._on_plain_rtp)
            hooks.keep_consent(transport, self._on_consent_round_trip)
        except MediaError:
            raise
        except Exception as exc:
            raise SdpInvalid(f"the offer could not be negotiated: {exc}") from exc
        self._rtcp_task = asyncio.get_running_loop().create_task(self._run_rtcp())
        answer: str = self._pc.localDescription.sdp
        return answer if self._announced_ip is None else announce(answer, self._announced_ip)

    def _on_receiver(self, parameters: RTCRtpReceiveParameters, receiver: RTCRtpReceiver) -> None:
        codec = parameters.codecs[0]
        mime = codec.mimeType.lower()
        if mime not in FORWARDED_CODECS or codec.payloadType is None:
            return
        kind = mime.split("/")[0]
        ssrc = next((e.ssrc for e in parameters.encodings if e.ssrc), None)
        self._rtcp_ssrc = hooks.receiver_rtcp_ssrc(receiver)
        hooks.tap_sender_reports(receiver, self._on_sender_report)
        track = PublishedTrack(
            track_id=f"t{next(_track_numbers)}",
            source=self.source,
            kind=kind,
            mime_type=mime,
            clock_rate=codec.clockRate,
            payload_type=codec.payloadType,
            ssrc=ssrc,
            extension_ids={ext.uri: ext.id for ext in parameters.headerExtensions},
            request_keyframe=self._send_pli,
            label=self._label(kind, parameters.muxId),
        )
        if ssrc is None:
            self._unbound[codec.payloadType] = track
        else:
            self._by_ssrc[ssrc] = track
        self.tracks.append(track)
        self._on_track(track)

    def _label(self, kind: str, mid: str | None) -> str:
        if kind == "video" and mid == self._screen_mid:
            return "screen"
        if kind == "audio" and self._channel is not None and mid == self._channel[0]:
            return self._channel[1]
        return kind

    def _on_sender_report(self, ssrc: int, ntp_timestamp: int, rtp_timestamp: int) -> None:
        track = self._by_ssrc.get(ssrc)
        if track is not None:
            track.sender_reports.append(SenderReport(ntp_timestamp, rtp_timestamp, time.time()))

    def _on_consent_round_trip(self, seconds: float) -> None:
        self.consent_round_trips.record(time.monotonic(), seconds)

    @property
    def datagrams_dropped(self) -> int:
        return self.drops.total

    async def _on_rtp(self, data: bytes, arrival_time_ms: int) -> None:
        """Packets that took aiortc's queue (those that arrived before SRTP was keyed)."""
        self._on_plain_rtp(data)

    def _on_plain_rtp(self, data: bytes) -> None:
        # called from aiortc's and aioice's callbacks: nothing may escape from here
        try:
            self._route(data)
        except ValueError:
            self.packets_malformed += 1
            _malformed.warning("dropped a malformed RTP packet from %s", self.source)
        except Exception:
            _failures.exception("forwarding a packet from %s failed", self.source)

    def _route(self, data: bytes) -> None:
        packet = parse_rtp(data)
        track = self._by_ssrc.get(packet.ssrc)
        if track is None:
            track = self._unbound.pop(packet.payload_type, None)
            if track is None:
                self.packets_unroutable += 1
                return
            track.ssrc = packet.ssrc
            self._by_ssrc[packet.ssrc] = track
        track.handle(packet)

    async def _send_pli(self, media_ssrc: int) -> None:
        if self._rtcp_ssrc is None:
            return
        packet = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=self._rtcp_ssrc, media_ssrc=media_ssrc)
        await self._send_rtcp([packet])

    async def _send_rtcp(self, packets: list[AnyRtcpPacket]) -> None:
        if self._transport is None:
            return
        with contextlib.suppress(ConnectionError):
            await hooks.send_rtp(self._transport, b"".join(bytes(p) for p in packets))

    async def _run_rtcp(self) -> None:
        """Receiver reports and our own REMB, about once a second (aiortc's are bypassed)."""
        while True:
            await asyncio.sleep(0.5 + random.random())
            if self._rtcp_ssrc is None:
                continue
            reports = []
            for track in self.tracks:
                if track.ssrc is None or track.stats.base is None:
                    continue
                fraction, lost = track.stats.interval_report()
                lsr, dlsr = last_sender_report(track, time.time())
                reports.append(
                    RtcpReceiverInfo(
                        ssrc=track.ssrc,
                        fraction_lost=fraction,
                        packets_lost=lost,
                        highest_sequence=track.stats.extended_highest,
                        jitter=0,
                        lsr=lsr,
                        dlsr=dlsr,
                    )
                )
            if not reports:
                continue
            packets: list[AnyRtcpPacket] = [RtcpRrPacket(ssrc=self._rtcp_ssrc, reports=reports)]
            ssrcs = [t.ssrc for t in self.tracks if t.ssrc is not None]
            packets.append(
                RtcpPsfbPacket(
                    fmt=RTCP_PSFB_APP,
                    ssrc=self._rtcp_ssrc,
                    media_ssrc=0,
                    fci=pack_remb_fci(self.upstream_remb(), ssrcs),
                )
            )
            await self._send_rtcp(packets)

    def upstream_remb(self) -> int:
        """What the publisher may send: the configured cap, or less if the weakest permitted
        subscriber of any of its video tracks can take less (never below a floor)."""
        self.remb_sent = upstream_bitrate(self._bitrate_cap, self.tracks)
        return self.remb_sent

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for track in self.tracks:
            track.end()
        if self._rtcp_task is not None:
            self._rtcp_task.cancel()
            await asyncio.gather(self._rtcp_task, return_exceptions=True)
        await hooks.close_peer_connection(self._pc)
