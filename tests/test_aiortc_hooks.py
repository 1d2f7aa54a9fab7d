"""The private aiortc names the forwarding path uses are where the hooks expect them."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiortc
import pytest
from aioice.ice import CandidatePair, Connection
from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter

from media import AiortcShapeChanged, MediaEngine, MediaSettings
from media._aiortc_hooks import (
    TESTED_AIORTC,
    _bind_in,
    _host_candidates_in,
    check_aiortc_shape,
)
from media.errors import PortsExhausted


def test_the_installed_aiortc_is_the_one_the_hooks_were_tested_on() -> None:
    assert aiortc.__version__ == TESTED_AIORTC
    check_aiortc_shape()


def test_a_moved_private_method_fails_loudly_and_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(RTCDtlsTransport, "_handle_rtp_data")
    with pytest.raises(AiortcShapeChanged, match=r"RTCDtlsTransport\._handle_rtp_data is gone"):
        check_aiortc_shape()


@pytest.mark.parametrize(
    ("owner", "name", "named"),
    [
        (RTCDtlsTransport, "_handle_rtcp_data", r"RTCDtlsTransport\._handle_rtcp_data is gone"),
        (RtpRouter, "route_rtcp", r"RtpRouter\.route_rtcp is gone"),
        (CandidatePair, "remote_addr", r"CandidatePair\.remote_addr is no longer a property"),
    ],
)
def test_what_the_datagram_guard_relies_on_is_checked_too(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, named: str
) -> None:
    monkeypatch.delattr(owner, name)
    with pytest.raises(AiortcShapeChanged, match=named):
        check_aiortc_shape()


def test_an_ice_connection_without_its_check_list_fails_loudly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def init_without_check_list(self: Any) -> None:
        self._nominated = {}
        self._protocols = []

    monkeypatch.setattr(Connection, "__init__", init_without_check_list)
    with pytest.raises(AiortcShapeChanged, match="Connection no longer sets _check_list"):
        check_aiortc_shape()


async def test_the_engine_refuses_to_start_on_another_aiortc(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(aiortc, "__version__", "9.9.9")
    with pytest.raises(AiortcShapeChanged, match=r"aiortc is 9\.9\.9"):
        await MediaEngine(MediaSettings()).start()


def squat(host: str, count: int) -> tuple[tuple[int, int], list[socket.socket]]:
    """`count` consecutive ports on `host`, all bound by this test: (range, sockets)."""
    for low in range(20000, 30000, count):
        taken: list[socket.socket] = []
        try:
            for port in range(low, low + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                taken.append(sock)
                sock.bind((host, port))
        except OSError:
            for sock in taken:
                sock.close()
            continue
        return (low, low + count - 1), taken
    raise AssertionError("no free run of ports below the ephemeral range")


async def test_a_busy_port_is_skipped_for_a_free_one_of_the_range() -> None:
    # The start is random, so most tries begin on a busy port; the event loop in use (uvloop)
    # reports a busy port without an errno, which once ended the search there.
    ports, taken = squat("127.0.0.1", 8)
    taken.pop().close()
    free = ports[1]
    try:
        for _ in range(16):
            bound = await _bind_in(ports, asyncio.get_running_loop(), Connection(True), "127.0.0.1")
            assert bound is not None
            transport, _protocol = bound
            assert transport.get_extra_info("sockname")[1] == free
            transport.close()
            await asyncio.sleep(0)
    finally:
        for sock in taken:
            sock.close()


async def test_a_full_range_and_an_address_of_no_interface_bind_nothing() -> None:
    ports, taken = squat("127.0.0.1", 2)
    loop = asyncio.get_running_loop()
    try:
        assert await _bind_in(ports, loop, Connection(True), "127.0.0.1") is None
        with pytest.raises(PortsExhausted, match=f"{ports[0]}-{ports[1]}"):
            await _host_candidates_in(ports, Connection(True), 1, ["127.0.0.1"])
    finally:
        for sock in taken:
            sock.close()
    assert await _bind_in((30000, 30001), loop, Connection(True), "192.0.2.1") is None
