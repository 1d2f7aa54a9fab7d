"""The private aiortc names the forwarding path uses are where the hooks expect them."""

from __future__ import annotations

import aiortc
import pytest
from aiortc.rtcdtlstransport import RTCDtlsTransport

from media import AiortcShapeChanged, MediaEngine, MediaSettings
from media._aiortc_hooks import TESTED_AIORTC, check_aiortc_shape


def test_the_installed_aiortc_is_the_one_the_hooks_were_tested_on() -> None:
    assert aiortc.__version__ == TESTED_AIORTC
    check_aiortc_shape()


def test_a_moved_private_method_fails_loudly_and_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(RTCDtlsTransport, "_handle_rtp_data")
    with pytest.raises(AiortcShapeChanged, match=r"RTCDtlsTransport\._handle_rtp_data is gone"):
        check_aiortc_shape()


async def test_the_engine_refuses_to_start_on_another_aiortc(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(aiortc, "__version__", "9.9.9")
    with pytest.raises(AiortcShapeChanged, match=r"aiortc is 9\.9\.9"):
        await MediaEngine(MediaSettings()).start()
