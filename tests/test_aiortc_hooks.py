"""The private aiortc names the forwarding path uses are where the hooks expect them."""

from __future__ import annotations

from typing import Any

import aiortc
import pytest
from aioice.ice import CandidatePair, Connection
from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter

from media import AiortcShapeChanged, MediaEngine, MediaSettings
from media._aiortc_hooks import TESTED_AIORTC, check_aiortc_shape


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
