"""The SFU engine: builds publish and subscribe legs and closes them all on shutdown."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass, field

from aiortc import RTCBundlePolicy, RTCConfiguration

from media import _aiortc_hooks as hooks
from media import srtp
from media.counters import (
    JOIN_WAIT_BUCKETS,
    Histogram,
    MediaTotals,
    publish_totals,
    subscribe_totals,
)
from media.errors import Busy
from media.probe import ProbeLimits, ProbePeer
from media.publish import PublishPeer, TrackCallback
from media.subscribe import SubscribePeer


@dataclass(frozen=True, slots=True)
class IceServer:
    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class MediaSettings:
    ice_servers: tuple[IceServer, ...] = ()
    """STUN and TURN servers handed to the clients. The server's own legs gather host
    candidates only: it is reached at its host address or at `announced_ip`."""
    bitrate_cap: int = 2_500_000
    udp_ports: tuple[int, int] | None = None
    """Bind every media socket to a port in this inclusive range; any free port if None."""
    announced_ip: str | None = None
    """The address clients reach the media sockets at (behind NAT, or a container's mapped
    ports): it replaces the host candidates' address in every offer and answer."""
    probe_limits: ProbeLimits = field(default_factory=ProbeLimits)
    """How long a connection check lasts and how much it echoes."""
    max_probes: int = 16
    """Connection checks open on this node at once; one more is refused `busy`."""

    def __post_init__(self) -> None:
        if not 100_000 <= self.bitrate_cap <= 50_000_000:
            raise ValueError("bitrate_cap must be between 100 kbit/s and 50 Mbit/s")
        if self.udp_ports is not None:
            low, high = self.udp_ports
            if not 1 <= low <= high <= 65535:
                raise ValueError("udp_ports must be a range within 1-65535")
        if self.announced_ip is not None:
            ipaddress.ip_address(self.announced_ip)  # raises ValueError if it is not one
        if self.max_probes < 0:
            raise ValueError("max_probes cannot be negative")


class MediaEngine:
    def __init__(self, settings: MediaSettings) -> None:
        self.settings = settings
        self._publishers: set[PublishPeer] = set()
        self._subscribers: set[SubscribePeer] = set()
        self._probes: set[ProbePeer] = set()
        self._started = False
        self._closed = False
        self._retired = MediaTotals()
        """What the legs closed so far had counted (media/counters.py)."""
        self.join_waits = Histogram(JOIN_WAIT_BUCKETS)
        """Seconds from each subscribe leg's making to the first video forwarded on it."""

    def _configuration(self) -> RTCConfiguration:
        return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)

    def ice_servers_json(self) -> list[dict[str, object]]:
        """The STUN and TURN servers, as a browser's RTCConfiguration.iceServers wants them."""
        servers: list[dict[str, object]] = []
        for server in self.settings.ice_servers:
            entry: dict[str, object] = {"urls": list(server.urls)}
            if server.username is not None:
                entry["username"] = server.username
            if server.credential is not None:
                entry["credential"] = server.credential
            servers.append(entry)
        return servers

    async def start(self) -> None:
        """Fail loudly if aiortc is not shaped as the forwarding hooks expect."""
        hooks.check_aiortc_shape()
        logging.getLogger(__name__).info(
            "forwarded RTP is rewritten, protected and sent by %s",
            "the C fan-out (media/_srtp_native)"
            if srtp.NATIVE
            else "Python (media/forwarder.py, media/srtp.py; tools/build-native builds the "
            "faster C fan-out)",
        )
        self._started = True

    def publish_peer(self, source: str, on_track: TrackCallback) -> PublishPeer:
        peer = PublishPeer(
            source=source,
            configuration=self._configuration(),
            bitrate_cap=self.settings.bitrate_cap,
            on_track=on_track,
            udp_ports=self.settings.udp_ports,
            announced_ip=self.settings.announced_ip,
        )
        self._publishers.add(peer)
        return peer

    def subscribe_peer(self) -> SubscribePeer:
        peer = SubscribePeer(
            self._configuration(),
            udp_ports=self.settings.udp_ports,
            announced_ip=self.settings.announced_ip,
        )
        self._subscribers.add(peer)
        return peer

    def probe_peer(self) -> ProbePeer:
        """A connection check, on a leg configured like every other (port range, announced
        address); it forgets itself when it closes. Raises `Busy` past `max_probes`."""
        if self._closed:
            raise Busy("the server is stopping")
        if len(self._probes) >= self.settings.max_probes:
            raise Busy("too many connection checks are open on this server; try again shortly")
        peer = ProbePeer(
            self._configuration(),
            limits=self.settings.probe_limits,
            udp_ports=self.settings.udp_ports,
            announced_ip=self.settings.announced_ip,
            on_closed=self._probes.discard,
        )
        self._probes.add(peer)
        return peer

    @property
    def probes(self) -> tuple[ProbePeer, ...]:
        """The connection checks open now."""
        return tuple(self._probes)

    async def release(self, peer: PublishPeer | SubscribePeer) -> None:
        """Close one leg and forget it. It stays counted as open until it is closed, then
        its counts join the totals of closed legs: the totals never step back."""
        try:
            await peer.close()
        finally:
            if peer in self._publishers or peer in self._subscribers:  # once, however called
                self._publishers.discard(peer)
                self._subscribers.discard(peer)
                self._retire(peer)

    def decoder_thread_ids(self) -> list[int]:
        return [i for p in self._publishers for i in p.decoder_thread_ids()]

    @property
    def forwarded_streams(self) -> int:
        return sum(len(p.sinks()) for p in self._subscribers)

    @property
    def streams_forwarded_in_c(self) -> int:
        """Of the forwarded streams, those handed over to the C fan-out."""
        return sum(1 for p in self._subscribers for s in p.sinks() if s.core is not None)

    async def close(self) -> None:
        self._closed = True  # no connection check starts on a stopping server
        peers: list[PublishPeer | SubscribePeer | ProbePeer] = [
            *self._publishers,
            *self._subscribers,
            *self._probes,
        ]
        self._publishers.clear()
        self._subscribers.clear()
        self._probes.clear()
        await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)
        for peer in peers:
            if not isinstance(peer, ProbePeer):
                self._retire(peer)

    def totals(self) -> MediaTotals:
        """Counts since the engine started: the legs open now and every leg closed before."""
        total = self._retired
        legs: list[PublishPeer | SubscribePeer] = [*self._publishers, *self._subscribers]
        for peer in legs:
            total += self._leg_totals(peer)
        return total

    def _retire(self, peer: PublishPeer | SubscribePeer) -> None:
        self._retired += self._leg_totals(peer)

    def _leg_totals(self, peer: PublishPeer | SubscribePeer) -> MediaTotals:
        if isinstance(peer, PublishPeer):
            return publish_totals(peer.tracks, peer.drops.total)
        sinks = peer.sinks()
        counts = peer.counts
        counts.see_first_video(sinks)
        if counts.first_video_at is not None and not counts.first_video_seen:
            counts.first_video_seen = True
            self.join_waits.observe(max(0.0, counts.first_video_at - peer.created_at))
        return subscribe_totals(sinks, counts, peer.drops.total)
