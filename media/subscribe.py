"""The subscribe leg: the server offers one sendonly section per forwarded track and
renegotiates when tracks come and go. Each section's sender is driven by the forwarder."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.clock import current_ntp_time
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    unpack_remb_fci,
)

from media import _aiortc_hooks as hooks
from media.counters import LegCounts
from media.datagrams import DropCounts
from media.errors import MediaError, SdpInvalid, StaleAnswer
from media.forwarder import PublishedTrack, TrackSink
from media.liveness import leg_failure
from media.round_trips import (
    CHECKS_SPAN,
    REPORTS_SPAN,
    RoundTrips,
    leg_round_trip,
    report_round_trips,
)
from media.rtp import URI_ABS_SEND_TIME, URI_AUDIO_LEVEL
from media.sdp import announce, check_answer, preferred_codecs


@dataclass(frozen=True, slots=True)
class ForwardedTrack:
    """A section of a subscribe offer: which published track arrives on which mid."""

    mid: str
    track: PublishedTrack


@dataclass(frozen=True, slots=True)
class SubscribeOffer:
    sdp: str
    version: int
    tracks: tuple[ForwardedTrack, ...]


@dataclass(slots=True)
class _Section:
    track: PublishedTrack
    transceiver: RTCRtpTransceiver
    sink: TrackSink
    remb: int | None = None


class SubscribePeer:
    """One participant's outgoing media: the tracks the server decided they may receive."""

    def __init__(
        self,
        configuration: RTCConfiguration,
        udp_ports: tuple[int, int] | None = None,
        announced_ip: str | None = None,
    ) -> None:
        self._pc = RTCPeerConnection(configuration)
        self._udp_ports = udp_ports
        self._announced_ip = announced_ip
        self._sections: dict[str, _Section] = {}
        self._idle: list[tuple[RTCRtpTransceiver, TrackSink, str]] = []
        """Sections whose track went away, with the sink that last sent on each and the form
        it carried: a returning or new track of the same kind and form takes one over, so
        offers never grow with history. A masked variant never takes over a section (an
        SSRC) that carried a natural track, nor the reverse."""
        self._allowed: frozenset[str] = frozenset()
        """The allow-set: the tracks the court lets this participant receive now. Every sink
        checks it on every packet; nothing else makes a sink forward."""
        self._dirty = False
        self._awaiting: int | None = None
        self._version = 0
        self._closed = False
        self._guarded = False
        self.drops = DropCounts()
        self.counts = LegCounts()
        """What this leg counted (media/counters.py), its detached sinks' share included."""
        self.created_at = time.monotonic()
        self._transport: RTCDtlsTransport | None = None
        self._route: hooks.RtpRoute | None = None
        self._reports: asyncio.Task[None] | None = None
        self.report_round_trips = RoundTrips(REPORTS_SPAN)
        """Round trips from the subscriber's receiver reports (LSR/DLSR of our sender reports)."""
        self.consent_round_trips = RoundTrips(CHECKS_SPAN)

    def round_trip(self, now: float) -> float | None:
        """The round trip this leg has held lately (`media.round_trips`), or None."""
        return leg_round_trip(self.report_round_trips, self.consent_round_trips, now)

    @property
    def track_ids(self) -> frozenset[str]:
        return frozenset(self._sections)

    @property
    def connection_state(self) -> str:
        state: str = self._pc.connectionState
        return state

    def sinks(self) -> list[TrackSink]:
        return [s.sink for s in self._sections.values()]

    @property
    def allowed(self) -> frozenset[str]:
        return self._allowed

    @property
    def sections(self) -> int:
        """Media sections the next offer will carry (live and idle)."""
        return len(self._sections) + len(self._idle)

    def permit(self, track_ids: frozenset[str]) -> None:
        """Replace the allow-set at once: from the next packet on, a sink forwards (and answers
        NACKs) only for the tracks in it. A video sink permitted again waits for a keyframe."""
        self._allowed = track_ids
        for track_id, section in self._sections.items():
            sink = section.sink
            was_waiting = sink.waiting_keyframe
            sink.permitted = track_id in track_ids
            if sink.waiting_keyframe and not was_waiting:
                section.track.request_keyframe()

    def forwarding(self) -> dict[str, TrackSink]:
        """What this leg really forwards now, read from the sinks themselves (not from the
        allow-set): each track whose sink is attached to it and permitted."""
        return {
            track_id: s.sink
            for track_id, s in self._sections.items()
            if s.sink.permitted and not s.sink.closed and s.sink in s.track.sinks
        }

    def withheld(self) -> dict[str, TrackSink]:
        """The sinks still attached that the allow-set does not permit (they forward nothing)."""
        return {
            track_id: s.sink
            for track_id, s in self._sections.items()
            if not s.sink.permitted and not s.sink.closed
        }

    def cut(self, track_id: str) -> None:
        """Stop one track at once, at the sink and in the allow-set (the reference monitor's
        lever, independent of the session's re-evaluation)."""
        self._allowed = self._allowed - {track_id}
        section = self._sections.get(track_id)
        if section is not None:
            section.sink.permitted = False

    def failure(self, now: float, silence: float) -> str | None:
        """Why this leg is dead (`leg_failure`), or None while it is alive."""
        return leg_failure(self._pc.connectionState, self.drops.heard_at, now, silence)

    def attach(self, track: PublishedTrack) -> None:
        """Start forwarding `track` here (after the next offer/answer), if the allow-set
        permits it; an idle section of the same kind is reused."""
        if self._closed or track.id in self._sections or track.ended:
            return
        reused = next(
            (
                i
                for i, (t, _, form) in enumerate(self._idle)
                if t.kind == track.kind and form == track.form
            ),
            None,
        )
        if reused is None:
            transceiver = self._pc.addTransceiver(track.kind, direction="sendonly")
            previous = None
        else:
            transceiver, previous, _ = self._idle.pop(reused)
            transceiver.direction = "sendonly"
        transceiver.setCodecPreferences(preferred_codecs(track.kind, track.mime_type))
        sender = transceiver.sender
        sink = TrackSink(
            hooks.RtpRoute(sender.transport),
            hooks.sender_ssrc(sender),
            track.kind,
            track.clock_rate,
        )
        if previous is not None:
            sink.follow(previous)  # one stream on the section's SSRC: no index used twice
        sink.permitted = track.id in self._allowed
        section = _Section(track, transceiver, sink)
        if track.kind == "video":
            self.counts.keyframe_waits += 1

        def on_send(parameters: RTCRtpSendParameters) -> None:
            self._configure(section, parameters)

        async def on_rtcp(packet: AnyRtcpPacket) -> None:
            await self._on_feedback(section, packet)

        hooks.take_over_sender(sender, on_send, on_rtcp)
        self._sections[track.id] = section
        self._dirty = True

    def detach(self, track_id: str) -> None:
        """Stop forwarding at once; the section goes inactive at the next offer."""
        section = self._sections.pop(track_id, None)
        if section is None:
            return
        section.sink.permitted = False
        section.track.remove_sink(section.sink)
        section.sink.closed = True
        self.counts.retire(section.sink)
        section.transceiver.direction = "inactive"
        self._idle.append((section.transceiver, section.sink, section.track.form))
        self._dirty = True

    async def create_offer(self) -> SubscribeOffer | None:
        """An offer if anything changed and no earlier offer awaits its answer."""
        if self._closed or not self._dirty or self._awaiting is not None:
            return None
        self._dirty = False
        if not self._guarded and self._udp_ports is not None:
            hooks.bind_in_port_range(self._pc, self._udp_ports)
        await self._pc.setLocalDescription(await self._pc.createOffer())
        if not self._guarded:  # ICE has gathered; the candidates are not out yet
            transport = self._pc.getTransceivers()[0].sender.transport
            self.drops = hooks.guard_datagrams(transport)
            hooks.keep_consent(transport, self._on_consent_round_trip)
            self._guarded = True
        self._version += 1
        self._awaiting = self._version
        tracks = tuple(
            ForwardedTrack(mid=s.transceiver.mid, track=s.track)
            for s in self._sections.values()
            if s.transceiver.mid is not None
        )
        sdp: str = self._pc.localDescription.sdp
        if self._announced_ip is not None:
            sdp = announce(sdp, self._announced_ip)
        return SubscribeOffer(sdp=sdp, version=self._version, tracks=tracks)

    async def accept_answer(self, version: int, answer_sdp: str) -> None:
        """Apply the answer to the offer awaiting one. Refused (`StaleAnswer`, `SdpInvalid`)
        before anything changes unless it answers exactly that offer (`check_answer`)."""
        if self._awaiting is None or version != self._awaiting:
            raise StaleAnswer(f"answer {version} does not match the offer awaiting an answer")
        check_answer(self._pc.localDescription.sdp, answer_sdp)
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        except Exception as exc:
            raise SdpInvalid(f"the answer could not be applied: {exc}") from exc
        self._awaiting = None

    def _configure(self, section: _Section, parameters: RTCRtpSendParameters) -> None:
        if section.sink.closed or not parameters.codecs:
            return
        sink = section.sink
        transport = section.transceiver.sender.transport
        if self._route is None or self._route.transport is not transport:
            self._route = hooks.RtpRoute(transport)  # one per leg: the sections share it
        self._transport = transport
        sink.out = self._route
        if self._reports is None:
            self._reports = asyncio.get_running_loop().create_task(self._send_reports())
        sink.payload_type = parameters.codecs[0].payloadType or 0
        sink.cname = parameters.rtcp.cname or ""
        ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
        sink.abs_send_time_id = ids.get(URI_ABS_SEND_TIME)
        sink.audio_level_id = ids.get(URI_AUDIO_LEVEL)
        sink.started = True
        section.track.add_sink(sink)

    def _on_consent_round_trip(self, seconds: float) -> None:
        self.consent_round_trips.record(time.monotonic(), seconds)

    async def _on_feedback(self, section: _Section, packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            # routed here once per section it reports on: only this section's block counts
            now = time.monotonic()
            for seconds in report_round_trips([packet], {section.sink.ssrc}, current_ntp_time()):
                self.report_round_trips.record(now, seconds)
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            self.counts.nacks += 1
            self.counts.packets_nacked += len(packet.lost)
            with contextlib.suppress(ConnectionError):
                section.sink.retransmit(list(packet.lost)[:64])
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            self.counts.keyframe_requests += 1
            section.track.request_keyframe()
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            with contextlib.suppress(ValueError):
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
                section.remb = bitrate
                self._share_remb(bitrate, ssrcs)

    def _share_remb(self, bitrate: int, ssrcs: list[int]) -> None:
        """A REMB covers the streams it names: each gets an equal share of the estimate."""
        named = [x.sink for x in self._sections.values() if x.sink.ssrc in ssrcs]
        for sink in named:
            sink.remb = bitrate // len(named)

    async def _send_reports(self) -> None:
        """Sender reports and CNAMEs for every section that has forwarded something, about
        once a second: one task for the whole leg, not one per section."""
        while True:
            await asyncio.sleep(0.5 + random.random())
            now, ntp = time.time(), current_ntp_time()
            packets = b""
            for section in self._sections.values():
                sink = section.sink
                if sink.packets_sent == 0:
                    continue
                elapsed = max(0.0, now - sink.last_sent_at)
                rtp_now = (sink.last_timestamp + int(elapsed * sink.clock_rate)) & 0xFFFFFFFF
                report = RtcpSrPacket(
                    ssrc=sink.ssrc,
                    sender_info=RtcpSenderInfo(
                        ntp_timestamp=ntp,
                        rtp_timestamp=rtp_now,
                        packet_count=sink.packets_sent & 0xFFFFFFFF,
                        octet_count=sink.octets_sent & 0xFFFFFFFF,
                    ),
                )
                cname = RtcpSdesPacket(
                    chunks=[RtcpSourceInfo(ssrc=sink.ssrc, items=[(1, sink.cname.encode())])]
                )
                packets += bytes(report) + bytes(cname)
            if packets and self._transport is not None:
                with contextlib.suppress(ConnectionError):
                    await hooks.send_rtp(self._transport, packets)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for track_id in list(self._sections):
            self.detach(track_id)
        if self._reports is not None:
            self._reports.cancel()
            await asyncio.gather(self._reports, return_exceptions=True)
        await hooks.close_peer_connection(self._pc)


__all__ = ["ForwardedTrack", "MediaError", "SubscribeOffer", "SubscribePeer"]
