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
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters, RTCRtpSendParameters

from media.errors import AiortcShapeChanged

TESTED_AIORTC = "1.16.0"

RtpHandler = Callable[[bytes, int], Awaitable[None]]
RtcpHandler = Callable[[Any], Awaitable[None]]

_SIGNATURES: list[tuple[Any, str, list[str]]] = [
    (RTCDtlsTransport, "_handle_rtp_data", ["self", "data", "arrival_time_ms"]),
    (RTCDtlsTransport, "_register_rtp_receiver", ["self", "receiver", "parameters"]),
    (RTCDtlsTransport, "_send_rtp", ["self", "data"]),
    (Connection, "data_received", ["self", "data", "component"]),
    (RTCRtpSender, "send", ["self", "parameters"]),
    (RTCRtpSender, "_run_rtp", ["self", "codec"]),
    (RTCRtpSender, "_run_rtcp", ["self"]),
    (RTCRtpSender, "_handle_rtcp_packet", ["self", "packet"]),
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
    (Connection, ("_nominated", "_queue")),
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


def _is_srtp(data: bytes) -> bool:
    """RTP (not RTCP) by RFC 5761's demultiplexing: first byte 128-191, second not 192-208."""
    return len(data) >= 12 and 127 < data[0] < 192 and not 192 <= data[1] <= 208


def guard_datagrams(
    transport: RTCDtlsTransport, on_rtp: Callable[[bytes], None] | None = None
) -> Callable[[], int]:
    """Filter what the ICE connection hands to aiortc, in its datagram callback.

    Zero-length datagrams are dropped (aiortc 1.16 closes the connection on one). With
    `on_rtp`, SRTP packets are unprotected here and handed to `on_rtp` at once, skipping
    aiortc's queue, task switch and router; DTLS, RTCP and the rest take aiortc's path.
    Returns a function that counts the datagrams dropped.
    """
    private: Any = transport
    connection: Any = private.transport._connection
    enqueue = connection.data_received
    dropped = 0

    def data_received(data: bytes, component: int) -> None:
        nonlocal dropped
        if not data:
            dropped += 1
            return
        session = private._rx_srtp
        if on_rtp is not None and session is not None and _is_srtp(data):
            try:
                plain = session.unprotect(data)
            except pylibsrtp.Error:
                dropped += 1
                return
            on_rtp(plain)
            return
        enqueue(data, component)

    connection.data_received = data_received
    return lambda: dropped


def take_over_sender(
    sender: RTCRtpSender,
    on_send: Callable[[RTCRtpSendParameters], None],
    on_rtcp: RtcpHandler,
    rtcp_loop: Callable[[], Awaitable[None]],
) -> None:
    """Replace the sender's encoder loop with nothing (packets are written by the forwarder),
    its RTCP loop with `rtcp_loop`, and its RTCP feedback handling with `on_rtcp`.
    `on_send` receives the negotiated parameters once aiortc starts the sender."""
    private: Any = sender
    rtp_started: asyncio.Event = private._RTCRtpSender__rtp_started
    rtp_exited: asyncio.Event = private._RTCRtpSender__rtp_exited
    rtcp_started: asyncio.Event = private._RTCRtpSender__rtcp_started
    rtcp_exited: asyncio.Event = private._RTCRtpSender__rtcp_exited
    original_send = sender.send
    sent = False

    async def idle_rtp(_codec: object) -> None:
        rtp_started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass
        finally:
            rtp_exited.set()

    async def own_rtcp() -> None:
        rtcp_started.set()
        try:
            await rtcp_loop()
        except asyncio.CancelledError:
            pass
        finally:
            rtcp_exited.set()

    async def send_and_report(parameters: RTCRtpSendParameters) -> None:
        nonlocal sent
        await original_send(parameters)
        if not sent:
            sent = True
            on_send(parameters)

    target: Any = sender
    target._run_rtp = idle_rtp
    target._run_rtcp = own_rtcp
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


def send_rtp_now(transport: RTCDtlsTransport, data: bytes) -> None:
    """Protect one RTP packet and hand it to the socket, synchronously.

    The forwarding path's send: it skips the five coroutines between aiortc's
    `_send_rtp` and the datagram socket (about 2 µs a packet). aiortc's transmit counters
    are not updated. Raises ConnectionError when the transport cannot send.
    """
    private: Any = transport
    if private._state is not State.CONNECTED:
        raise ConnectionError("the DTLS transport is not connected")
    pair = private.transport._connection._nominated.get(1)
    if pair is None:
        raise ConnectionError("no nominated ICE pair")
    pair.protocol.transport.sendto(private._tx_srtp.protect(data), pair.remote_addr)


def decoder_thread_id(receiver: RTCRtpReceiver) -> int | None:
    """The native id of the receiver's decoder thread (idle on the forwarding path)."""
    private: Any = receiver
    thread = private._RTCRtpReceiver__decoder_thread
    return None if thread is None else int(thread.native_id)
