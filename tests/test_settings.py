"""Settings are read once from the environment, typed, and never print a secret."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path

import pytest
import uvloop

from web.cli import new_event_loop
from web.settings import Settings, SettingsError

API_KEY = "operator-chosen-api-key"
TOKEN_KEY = "operator-chosen-token-key-of-32-chars!"


def test_an_empty_environment_gives_a_local_server_with_generated_keys() -> None:
    settings = Settings.from_env({})
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.api_key_generated is True
    assert len(settings.api_key.value) >= 16
    assert len(settings.token_key.value) >= 32
    assert settings.redis_url is None


def test_generated_keys_differ_between_runs() -> None:
    first, second = Settings.from_env({}), Settings.from_env({})
    assert first.api_key.value != second.api_key.value
    assert first.token_key.value != second.token_key.value


def test_the_environment_sets_every_value() -> None:
    settings = Settings.from_env(
        {
            "ECOURT_HOST": "0.0.0.0",
            "ECOURT_PORT": "9443",
            "ECOURT_API_KEY": API_KEY,
            "ECOURT_TOKEN_KEY": TOKEN_KEY,
            "ECOURT_DATA_DIR": "/var/lib/ecourt",
            "ECOURT_REDIS_URL": "redis://127.0.0.1:6379/0",
            "ECOURT_PUBLIC_URL": "https://court.example/",
            "ECOURT_TOKEN_TTL": "3600",
        }
    )
    assert (settings.host, settings.port) == ("0.0.0.0", 9443)
    assert settings.api_key.equals(API_KEY.encode())
    assert settings.api_key_generated is False
    assert settings.token_key.equals(TOKEN_KEY.encode())
    assert settings.data_dir == Path("/var/lib/ecourt")
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.base_url == "https://court.example"
    assert settings.default_token_ttl == 3600


def test_command_line_overrides_win_over_the_environment() -> None:
    settings = Settings.from_env({"ECOURT_HOST": "0.0.0.0", "ECOURT_PORT": "9443"}, port=8000)
    assert (settings.host, settings.port) == ("0.0.0.0", 8000)


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"ECOURT_API_KEY": "too-short"}, "ECOURT_API_KEY"),
        ({"ECOURT_TOKEN_KEY": "too-short-for-an-hmac-key"}, "ECOURT_TOKEN_KEY"),
        ({"ECOURT_PORT": "http"}, "ECOURT_PORT"),
        ({"ECOURT_PORT": "65536"}, "ECOURT_PORT"),
        ({"ECOURT_TOKEN_TTL": "59"}, "ECOURT_TOKEN_TTL"),
        ({"ECOURT_REDIS_VOLATILE": "yes"}, "ECOURT_REDIS_VOLATILE"),
    ],
)
def test_an_unusable_value_is_refused_naming_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)


def test_a_volatile_redis_is_accepted_only_when_set_to_1() -> None:
    assert Settings.from_env({}).redis_volatile is False
    assert Settings.from_env({"ECOURT_REDIS_VOLATILE": "0"}).redis_volatile is False
    assert Settings.from_env({"ECOURT_REDIS_VOLATILE": "1"}).redis_volatile is True


def test_a_token_key_from_the_environment_is_not_replaced_by_a_kept_one() -> None:
    assert Settings.from_env({}).token_key_generated is True
    chosen = Settings.from_env({"ECOURT_TOKEN_KEY": TOKEN_KEY})
    assert chosen.token_key_generated is False and chosen.token_key.value == TOKEN_KEY.encode()


def test_a_refused_key_is_not_echoed() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"ECOURT_API_KEY": "short-secret"})
    assert "short-secret" not in str(refused.value)


def test_settings_never_print_their_secrets() -> None:
    settings = Settings.from_env({"ECOURT_API_KEY": API_KEY, "ECOURT_TOKEN_KEY": TOKEN_KEY})
    for text in (repr(settings), str(settings), f"{settings!r} {settings.api_key}"):
        assert API_KEY not in text
        assert TOKEN_KEY not in text


def test_settings_as_a_dict_never_carry_their_secrets() -> None:
    settings = Settings.from_env({"ECOURT_API_KEY": API_KEY, "ECOURT_TOKEN_KEY": TOKEN_KEY})
    text = repr(dataclasses.asdict(settings))
    assert API_KEY not in text
    assert TOKEN_KEY not in text


def test_settings_cannot_change_after_they_are_read() -> None:
    settings = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]


def test_allowed_origins_are_read_as_a_list_of_origins_and_checked() -> None:
    settings = Settings.from_env(
        {"ECOURT_ALLOWED_ORIGINS": "https://a.example, https://b.example/"}
    )
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    with pytest.raises(SettingsError):
        Settings.from_env({"ECOURT_ALLOWED_ORIGINS": "https://a.example/path"})


def test_the_livestream_defaults_to_30_s_behind_at_720p30() -> None:
    settings = Settings.from_env({})
    assert settings.livestream_delay == 30.0
    assert (settings.livestream_size, settings.livestream_fps) == ((1280, 720), 30)
    assert settings.livestream_preset == "veryfast"
    assert settings.court_language == "vi"
    assert settings.time_zone == "Asia/Ho_Chi_Minh" and settings.zone.key == "Asia/Ho_Chi_Minh"


def test_the_environment_sets_the_livestream() -> None:
    settings = Settings.from_env(
        {
            "ECOURT_LIVESTREAM_DELAY_SECONDS": "70",
            "ECOURT_LIVESTREAM_SIZE": "854x480",
            "ECOURT_LIVESTREAM_FPS": "25",
            "ECOURT_LIVESTREAM_PRESET": "ultrafast",
            "ECOURT_LANGUAGE": "en",
            "ECOURT_TIME_ZONE": "Europe/Paris",
            "ECOURT_COURT_CONTACT": " TAND TP. Hồ Chí Minh, 028 3829 0000 ",
        }
    )
    assert settings.livestream_delay == 70.0
    assert (settings.livestream_size, settings.livestream_fps) == ((854, 480), 25)
    assert settings.livestream_preset == "ultrafast"
    assert settings.court_language == "en"
    assert settings.time_zone == "Europe/Paris"
    assert settings.court_contact == "TAND TP. Hồ Chí Minh, 028 3829 0000"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ECOURT_LIVESTREAM_DELAY_SECONDS", "-1"),
        ("ECOURT_LIVESTREAM_DELAY_SECONDS", "soon"),
        ("ECOURT_LIVESTREAM_SIZE", "720p"),
        ("ECOURT_LIVESTREAM_SIZE", "1281x720"),
        ("ECOURT_LIVESTREAM_SIZE", "99999x720"),
        ("ECOURT_LIVESTREAM_FPS", "0"),
        ("ECOURT_LIVESTREAM_PRESET", "placebo"),
        ("ECOURT_LANGUAGE", "fr"),
        ("ECOURT_TIME_ZONE", "Saigon/Nowhere"),
        ("ECOURT_TIME_ZONE", "../etc/passwd"),
        ("ECOURT_COURT_CONTACT", "two\nlines"),
        ("ECOURT_COURT_CONTACT", "x" * 201),
    ],
)
def test_a_livestream_setting_that_cannot_be_used_is_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({name: value})
    assert name in str(refused.value)


def test_media_ports_the_announced_address_and_ice_servers_are_read() -> None:
    settings = Settings.from_env(
        {
            "ECOURT_UDP_PORTS": "50000-50100",
            "ECOURT_ANNOUNCED_IP": "203.0.113.7",
            "ECOURT_STUN_URLS": "stun:stun.court.example:3478",
            "ECOURT_TURN_URLS": "turn:turn.court.example:3478?transport=udp, "
            "turns:turn.court.example:5349",
            "ECOURT_TURN_USERNAME": "ecourt",
            "ECOURT_TURN_CREDENTIAL": "turn-secret-value",
        }
    )
    assert settings.udp_ports == (50000, 50100)
    assert settings.announced_ip == "203.0.113.7"
    assert settings.stun_urls == ("stun:stun.court.example:3478",)
    assert settings.turn_urls[1] == "turns:turn.court.example:5349"
    assert settings.turn_credential is not None
    assert settings.turn_credential.equals(b"turn-secret-value")
    assert "turn-secret-value" not in repr(settings) + repr(dataclasses.asdict(settings))


def test_without_media_settings_any_port_and_no_ice_servers() -> None:
    settings = Settings.from_env({})
    assert settings.udp_ports is None and settings.announced_ip is None
    assert settings.stun_urls == settings.turn_urls == ()


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"ECOURT_UDP_PORTS": "50000"}, "ECOURT_UDP_PORTS"),
        ({"ECOURT_UDP_PORTS": "50100-50000"}, "ECOURT_UDP_PORTS"),
        ({"ECOURT_UDP_PORTS": "80-90"}, "ECOURT_UDP_PORTS"),
        ({"ECOURT_UDP_PORTS": "60000-70000"}, "ECOURT_UDP_PORTS"),
        ({"ECOURT_ANNOUNCED_IP": "court.example"}, "ECOURT_ANNOUNCED_IP"),
        ({"ECOURT_STUN_URLS": "http://stun.example"}, "ECOURT_STUN_URLS"),
        ({"ECOURT_TURN_URLS": "stun:turn.example"}, "ECOURT_TURN_URLS"),
        ({"ECOURT_TURN_URLS": "turn:turn.example"}, "ECOURT_TURN_USERNAME"),
    ],
)
def test_unusable_media_settings_are_refused_naming_the_variable(
    env: dict[str, str], name: str
) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)


def test_the_key_ring_must_live_outside_the_data_directory(tmp_path: Path) -> None:
    inside = {
        "ECOURT_DATA_DIR": str(tmp_path / "data"),
        "ECOURT_KEYRING": str(tmp_path / "data" / "k.json"),
    }
    with pytest.raises(SettingsError, match="ECOURT_KEYRING"):
        Settings.from_env(inside)
    outside = {
        "ECOURT_DATA_DIR": str(tmp_path / "data"),
        "ECOURT_KEYRING": str(tmp_path / "k.json"),
    }
    assert Settings.from_env(outside).keyring_path == tmp_path / "k.json"


def test_the_key_ring_defaults_to_the_users_config_directory(tmp_path: Path) -> None:
    settings = Settings.from_env({"XDG_CONFIG_HOME": str(tmp_path)})
    assert settings.keyring_path == tmp_path / "ecourt" / "keyring.json"


def test_the_server_runs_on_uvloop_unless_told_to_use_asyncios_own_loop() -> None:
    assert Settings.from_env({}).event_loop == "uvloop"
    assert Settings.from_env({"ECOURT_EVENT_LOOP": "asyncio"}).event_loop == "asyncio"
    with pytest.raises(SettingsError, match="ECOURT_EVENT_LOOP is one of uvloop, asyncio"):
        Settings.from_env({"ECOURT_EVENT_LOOP": "trio"})


def test_each_event_loop_setting_gives_that_loop() -> None:
    for kind, expected in (("uvloop", uvloop.Loop), ("asyncio", asyncio.BaseEventLoop)):
        loop = new_event_loop(kind)
        try:
            assert isinstance(loop, expected)
            assert isinstance(loop, uvloop.Loop) == (kind == "uvloop")
        finally:
            loop.close()


async def test_async_tests_run_on_the_loop_the_server_ships_with() -> None:
    kind = os.environ.get("ECOURT_EVENT_LOOP") or "uvloop"
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop) == (kind == "uvloop")
