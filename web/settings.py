"""Settings, read once from the environment (ECOURT_*) and the command line. Secrets never print."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from security import Secret


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""

    code = "bad_setting"


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer") from exc
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "")
    if raw not in ("", "0", "1"):
        raise SettingsError(f"{name} is 1 or 0")
    return raw == "1"


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
            raise SettingsError("ECOURT_ALLOWED_ORIGINS holds origins like https://court.example")
    return origins


def _size(raw: str) -> tuple[int, int]:
    width, _, height = raw.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError as exc:
        raise SettingsError("ECOURT_LIVESTREAM_SIZE is WIDTHxHEIGHT, like 1280x720") from exc
    if not (64 <= size[0] <= 3840 and 64 <= size[1] <= 2160) or (size[0] | size[1]) & 1:
        raise SettingsError("ECOURT_LIVESTREAM_SIZE must be even, 64x64 to 3840x2160")
    return size


PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")


def _preset(raw: str) -> str:
    if raw not in PRESETS:
        raise SettingsError(f"ECOURT_LIVESTREAM_PRESET is one of {', '.join(PRESETS)}")
    return raw


def default_keyring_path(env: Mapping[str, str]) -> Path:
    """`$XDG_CONFIG_HOME/ecourt/keyring.json`, else `~/.config/ecourt/keyring.json`."""
    config = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "ecourt" / "keyring.json"


def _port_range(raw: str) -> tuple[int, int] | None:
    if not raw:
        return None
    match = re.fullmatch(r"\s*(\d{1,5})\s*-\s*(\d{1,5})\s*", raw)
    if match is None:
        raise SettingsError("ECOURT_UDP_PORTS is a range like 50000-50100")
    low, high = int(match[1]), int(match[2])
    if not 1024 <= low <= high <= 65535:
        raise SettingsError("ECOURT_UDP_PORTS must lie within 1024-65535, low to high")
    return low, high


def _address(raw: str) -> str | None:
    if not raw:
        return None
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError as exc:
        raise SettingsError("ECOURT_ANNOUNCED_IP must be an IPv4 or IPv6 address") from exc


def _urls(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> tuple[str, ...]:
    urls = tuple(u.strip() for u in env.get(name, "").split(",") if u.strip())
    for url in urls:
        if not url.startswith(schemes) or " " in url:
            raise SettingsError(f"{name} holds URLs like {schemes[0]}host:3478")
    return urls


EVENT_LOOPS = ("uvloop", "asyncio")


def _event_loop(value: str) -> str:
    if value not in EVENT_LOOPS:
        raise SettingsError(f"ECOURT_EVENT_LOOP is one of {', '.join(EVENT_LOOPS)}")
    return value


def _metrics_key(raw: str | None) -> Secret | None:
    if not raw:
        return None
    if len(raw) < 16:
        raise SettingsError("ECOURT_METRICS_KEY must be at least 16 characters")
    return Secret(raw.encode())


def _court_admin_key(raw: str | None) -> Secret | None:
    if not raw:
        return None
    if len(raw) < 16:
        raise SettingsError("ECOURT_COURT_ADMIN_KEY must be at least 16 characters")
    return Secret(raw.encode())


LOG_FORMATS = ("text", "json")


def _log_format(value: str) -> str:
    if value not in LOG_FORMATS:
        raise SettingsError(f"ECOURT_LOG_FORMAT is one of {', '.join(LOG_FORMATS)}")
    return value


COURT_LANGUAGES = ("vi", "en")


def _court_language(value: str) -> str:
    if value not in COURT_LANGUAGES:
        raise SettingsError(f"ECOURT_LANGUAGE is one of {', '.join(COURT_LANGUAGES)}")
    return value


def _court_contact(value: str) -> str:
    value = value.strip()
    if len(value) > 200 or not value.isprintable():
        raise SettingsError("ECOURT_COURT_CONTACT is one printable line of at most 200 characters")
    return value


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"ECOURT_TIME_ZONE is an IANA time zone such as Asia/Ho_Chi_Minh, not {value!r}"
        ) from None
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    api_key: Secret = field(default_factory=lambda: Secret(secrets.token_urlsafe(24).encode()))
    api_key_generated: bool = True
    token_key: Secret = field(default_factory=lambda: Secret(secrets.token_bytes(32)))
    token_key_generated: bool = True
    """No ECOURT_TOKEN_KEY: `ecourt serve` keeps one in the data dir (`web/token_key.py`)."""
    data_dir: Path = Path(".data")
    redis_url: str | None = None
    redis_prefix: str = "ecourt:"
    redis_volatile: bool = False
    """ECOURT_REDIS_VOLATILE=1: start on a Redis that does not persist (tests, demos); else
    `ecourt serve` refuses one that would lose the records on its restart."""
    node_id: str = field(default_factory=lambda: f"n-{secrets.token_hex(4)}")
    """This node's name among many (ECOURT_NODE_ID); random if unset."""
    """Every Redis key and channel of this deployment starts with it (several may share one)."""
    public_url: str = ""
    default_token_ttl: int = 4 * 3600
    max_token_ttl: int = 24 * 3600
    allowed_origins: tuple[str, ...] = ()
    """Other origins whose pages may open the signalling socket; the server's own always may."""
    due_process_grace: float = 15.0
    """Seconds a required participant may be without media before the court recesses."""
    leg_silence: float = 30.0
    """Seconds of silence from a connected leg's other end before the server closes it as
    dead (RFC 7675's consent period by default)."""
    keyring_path: Path = field(default_factory=lambda: default_keyring_path(os.environ))
    """The key-encryption keys: a 0600 file that must live outside the data directory."""
    record_segment_seconds: int = 10
    exhibit_max_bytes: int = 50 * 1024 * 1024
    """The largest exhibit an upload may carry (ECOURT_EXHIBIT_MAX_BYTES, 1 KiB..1 GiB)."""
    livestream_delay: float = 30.0
    """Seconds a livestream segment waits before the public playlist lists it."""
    livestream_size: tuple[int, int] = (1280, 720)
    livestream_fps: int = 30
    livestream_preset: str = "veryfast"
    """x264's speed preset for the livestream's one encode."""
    time_zone: str = "Asia/Ho_Chi_Minh"
    """The court's time zone (ECOURT_TIME_ZONE, IANA): the docket and the lobby show the
    scheduled time in it."""
    court_contact: str = ""
    """How a person reaches the court (ECOURT_COURT_CONTACT: a phone, an address, at most 200
    characters, one line): the join page names it when it refuses a link."""
    court_language: str = "vi"
    """The language the court broadcasts in (ECOURT_LANGUAGE, `vi` or `en`): the role titles
    and the slates of the public livestream."""
    udp_ports: tuple[int, int] | None = None
    """The UDP ports media sockets bind to (inclusive); any free port if None."""
    announced_ip: str | None = None
    """The address clients reach the media sockets at, behind NAT or in a container."""
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_username: str | None = None
    turn_credential: Secret | None = None
    """STUN and TURN servers handed to the clients (the server itself uses none)."""
    metrics_key: Secret | None = None
    """The bearer key of `GET /metrics` (ECOURT_METRICS_KEY); metrics are off without it."""
    court_admin_key: Secret | None = None
    """The court administrator's key to the supervision board (ECOURT_COURT_ADMIN_KEY), apart
    from the API key and the join links; the board is off without it."""
    log_format: str = "text"
    """`text` (one readable line per event) or `json` (one JSON object per line;
    ECOURT_LOG_FORMAT)."""
    event_loop: str = "uvloop"
    """`uvloop` (libuv's loop: the media path's datagrams and timers cost less) or `asyncio`
    (the standard library's); ECOURT_EVENT_LOOP."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        api_key = env.get("ECOURT_API_KEY")
        if api_key is not None and len(api_key) < 16:
            raise SettingsError("ECOURT_API_KEY must be at least 16 characters")
        token_key = env.get("ECOURT_TOKEN_KEY")
        if token_key is not None and len(token_key) < 32:
            raise SettingsError("ECOURT_TOKEN_KEY must be at least 32 characters")
        settings = cls(
            host=env.get("ECOURT_HOST", "127.0.0.1"),
            port=_int(env, "ECOURT_PORT", 8080, 0, 65535),
            data_dir=Path(env.get("ECOURT_DATA_DIR", ".data")),
            redis_url=env.get("ECOURT_REDIS_URL") or None,
            redis_prefix=env.get("ECOURT_REDIS_PREFIX", "ecourt:"),
            redis_volatile=_flag(env, "ECOURT_REDIS_VOLATILE"),
            node_id=env.get("ECOURT_NODE_ID") or f"n-{secrets.token_hex(4)}",
            public_url=env.get("ECOURT_PUBLIC_URL", ""),
            default_token_ttl=_int(env, "ECOURT_TOKEN_TTL", 4 * 3600, 60, 7 * 24 * 3600),
            max_token_ttl=_int(env, "ECOURT_MAX_TOKEN_TTL", 24 * 3600, 60, 7 * 24 * 3600),
            due_process_grace=float(_int(env, "ECOURT_DUE_PROCESS_SECONDS", 15, 1, 3600)),
            leg_silence=float(_int(env, "ECOURT_LEG_SILENCE_SECONDS", 30, 2, 300)),
            allowed_origins=_origins(env.get("ECOURT_ALLOWED_ORIGINS", "")),
            keyring_path=Path(env["ECOURT_KEYRING"])
            if env.get("ECOURT_KEYRING")
            else default_keyring_path(env),
            record_segment_seconds=_int(env, "ECOURT_RECORD_SEGMENT_SECONDS", 10, 1, 3600),
            exhibit_max_bytes=_int(
                env, "ECOURT_EXHIBIT_MAX_BYTES", 50 * 1024 * 1024, 1024, 1024 * 1024 * 1024
            ),
            livestream_delay=float(_int(env, "ECOURT_LIVESTREAM_DELAY_SECONDS", 30, 0, 600)),
            livestream_size=_size(env.get("ECOURT_LIVESTREAM_SIZE") or "1280x720"),
            livestream_fps=_int(env, "ECOURT_LIVESTREAM_FPS", 30, 1, 60),
            livestream_preset=_preset(env.get("ECOURT_LIVESTREAM_PRESET") or "veryfast"),
            court_contact=_court_contact(env.get("ECOURT_COURT_CONTACT", "")),
            court_language=_court_language(env.get("ECOURT_LANGUAGE") or "vi"),
            time_zone=_time_zone(env.get("ECOURT_TIME_ZONE") or "Asia/Ho_Chi_Minh"),
            udp_ports=_port_range(env.get("ECOURT_UDP_PORTS", "")),
            announced_ip=_address(env.get("ECOURT_ANNOUNCED_IP", "")),
            stun_urls=_urls(env, "ECOURT_STUN_URLS", ("stun:", "stuns:")),
            turn_urls=_urls(env, "ECOURT_TURN_URLS", ("turn:", "turns:")),
            turn_username=env.get("ECOURT_TURN_USERNAME") or None,
            event_loop=_event_loop(env.get("ECOURT_EVENT_LOOP") or "uvloop"),
            metrics_key=_metrics_key(env.get("ECOURT_METRICS_KEY")),
            court_admin_key=_court_admin_key(env.get("ECOURT_COURT_ADMIN_KEY")),
            log_format=_log_format(env.get("ECOURT_LOG_FORMAT") or "text"),
        )
        turn_credential = env.get("ECOURT_TURN_CREDENTIAL") or None
        if settings.turn_urls and (settings.turn_username is None or turn_credential is None):
            raise SettingsError(
                "ECOURT_TURN_URLS needs ECOURT_TURN_USERNAME and ECOURT_TURN_CREDENTIAL"
            )
        if turn_credential is not None:
            settings = replace(settings, turn_credential=Secret(turn_credential.encode()))
        if settings.default_token_ttl > settings.max_token_ttl:
            raise SettingsError("ECOURT_TOKEN_TTL must not exceed ECOURT_MAX_TOKEN_TTL")
        if api_key is not None:
            settings = replace(settings, api_key=Secret(api_key.encode()), api_key_generated=False)
        if token_key is not None:
            settings = replace(
                settings, token_key=Secret(token_key.encode()), token_key_generated=False
            )
        settings = replace(settings, **overrides)  # type: ignore[arg-type]
        settings.check_keyring_outside_data()
        return settings

    def check_keyring_outside_data(self) -> None:
        data = self.data_dir.resolve()
        keyring = self.keyring_path.resolve()
        if keyring == data or data in keyring.parents:
            raise SettingsError("ECOURT_KEYRING must be outside ECOURT_DATA_DIR")
