"""Every private aiortc name the SFU uses, in one place, pinned to the tested aiortc version.

aiortc's receivers decode and its senders encode. The forwarding path instead takes RTP after
SRTP unprotect on the publisher's DTLS transport, and writes RTP straight into each subscriber's
DTLS transport (which applies SRTP protect). `check_aiortc_shape()` runs at engine start and
fails loudly if aiortc no longer looks the way these hooks expect.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import inspect
import logging
import random
import socket
from collections.abc import Awaitable, Callable
from time import monotonic
from typing import TYPE_CHECKING, Any

import aiortc
import pylibsrtp
from aioice import Candidate, Connection, ice, stun, turn
from aioice.candidate import candidate_foundation, candidate_priority
from aioice.ice import CandidatePair, StunProtocol
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.rtcdtlstransport import SRTP_PROFILES, RTCDtlsTransport, RtpRouter, State
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters, RTCRtpSendParameters
from aiortc.rtp import RtcpSrPacket

from media.datagrams import MAX_DATAGRAM, Drop, DropCounts, parse_stun
from media.errors import AiortcShapeChanged, PortsExhausted
from media.ratelimit import RateLimitedLog
from media.rtcp import parse_rtcp
from media.srtp import GCM_SALT_LENGTH, GcmProtector, native_sender

if TYPE_CHECKING:
    from media._srtp_native import GcmSender

TESTED_AIORTC = "1.16.0"

log = logging.getLogger(__name__)
_drops = RateLimitedLog(log, interval=10.0)
_failures = RateLimitedLog(log, interval=10.0)

RtpHandler = Callable[[bytes, int], Awaitable[None]]
RtcpHandler = Callable[[Any], Awaitable[None]]

_SIGNATURES: list[tuple[Any, str, list[str]]] = [
    (RTCDtlsTransport, "_handle_rtp_data", ["self", "data", "arrival_time_ms"]),
    (RTCDtlsTransport, "_register_rtp_receiver", ["self", "receiver", "parameters"]),
    (RTCDtlsTransport, "_send_rtp", ["self", "data"]),
    (RTCDtlsTransport, "_setup_srtp", ["self"]),
    (RTCDtlsTransport, "_handle_rtcp_data", ["self", "data"]),
    (RtpRouter, "route_rtcp", ["self", "packet"]),
    (Connection, "data_received", ["self", "data", "component"]),
    (Connection, "check_incoming", ["self", "message", "addr", "protocol"]),
    (Connection, "get_component_candidates", ["self", "component", "addresses", "timeout"]),
    (Connection, "query_consent", ["self"]),
    (Connection, "build_request", ["self", "pair", "nominate"]),
    (StunProtocol, "datagram_received", ["self", "data", "addr"]),
    (RTCRtpSender, "send", ["self", "parameters"]),
    (RTCRtpSender, "_run_rtp", ["self", "codec"]),
    (RTCRtpSender, "_run_rtcp", ["self"]),
    (RTCRtpSender, "_handle_rtcp_packet", ["self", "packet"]),
    (RTCRtpReceiver, "_handle_rtcp_packet", ["self", "packet"]),
]
_FIELDS: list[tuple[Any, tuple[str, ...]]] = [
    (
        RTCRtpSender,
        (
            "_RTCRtpSender__rtp_started",
            "_RTCRtpSender__rtp_exited",
            "_RTCRtpSender__rtcp_started",
            "_RTCRtpSender__rtcp_exited",
            "_ssrc",
        ),
    ),
    (RTCRtpReceiver, ("_RTCRtpReceiver__rtcp_ssrc", "_RTCRtpReceiver__decoder_thread")),
    (RTCDtlsTransport, ("_state", "_tx_srtp", "_rx_srtp", "_rtp_router", "_ssl", "_role")),
    (Connection, ("_nominated", "_protocols", "_check_list")),
    (CandidatePair, ("protocol", "remote_candidate", "state", "nominated")),
]


def check_aiortc_shape() -> None:
    """Raise `AiortcShapeChanged` naming what moved, if aiortc is not shaped as expected."""
    problems: list[str] = []
    if aiortc.__version__ != TESTED_AIORTC:
        problems.append(f"aiortc is {aiortc.__version__}, the hooks were tested on {TESTED_AIORTC}")
    for cls, name, params in _SIGNATURES:
        method = getattr(cls, name, None)
        if method is None:
            problems.append(f"{cls.__name__}.{name} is gone")
        elif list(inspect.signature(method).parameters) != params:
            problems.append(f"{cls.__name__}.{name} no longer takes {params}")
    for cls, fields in _FIELDS:
        assigned = cls.__init__.__code__.co_names
        problems += [f"{cls.__name__} no longer sets {f}" for f in fields if f not in assigned]
    if not hasattr(State, "CONNECTED"):
        problems.append("RTCDtlsTransport's State has no CONNECTED")
    if not hasattr(CandidatePair.State, "SUCCEEDED"):
        problems.append("aioice's CandidatePair.State has no SUCCEEDED")
    if not isinstance(getattr(CandidatePair, "remote_addr", None), property):
        problems.append("aioice's CandidatePair.remote_addr is no longer a property")
    if problems:
        raise AiortcShapeChanged("aiortc changed shape: " + "; ".join(problems))


def divert_incoming_rtp(
    transport: RTCDtlsTransport,
    on_rtp: RtpHandler,
    on_receiver: Callable[[RTCRtpReceiveParameters, RTCRtpReceiver], None],
) -> None:
    """Send every unprotected RTP packet of `transport` to `on_rtp` instead of aiortc's
    receivers (so nothing reaches a jitter buffer or decoder), and report each receiver's
    negotiated parameters to `on_receiver` when aiortc registers it."""
    register = transport._register_rtp_receiver

    def register_and_report(receiver: RTCRtpReceiver, parameters: RTCRtpReceiveParameters) -> None:
        register(receiver, parameters)
        on_receiver(parameters, receiver)

    target: Any = transport
    target._handle_rtp_data = on_rtp
    target._register_rtp_receiver = register_and_report


def count_incoming_rtp(transport: RTCDtlsTransport) -> dict[int, int]:
    """Count every RTP packet `transport` receives after SRTP unprotect, by SSRC, before
    aiortc routes it anywhere (a stream no section describes is counted too); for clients
    and tools that must know exactly what arrived. Returns the live counts."""
    counts: dict[int, int] = {}
    handle = transport._handle_rtp_data

    async def count_and_handle(data: bytes, arrival_time_ms: int) -> None:
        if len(data) >= 12:
            ssrc = int.from_bytes(data[8:12], "big")
            counts[ssrc] = counts.get(ssrc, 0) + 1
        await handle(data, arrival_time_ms)

    target: Any = transport
    target._handle_rtp_data = count_and_handle
    return counts


def tap_sender_reports(
    receiver: RTCRtpReceiver, on_report: Callable[[int, int, int], None]
) -> None:
    """Call `on_report(ssrc, ntp_timestamp, rtp_timestamp)` for every RTCP sender report that
    aiortc routes to `receiver` (the recorder's clock map), then let aiortc handle it."""
    handle = receiver._handle_rtcp_packet

    async def report_and_handle(packet: Any) -> None:
        if isinstance(packet, RtcpSrPacket):
            info = packet.sender_info
            on_report(packet.ssrc, info.ntp_timestamp, info.rtp_timestamp)
        await handle(packet)

    target: Any = receiver
    target._handle_rtcp_packet = report_and_handle


def _is_rtcp(data: bytes) -> bool:
    """RTCP by RFC 5761's demultiplexing (as aiortc decides it): second byte 192-208."""
    return len(data) > 1 and 191 < data[1] < 209


def guard_datagrams(
    transport: RTCDtlsTransport, on_rtp: Callable[[bytes], None] | None = None
) -> DropCounts:
    """Filter datagrams as they come off the ICE sockets, before aioice and aiortc see them,
    and make incoming RTCP safe to parse and route.

    Call it once ICE has gathered (after setLocalDescription), before the candidates are sent
    anywhere. Dropped (and counted by reason): empty datagrams (aiortc 1.16 closes the
    connection on one), datagrams over 1500 bytes (pylibsrtp raises ValueError on them, which
    also closes it), first bytes outside STUN, DTLS, RTP and RTCP (RFC 7983), malformed STUN,
    and DTLS, RTP or RTCP from any address that is not the remote end of a validated
    (succeeded or nominated) candidate pair on that socket, nor an address that has sent an
    authenticated connectivity check there (the peer starts DTLS once its own check succeeds,
    which may be before ours does). STUN from anywhere still reaches aioice, which
    authenticates connectivity checks itself.

    With `on_rtp`, SRTP packets are unprotected right here and handed to `on_rtp`, skipping
    aiortc's queue, task switch and router. Without it the leg receives no RTP at all (a
    subscribe leg): RTP is dropped. DTLS and RTCP take aiortc's path, where RTCP is parsed by
    `media.rtcp.parse_rtcp` and refused whole if malformed.
    """
    private: Any = transport
    connection: Any = private.transport._connection
    counts = DropCounts()
    succeeded = CandidatePair.State.SUCCEEDED
    checked: set[tuple[Any, tuple[Any, Any]]] = set()
    """(socket's protocol, address) of every connectivity check aioice authenticated."""
    check_incoming = connection.check_incoming

    def note_and_check(message: Any, addr: tuple[str, int], protocol: Any) -> None:
        checked.add((protocol, (addr[0], addr[1])))
        check_incoming(message, addr, protocol)

    connection.check_incoming = note_and_check

    def drop(reason: Drop) -> None:
        counts.add(reason)
        _drops.warning("dropped a datagram on an ICE socket: %s", reason.value)

    def guard(protocol: Any) -> None:
        stun_path = protocol.datagram_received
        component = protocol.local_candidate.component
        sources: set[tuple[Any, ...]] = set()

        def validated(addr: tuple[Any, ...]) -> bool:
            """Is `addr` the remote end of a validated pair on this socket? Looked up again
            (a handful of pairs) only when it is not one already known."""
            nonlocal sources
            if addr in sources or (protocol, (addr[0], addr[1])) in checked:
                return True
            pairs = [*connection._check_list, *connection._nominated.values()]
            sources = {
                p.remote_addr
                for p in pairs
                if p.protocol is protocol and (p.state is succeeded or p.nominated)
            }
            return (addr[0], addr[1]) in sources

        def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
            try:
                size = len(data)
                if not size:
                    drop(Drop.EMPTY)
                elif size > MAX_DATAGRAM:
                    drop(Drop.OVERSIZED)
                elif 127 < data[0] < 192:
                    if not validated(addr):
                        drop(Drop.UNVALIDATED_SOURCE)
                        return
                    counts.heard_at = monotonic()
                    if _is_rtcp(data):
                        connection.data_received(data, component)
                    elif on_rtp is None:
                        drop(Drop.UNEXPECTED_RTP)
                    elif (session := private._rx_srtp) is None:  # not keyed yet: aiortc's way
                        connection.data_received(data, component)
                    else:
                        try:
                            plain = session.unprotect(data)
                        except (pylibsrtp.Error, ValueError):
                            drop(Drop.SRTP_REJECTED)
                            return
                        on_rtp(plain)
                elif data[0] < 4:
                    try:
                        parse_stun(data)
                    except ValueError:
                        drop(Drop.MALFORMED_STUN)
                        return
                    if validated(addr):
                        counts.heard_at = monotonic()  # consent checks keep a quiet leg alive
                    stun_path(data, addr)
                elif 19 < data[0] < 64:
                    if validated(addr):
                        counts.heard_at = monotonic()
                        connection.data_received(data, component)
                    else:
                        drop(Drop.UNVALIDATED_SOURCE)
                else:
                    drop(Drop.UNKNOWN_CLASS)
            except Exception:  # an asyncio callback: nothing may escape, and no flood of logs
                _failures.exception("handling a datagram on an ICE socket failed")

        protocol.datagram_received = datagram_received

    for protocol in connection._protocols:
        guard(protocol)
    _harden_rtcp(private, counts)
    if on_rtp is None:

        async def no_rtp(data: bytes, arrival_time_ms: int) -> None:
            counts.add(Drop.UNEXPECTED_RTP)

        private._handle_rtp_data = no_rtp
    return counts


CONSENT_RETRANSMISSIONS = 3
"""A consent check is sent again after 0.5, 1 and 2 s: a response up to 3.5 s late counts."""


def keep_consent(
    transport: RTCDtlsTransport, on_round_trip: Callable[[float], None] | None = None
) -> None:
    """Check consent (RFC 7675) without letting a loaded machine end the leg.

    aioice 0.13 sends each consent check once and waits 0.5 s for its response; six misses in
    a row close the connection. Under CPU contention every leg loses consent together: a
    server loop stalled for half a second (uvloop runs due timers before it reads the sockets,
    so the timeout wins over a response already waiting) or a browser starved of CPU answering
    late is a miss, and with every leg's checks in the same stalls, every leg misses six in a
    row within 30 s. Here the checks go out as aioice sends them (every 4-6 s, to each
    nominated pair) with retransmissions, and a missed one closes nothing: the leg watch
    closes a leg that has heard nothing at all from its peer for the consent period
    (`signaling/legs.py`, `ECOURT_LEG_SILENCE_SECONDS`). Call it with `guard_datagrams`,
    before ICE connects (aioice starts its consent task when it has). Each answered check's
    wait (seconds from the request to its response, retransmissions included) goes to
    `on_round_trip`."""
    private: Any = transport
    connection: Any = private.transport._connection

    async def query_consent() -> None:
        while True:
            await asyncio.sleep(ice.CONSENT_INTERVAL * (0.8 + 0.4 * random.random()))
            key = connection.remote_password.encode("utf8")
            for pair in list(connection._nominated.values()):
                request = connection.build_request(pair, nominate=False)
                sent_at = monotonic()
                with contextlib.suppress(stun.TransactionError):
                    await pair.protocol.request(
                        request,
                        pair.remote_addr,
                        integrity_key=key,
                        retransmissions=CONSENT_RETRANSMISSIONS,
                    )
                    if on_round_trip is not None:
                        on_round_trip(monotonic() - sent_at)

    connection.query_consent = query_consent


def _harden_rtcp(transport: Any, counts: DropCounts) -> None:
    """Parse incoming RTCP with `parse_rtcp` (a malformed compound packet is dropped whole)
    and keep any handler's failure away from the transport's receive loop."""
    router = transport._rtp_router

    async def handle_rtcp_data(data: bytes) -> None:
        try:
            packets = parse_rtcp(data)
        except ValueError:
            counts.add(Drop.MALFORMED_RTCP)
            _drops.warning("dropped a malformed RTCP packet")
            return
        for packet in packets:
            try:
                for recipient in router.route_rtcp(packet):
                    await recipient._handle_rtcp_packet(packet)
            except Exception:
                _failures.exception("handling an RTCP packet failed")

    transport._handle_rtcp_data = handle_rtcp_data


class RtpRoute:
    """The forwarding path's way out on one subscribe leg (an `RtpOut`): SRTP protect, then
    `sendto` on the nominated ICE pair's socket, synchronously.

    It skips the five coroutines between aiortc's `_send_rtp` and the datagram socket, and
    looks the nominated pair up once, at the first send (aiortc never renominates). With an
    AES-GCM profile it protects with `media.srtp.GcmProtector` under the leg's own DTLS-SRTP
    keys (in C, `media/_srtp_native.c`, when it is built); otherwise with aiortc's libsrtp
    session. aiortc's transmit counters are not updated.
    On asyncio's loop it writes to the datagram socket itself: media is real-time, so when
    the socket buffer is full the packet is dropped (the subscriber asks for it again with a
    NACK) rather than queued behind the buffer. On uvloop (the server's default) it calls the
    transport's `sendto`, which is libuv's and costs as little.
    """

    def __init__(self, transport: RTCDtlsTransport) -> None:
        self.transport = transport
        self.native_sender: GcmSender | None = None
        """The C sender (`media/_srtp_native.c`) that protects and sends for this route, once
        resolved (None: not built, or not an AES-GCM profile)."""
        self.send: Callable[[bytes, bytes, int, int], bytes] = self._send_first
        self.resend: Callable[[bytes], None] = self._resend_first

    @property
    def native(self) -> bool:
        """Whether the C sender protects and sends for this route."""
        return self.native_sender is not None

    def _send_first(self, header: bytes, payload: bytes, ssrc: int, index: int) -> bytes:
        self._resolve()
        return self.send(header, payload, ssrc, index)

    def _resend_first(self, packet: bytes) -> None:
        self._resolve()
        self.resend(packet)

    def _resolve(self) -> None:
        """Replace `send` and `resend` with closures over the route, once the leg is up."""
        private: Any = self.transport
        connected = State.CONNECTED
        if private._state is not connected:
            raise ConnectionError("the DTLS transport is not connected")
        pair = private.transport._connection._nominated.get(1)
        if pair is None:
            raise ConnectionError("no nominated ICE pair")
        address: tuple[str, int] = pair.remote_addr
        key = tx_gcm_key(self.transport)
        native = _native_sender(key, pair.protocol.transport, address) if key else None
        if native is not None:
            # The C sender has its own descriptor for the socket; it sends nothing more once
            # the leg is no longer connected (and a closed sender raises ConnectionError).
            def on_state_change() -> None:
                if private._state is not connected:
                    native.close()

            self.transport.on("statechange", on_state_change)
            self.native_sender = native
            self.send, self.resend = native.send, native.resend
            return
        sock = getattr(pair.protocol.transport, "_sock", None)
        sendto: Callable[[bytes, tuple[str, int]], Any] = (
            pair.protocol.transport.sendto if sock is None else sock.sendto
        )
        if key is not None:
            protect = GcmProtector(key).protect
        else:
            libsrtp: Callable[[bytes], bytes] = private._tx_srtp.protect

            def protect(header: bytes, payload: bytes, ssrc: int, index: int) -> bytes:
                return libsrtp(header + payload)

        def resend(packet: bytes) -> None:
            if private._state is not connected:
                raise ConnectionError("the DTLS transport is not connected")
            try:
                sendto(packet, address)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as exc:
                raise ConnectionError(str(exc)) from exc

        def send(header: bytes, payload: bytes, ssrc: int, index: int) -> bytes:
            packet = protect(header, payload, ssrc, index)
            resend(packet)
            return packet

        self.send, self.resend = send, resend


def _native_sender(key: bytes, transport: Any, address: tuple[str, int]) -> GcmSender | None:
    """The C sender on the datagram transport's socket, or None (not built, no socket, or an
    address it cannot take, such as a scoped IPv6 one)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return None
    try:
        return native_sender(key, sock.fileno(), address)
    except ValueError:
        return None


def tx_gcm_key(transport: RTCDtlsTransport) -> bytes | None:
    """The transport's outgoing SRTP master key and salt if it negotiated an AES-GCM profile
    (None for another profile): exported from the DTLS session as aiortc exports it (RFC 5764
    §4.2: the client's key, the server's key, the client's salt, the server's salt)."""
    private: Any = transport
    negotiated = private._ssl.get_selected_srtp_profile()
    for profile in SRTP_PROFILES:
        if profile.openssl_profile == negotiated:
            break
    else:
        return None
    if profile.salt_length != GCM_SALT_LENGTH:
        return None
    material = private._ssl.export_keying_material(
        b"EXTRACTOR-dtls_srtp", 2 * (profile.key_length + profile.salt_length)
    )
    key: bytes = profile.get_key_and_salt(material, 1 if private._role == "server" else 0)
    return key


class _SenderOwner:
    """Who a taken-over sender reports to: replaced when its section is reused."""

    __slots__ = ("on_send", "sent")

    def __init__(self, on_send: Callable[[RTCRtpSendParameters], None]) -> None:
        self.on_send = on_send
        self.sent = False


def take_over_sender(
    sender: RTCRtpSender,
    on_send: Callable[[RTCRtpSendParameters], None],
    on_rtcp: RtcpHandler,
) -> None:
    """Replace the sender's encoder loop and RTCP loop with idle tasks (the forwarder writes
    the packets, its owner the sender reports) and its RTCP feedback handling with `on_rtcp`.
    `on_send` receives the negotiated parameters once aiortc starts (or, for a section taken
    over again when it is reused, next negotiates) the sender."""
    private: Any = sender
    owner: _SenderOwner | None = getattr(private, "_ecourt_owner", None)
    if owner is not None:  # a reused section: the next negotiation reports to the new owner
        owner.on_send, owner.sent = on_send, False
        private._handle_rtcp_packet = on_rtcp
        return
    owner = private._ecourt_owner = _SenderOwner(on_send)
    started = (private._RTCRtpSender__rtp_started, private._RTCRtpSender__rtcp_started)
    exited = (private._RTCRtpSender__rtp_exited, private._RTCRtpSender__rtcp_exited)
    original_send = sender.send

    def idle(index: int) -> Callable[..., Awaitable[None]]:
        async def run(*_args: object) -> None:
            started[index].set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                pass
            finally:
                exited[index].set()

        return run

    async def send_and_report(parameters: RTCRtpSendParameters) -> None:
        await original_send(parameters)
        if not owner.sent:
            owner.sent = True
            owner.on_send(parameters)

    private._run_rtp = idle(0)
    private._run_rtcp = idle(1)
    private._handle_rtcp_packet = on_rtcp
    private.send = send_and_report


def sender_ssrc(sender: RTCRtpSender) -> int:
    ssrc: int = sender._ssrc
    return ssrc


def receiver_rtcp_ssrc(receiver: RTCRtpReceiver) -> int | None:
    private: Any = receiver
    ssrc: int | None = private._RTCRtpReceiver__rtcp_ssrc
    return ssrc


async def send_rtp(transport: RTCDtlsTransport, data: bytes) -> None:
    """Protect `data` (RTP or RTCP) with the transport's SRTP session and send it."""
    await transport._send_rtp(data)


async def close_peer_connection(pc: RTCPeerConnection) -> None:
    """Close `pc`. aiortc's close stops at the first transceiver without a transport (which a
    failed negotiation can leave behind); then stop every transport that exists ourselves, so
    that no socket or task outlives the leg."""
    try:
        await pc.close()
        return
    except Exception:
        _failures.exception("aiortc could not close a peer connection; stopping its transports")
    for transceiver in pc.getTransceivers():
        for dtls in {transceiver.receiver.transport, transceiver.sender.transport}:
            if dtls is None:
                continue
            for transport in (dtls, dtls.transport):
                with contextlib.suppress(Exception):
                    await transport.stop()


def local_ports(pc: RTCPeerConnection) -> list[int]:
    """The UDP ports the ICE sockets of `pc` are bound to (after it has gathered)."""
    ports: list[int] = []
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        connection: Any = None if dtls is None else dtls.transport._connection
        for protocol in [] if connection is None else connection._protocols:
            if protocol.transport is not None:
                ports.append(int(protocol.transport.get_extra_info("sockname")[1]))
    return sorted(set(ports))


class Heard:
    """When a leg last heard anything from its other end (`at`), and last heard media
    (`media_at`: RTP or RTCP, RFC 7983's 128-191); monotonic seconds, None before the first."""

    __slots__ = ("at", "media_at")

    def __init__(self) -> None:
        self.at: float | None = None
        self.media_at: float | None = None


def note_datagrams(pc: RTCPeerConnection) -> Heard:
    """Stamp every datagram that reaches the ICE sockets of `pc` (after it has gathered), before
    aioice sees it; for a client watching its own legs. Nothing is dropped or changed."""
    heard = Heard()
    seen: set[int] = set()
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        connection: Any = None if dtls is None else dtls.transport._connection
        for protocol in [] if connection is None else connection._protocols:
            if id(protocol) in seen:
                continue
            seen.add(id(protocol))
            receive = protocol.datagram_received

            def noted(data: bytes, addr: tuple[Any, ...], _receive: Any = receive) -> None:
                heard.at = monotonic()
                if data and 127 < data[0] < 192:
                    heard.media_at = heard.at
                _receive(data, addr)

            protocol.datagram_received = noted
    return heard


def bind_in_port_range(pc: RTCPeerConnection, ports: tuple[int, int]) -> None:
    """Make the ICE agents of `pc` bind their host sockets to ports within `ports` (inclusive),
    so that a firewall or a container needs to open only that range. Call it before
    setLocalDescription (which gathers); the server gathers host candidates only. A data
    channel's transport (it exists once a remote offer with one is set) is bound too."""
    transports = [t.receiver.transport for t in pc.getTransceivers()]
    if pc.sctp is not None:
        transports.append(pc.sctp.transport)
    for dtls in transports:
        if dtls is None:
            continue
        connection: Any = dtls.transport._connection

        async def host_candidates(
            component: int, addresses: list[str], timeout: int = 5, _c: Any = connection
        ) -> list[Candidate]:
            return await _host_candidates_in(ports, _c, component, addresses)

        connection.get_component_candidates = host_candidates


async def _host_candidates_in(
    ports: tuple[int, int], connection: Any, component: int, addresses: list[str]
) -> list[Candidate]:
    """aioice's host candidate gathering, with each socket bound in `ports`."""
    loop = asyncio.get_running_loop()
    low, high = ports
    candidates = []
    for address in addresses:
        bound = await _bind_in(ports, loop, connection, address)
        if bound is None:
            continue
        transport, protocol = bound
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, turn.UDP_SOCKET_BUFFER_SIZE)
        host, port = transport.get_extra_info("sockname")[:2]
        protocol.local_candidate = Candidate(
            foundation=candidate_foundation("host", "udp", host),
            component=component,
            transport="udp",
            priority=candidate_priority(component, "host"),
            host=host,
            port=port,
            type="host",
        )
        connection._protocols.append(protocol)
        candidates.append(protocol.local_candidate)
    if addresses and not candidates:
        raise PortsExhausted(f"no free UDP port in {low}-{high}")
    return candidates


async def _bind_in(
    ports: tuple[int, int], loop: asyncio.AbstractEventLoop, connection: Any, address: str
) -> tuple[Any, Any] | None:
    """A datagram endpoint on `address` and a free port of the range, tried from a random one;
    None if the address cannot be bound or the range is full on it.

    The socket is bound here rather than by the loop: uvloop reports a busy port as an OSError
    without an errno, so only the kernel's own answer tells "taken" from "cannot bind"."""
    low, high = ports
    size = high - low + 1
    start = random.randrange(size)
    for offset in range(size):
        port = low + (start + offset) % size
        try:
            sock = _udp_socket_on(address, port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                continue
            log.info("cannot bind a media socket on %s: %s", address, exc)
            return None
        try:
            return await loop.create_datagram_endpoint(lambda: StunProtocol(connection), sock=sock)
        except BaseException:
            sock.close()
            raise
    return None


def _udp_socket_on(address: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to the numeric `address` and `port`."""
    family, _, _, _, sockaddr = socket.getaddrinfo(
        address, port, type=socket.SOCK_DGRAM, flags=socket.AI_NUMERICHOST
    )[0]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.bind(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def decoder_thread_id(receiver: RTCRtpReceiver) -> int | None:
    """The native id of the receiver's decoder thread (idle on the forwarding path)."""
    private: Any = receiver
    thread = private._RTCRtpReceiver__decoder_thread
    return None if thread is None else int(thread.native_id)
