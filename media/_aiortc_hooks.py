"""Every private aiortc name the SFU uses, in one place, pinned to the tested aiortc version.

aiortc's receivers decode and its senders encode. The forwarding path instead takes RTP after
SRTP unprotect on the publisher's DTLS transport, and writes RTP straight into each subscriber's
DTLS transport (which applies SRTP protect). `check_aiortc_shape()` runs at engine start and
fails loudly if aiortc no longer looks the way these hooks expect.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import aiortc
import pylibsrtp
from aioice import Connection
from aioice.ice import StunProtocol
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters, RTCRtpSendParameters
from aiortc.rtp import RtcpSrPacket

from media.errors import AiortcShapeChanged

TESTED_AIORTC = "1.16.0"

RtpHandler = Callable[[bytes, int], Awaitable[None]]
RtcpHandler = Callable[[Any], Awaitable[None]]

_SIGNATURES: list[tuple[Any, str, list[str]]] = [
    (RTCDtlsTransport, "_handle_rtp_data", ["self", "data", "arrival_time_ms"]),
    (RTCDtlsTransport, "_register_rtp_receiver", ["self", "receiver", "parameters"]),
    (RTCDtlsTransport, "_send_rtp", ["self", "data"]),
    (Connection, "data_received", ["self", "data", "component"]),
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
    (RTCDtlsTransport, ("_state", "_tx_srtp", "_rx_srtp", "_rtp_router")),
    (Connection, ("_nominated", "_protocols")),
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


def _is_srtp(data: bytes) -> bool:
    """RTP (not RTCP) by RFC 5761's demultiplexing: first byte 128-191, second not 192-208."""
    return len(data) >= 12 and 127 < data[0] < 192 and not 192 <= data[1] <= 208


def guard_datagrams(
    transport: RTCDtlsTransport, on_rtp: Callable[[bytes], None] | None = None
) -> Callable[[], int]:
    """Filter datagrams as they come off the ICE sockets, before aiortc and aioice see them.

    Call it once ICE has gathered (after setLocalDescription), before the candidates are
    sent anywhere. Zero-length datagrams are dropped (aiortc 1.16 closes the connection on
    one). RTP and RTCP (first byte 128-191; STUN's is 0-3) skip aioice's STUN parse. With
    `on_rtp`, SRTP packets are unprotected right here and handed to `on_rtp`, skipping aiortc's
    queue, task switch and router; DTLS, RTCP and STUN take aiortc's path as before.
    Returns a function that counts the datagrams dropped.
    """
    private: Any = transport
    connection: Any = private.transport._connection
    dropped = 0

    def guard(protocol: Any) -> None:
        stun_path = protocol.datagram_received
        component = protocol.local_candidate.component

        def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
            nonlocal dropped
            if not data:
                dropped += 1
            elif 127 < data[0] < 192:
                session = private._rx_srtp
                if on_rtp is not None and session is not None and _is_srtp(data):
                    try:
                        plain = session.unprotect(data)
                    except pylibsrtp.Error:
                        dropped += 1
                        return
                    on_rtp(plain)
                else:
                    connection.data_received(data, component)
            else:
                stun_path(data, addr)

        protocol.datagram_received = datagram_received

    for protocol in connection._protocols:
        guard(protocol)
    return lambda: dropped


def _socket_send(transport: Any) -> Callable[[bytes, tuple[str, int]], None]:
    """Send straight on the datagram socket, past asyncio's transport bookkeeping.

    Media is real-time: when the socket buffer is full the packet is dropped (the subscriber
    asks for it again with a NACK) rather than queued behind the buffer.
    """
    sock = getattr(transport, "_sock", None)
    if sock is None:  # not a selector transport: take asyncio's way
        send: Callable[[bytes, tuple[str, int]], None] = transport.sendto
        return send

    def send_now(data: bytes, address: tuple[str, int]) -> None:
        try:
            sock.sendto(data, address)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            raise ConnectionError(str(exc)) from exc

    return send_now


def rtp_sender(transport: RTCDtlsTransport) -> Callable[[bytes], None]:
    """A synchronous send for the forwarding path: SRTP protect, then the socket.

    It skips the five coroutines between aiortc's `_send_rtp` and the datagram socket, and
    looks the nominated ICE pair up once (aiortc never renominates). aiortc's transmit
    counters are not updated. The send raises ConnectionError when the transport is not up.
    """
    private: Any = transport
    route: tuple[Any, tuple[str, int], Any] | None = None

    def send(data: bytes) -> None:
        nonlocal route
        if private._state is not State.CONNECTED:
            raise ConnectionError("the DTLS transport is not connected")
        if route is None:
            pair = private.transport._connection._nominated.get(1)
            if pair is None:
                raise ConnectionError("no nominated ICE pair")
            route = (
                _socket_send(pair.protocol.transport),
                pair.remote_addr,
                private._tx_srtp.protect,
            )
        sendto, address, protect = route
        sendto(protect(data), address)

    return send


def take_over_sender(
    sender: RTCRtpSender,
    on_send: Callable[[RTCRtpSendParameters], None],
    on_rtcp: RtcpHandler,
) -> None:
    """Replace the sender's encoder loop and RTCP loop with idle tasks (the forwarder writes
    the packets, its owner the sender reports) and its RTCP feedback handling with `on_rtcp`.
    `on_send` receives the negotiated parameters once aiortc starts the sender."""
    private: Any = sender
    started = (private._RTCRtpSender__rtp_started, private._RTCRtpSender__rtcp_started)
    exited = (private._RTCRtpSender__rtp_exited, private._RTCRtpSender__rtcp_exited)
    original_send = sender.send
    sent = False

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
        nonlocal sent
        await original_send(parameters)
        if not sent:
            sent = True
            on_send(parameters)

    target: Any = sender
    target._run_rtp = idle(0)
    target._run_rtcp = idle(1)
    target._handle_rtcp_packet = on_rtcp
    target.send = send_and_report


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


def decoder_thread_id(receiver: RTCRtpReceiver) -> int | None:
    """The native id of the receiver's decoder thread (idle on the forwarding path)."""
    private: Any = receiver
    thread = private._RTCRtpReceiver__decoder_thread
    return None if thread is None else int(thread.native_id)
