"""The Python client uses the court's STUN and TURN servers from the welcome, and never
aiortc's default public STUN server."""

from __future__ import annotations

from signaling.client import ice_servers_from


def test_the_welcomes_ice_servers_are_used_and_malformed_entries_skipped() -> None:
    servers = ice_servers_from(
        {
            "ice_servers": [
                {"urls": ["stun:stun.court.example:3478"]},
                {"urls": "turn:turn.court.example:3478", "username": "u", "credential": "c"},
                {"urls": 7},
                "stun:bad",
            ]
        }
    )
    assert [s.urls for s in servers] == [
        ["stun:stun.court.example:3478"],
        "turn:turn.court.example:3478",
    ]
    assert servers[1].username == "u" and servers[1].credential == "c"


def test_no_ice_servers_in_the_welcome_means_none_at_all() -> None:
    assert ice_servers_from({}) == []
    assert ice_servers_from({"ice_servers": None}) == []
