"""The first door: every socket.io frame is checked before python-socketio dispatches it.

A frame that is not this protocol is a protocol violation, and its connection is closed:
one that does not decode (bad JSON, JSON nested past Python's recursion limit), a binary
frame, a namespace other than `/hearing` and the supervision board's `/court`, an event or
acknowledgement before the connection joined its namespace, any event or acknowledgement on
`/court` (the board only listens), an event that is not `[name, payload?]`, a second connect
(to either namespace: one connection is a participant or a board, never both), or more than
`MAX_CONNECT_ATTEMPTS` tries with credentials on one connection. A conforming client never sends
any of them. Without this door python-socketio logs a stack trace for each such frame and
never counts it against the connection's limits.
"""

from __future__ import annotations

from typing import Final

from socketio import packet

from signaling.errors import SignalingError

MAX_CONNECT_ATTEMPTS: Final = 3
"""Refused tokens one connection may present before it is closed (no guessing on one socket)."""
MAX_EVENT_NAME: Final = 40


class JsonPacket(packet.Packet):  # type: ignore[misc]
    """This protocol is JSON only. python-socketio otherwise walks every payload it sends
    looking for bytes: under a flood that walk was a fifth of the server's time."""

    uses_binary_events = False


class ProtocolViolation(SignalingError):
    """A frame outside the protocol; the connection is closed with `protocol_error`."""

    code = "protocol_error"


def check_frame(
    data: object, *, namespaces: tuple[str, ...], joined: str | None, listen_only: str = ""
) -> tuple[int, str]:
    """Return the socket.io packet type of `data` and its namespace, or raise
    `ProtocolViolation` saying why.

    `namespaces`: those served; `joined`: the one this engine.io connection has joined, if
    any; `listen_only`: a namespace whose clients send no events at all.
    """
    if not isinstance(data, str):
        raise ProtocolViolation("binary frames are not part of this protocol")
    try:
        decoded = JsonPacket(encoded_packet=data)
    except (ValueError, TypeError, KeyError, IndexError, RecursionError):
        raise ProtocolViolation("the frame is not a socket.io packet") from None
    namespace = decoded.namespace
    if namespace not in namespaces:
        raise ProtocolViolation(f"only the {' and '.join(namespaces)} namespaces are served")
    kind = decoded.packet_type
    if kind == packet.CONNECT:
        if joined is not None:
            raise ProtocolViolation("this connection has already joined")
    elif kind in (packet.EVENT, packet.ACK):
        if joined != namespace:
            raise ProtocolViolation("join with a token before sending anything else")
        if namespace == listen_only:
            raise ProtocolViolation(f"the {namespace} namespace only listens")
        if kind == packet.EVENT:
            _check_event(decoded.data)
    elif kind != packet.DISCONNECT:
        raise ProtocolViolation("binary and error packets are not part of this protocol")
    return int(kind), str(namespace)


def _check_event(data: object) -> None:
    if not isinstance(data, list) or not 1 <= len(data) <= 2:
        raise ProtocolViolation("an event is [name] or [name, payload]")
    name = data[0]
    if not isinstance(name, str) or not 0 < len(name) <= MAX_EVENT_NAME:
        raise ProtocolViolation(f"an event name is a string of 1 to {MAX_EVENT_NAME} characters")
