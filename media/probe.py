"""A connection check: before joining, a page offers a data channel labelled `probe`; the server
answers from the same kind of leg as the SFU's (port range, announced address, guarded ICE
sockets) and echoes every message back unchanged, so the page learns whether ICE gets through
and how long a round trip takes. Nothing else happens on it, and it does not last: it closes
after `lifetime` seconds, or as soon as the channel or the connection closes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription

from media import _aiortc_hooks as hooks
from media.datagrams import DropCounts
from media.errors import MediaError, SdpInvalid
from media.sdp import announce, parse_probe_offer

log = logging.getLogger(__name__)

PROBE_LABEL = "probe"


@dataclass(frozen=True, slots=True)
class ProbeLimits:
    lifetime: float = 20.0
    """Seconds a check stays open at most."""
    max_messages: int = 64
    """Messages echoed at most; later ones are dropped."""
    max_message_bytes: int = 1024
    """A larger message is dropped, not echoed."""

    def __post_init__(self) -> None:
        if self.lifetime <= 0 or self.max_messages < 1 or self.max_message_bytes < 1:
            raise ValueError("a connection check needs a lifetime and room for one message")


class ProbePeer:
    """One connection check. `accept` answers the offer; `close` (idempotent) ends it, and
    `on_closed` hears of it once, however it ended."""

    def __init__(
        self,
        configuration: RTCConfiguration,
        *,
        limits: ProbeLimits,
        udp_ports: tuple[int, int] | None = None,
        announced_ip: str | None = None,
        on_closed: Callable[[ProbePeer], None] | None = None,
    ) -> None:
        self.limits = limits
        self._udp_ports = udp_ports
        self._announced_ip = announced_ip
        self._on_closed = on_closed
        self._pc = RTCPeerConnection(configuration)
        self._pc.on("datachannel", self._on_channel)
        self._pc.on("connectionstatechange", self._on_state)
        self._timer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepted = False
        self.closed = False
        self.echoed = 0
        self.dropped = 0
        self.drops = DropCounts()
        self._done = asyncio.Event()

    @property
    def connection_state(self) -> str:
        state: str = self._pc.connectionState
        return state

    async def accept(self, offer_sdp: str) -> str:
        """Answer the page's offer (complete, not trickled); raise SdpInvalid if it is not one
        data channel section. The lifetime runs from here."""
        if self._accepted or self.closed:
            raise MediaError("this connection check was already negotiated")
        self._accepted = True
        parse_probe_offer(offer_sdp)
        self._timer = asyncio.get_running_loop().create_task(self._expire())
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            sctp = self._pc.sctp
            if sctp is None:
                raise SdpInvalid("the offer has no data channel")
            if self._udp_ports is not None:
                hooks.bind_in_port_range(self._pc, self._udp_ports)
            await self._pc.setLocalDescription(await self._pc.createAnswer())
            self.drops = hooks.guard_datagrams(sctp.transport)
            hooks.keep_consent(sctp.transport)
        except MediaError:
            raise
        except Exception as exc:
            raise SdpInvalid(f"the offer could not be negotiated: {exc}") from exc
        answer: str = self._pc.localDescription.sdp
        return answer if self._announced_ip is None else announce(answer, self._announced_ip)

    def _on_channel(self, channel: RTCDataChannel) -> None:
        if channel.label != PROBE_LABEL:
            channel.close()  # nothing but the probe is served here
            return

        def on_message(message: bytes | str) -> None:
            size = len(message.encode()) if isinstance(message, str) else len(message)
            if size > self.limits.max_message_bytes or self.echoed >= self.limits.max_messages:
                self.dropped += 1
                return
            self.echoed += 1
            channel.send(message)  # the same bytes, and the same kind (text or binary)

        channel.on("message", on_message)
        channel.on("close", self._close_soon)

    def _on_state(self) -> None:
        if self._pc.connectionState in ("failed", "closed"):
            self._close_soon()

    def _close_soon(self) -> None:
        if not self.closed:
            task = asyncio.get_running_loop().create_task(self.close())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _expire(self) -> None:
        await asyncio.sleep(self.limits.lifetime)
        log.info("a connection check reached its %.0f s limit", self.limits.lifetime)
        await self.close()

    async def close(self) -> None:
        if self.closed:
            await self._done.wait()
            return
        self.closed = True
        try:
            if self._timer is not None and self._timer is not asyncio.current_task():
                self._timer.cancel()
                await asyncio.gather(self._timer, return_exceptions=True)
            await hooks.close_peer_connection(self._pc)
            log.info("a connection check closed: %d echoed, %d dropped", self.echoed, self.dropped)
        finally:
            self._done.set()
            if self._on_closed is not None:
                self._on_closed(self)

    async def wait_closed(self) -> None:
        await self._done.wait()
