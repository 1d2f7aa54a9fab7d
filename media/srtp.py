"""SRTP protect for the forwarding path, with the AEAD AES-GCM profiles (RFC 7714).

pylibsrtp protects one packet in about 3 µs, most of it copying into and out of its cffi
buffer. The fan-out protects every forwarded packet once per subscriber, so it uses this
instead: the session key is derived once (RFC 3711 §4.3, the AES-CM PRF), and each packet is
one `AESGCM.encrypt` from `cryptography` (about 0.8 µs for a 1200-byte packet). Its output is
byte-for-byte what libsrtp would send (tests/test_srtp.py checks it against pylibsrtp).

Only sending is done here. Receiving keeps libsrtp, which also guards against replays.

`media/_srtp_native.c` (built by `tools/build-native`, optional) does the same protect and the
send in one C call per packet; `native_sender` returns one when it is built. Its other half,
`media/_srtp_native_fanout.c`, does a sink's whole share of the forwarding path once the sink's
leg has a C sender (`sink_core`, `fan_out`; media/forwarder.py).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_native: ModuleType | None
try:
    from media import _srtp_native as _native
except ImportError:  # not built: the Python protector does the work
    _native = None

if TYPE_CHECKING:
    from media._srtp_native import GcmSender, SinkCore

NATIVE = _native is not None
"""True when the C sender (media/_srtp_native.c) is built and loads."""

GCM_SALT_LENGTH = 12
GCM_KEY_LENGTHS = (16, 32)
LABEL_RTP_ENCRYPTION = 0x00
LABEL_RTP_SALT = 0x02


def derive_session_key(master_key: bytes, master_salt: bytes, label: int, length: int) -> bytes:
    """The SRTP key derivation function with a key derivation rate of 0: AES in counter mode
    under the master key, starting from the master salt (padded to 14 bytes) XOR the label
    placed in byte 7, and the 16-bit block counter at zero."""
    salt = master_salt.ljust(14, b"\x00")
    start = bytearray(salt + b"\x00\x00")
    start[7] ^= label
    encryptor = Cipher(algorithms.AES(master_key), modes.CTR(bytes(start))).encryptor()
    return encryptor.update(b"\x00" * length) + encryptor.finalize()


def session_keys(key_and_salt: bytes) -> tuple[bytes, bytes]:
    """The RTP session key and 12-byte session salt for a GCM master key and salt."""
    key_length = len(key_and_salt) - GCM_SALT_LENGTH
    if key_length not in GCM_KEY_LENGTHS:
        raise ValueError("an AES-GCM SRTP master key is 16 or 32 bytes, then a 12-byte salt")
    master_key, master_salt = key_and_salt[:key_length], key_and_salt[key_length:]
    return (
        derive_session_key(master_key, master_salt, LABEL_RTP_ENCRYPTION, key_length),
        derive_session_key(master_key, master_salt, LABEL_RTP_SALT, GCM_SALT_LENGTH),
    )


class GcmProtector:
    """Protects outgoing RTP of one SRTP session under an AEAD_AES_128_GCM or AEAD_AES_256_GCM
    master key and 12-byte master salt (the layout DTLS-SRTP exports: key, then salt)."""

    __slots__ = ("_encrypt", "_salt")

    def __init__(self, key_and_salt: bytes) -> None:
        session_key, salt = session_keys(key_and_salt)
        self._salt = int.from_bytes(salt, "big")
        self._encrypt = AESGCM(session_key).encrypt

    def protect(self, header: bytes, payload: bytes, ssrc: int, index: int) -> bytes:
        """The SRTP packet for an RTP `header` (with its extension block) and `payload`, whose
        48-bit packet index (rollover counter, then sequence number) is `index`. The header is
        authenticated, the payload encrypted, and the 16-byte tag appended (RFC 7714 §8)."""
        iv = ((ssrc << 48 | index) ^ self._salt).to_bytes(12, "big")
        return header + self._encrypt(iv, payload, header)


def native_sender(key_and_salt: bytes, fd: int, address: tuple[str, int]) -> GcmSender | None:
    """A C sender (`GcmSender`: protect, send, resend, close) writing to a duplicate of socket
    `fd` for `address`, under a GCM master key and salt; None if the C module is not built."""
    if _native is None:
        return None
    session_key, salt = session_keys(key_and_salt)
    sender: GcmSender = _native.GcmSender(session_key, salt, fd, address[0], address[1])
    return sender


def sink_core(**fields: Any) -> SinkCore:
    """A C sink (`media/_srtp_native_fanout.c`) taking over these fields of a TrackSink; only
    called for a sink whose leg has a C sender, so the module is there."""
    if _native is None:
        raise RuntimeError("media/_srtp_native is not built")
    core: SinkCore = _native.SinkCore(**fields)
    return core


def _not_built(*_args: Any) -> None:
    raise RuntimeError("media/_srtp_native is not built")


fan_out: Callable[..., None] = _not_built if _native is None else _native.fan_out
"""Forward one packet to a tuple of `SinkCore`s (see media/_srtp_native.pyi)."""


def next_index(highest: int, seq: int) -> int:
    """The packet index of sequence number `seq`, given the highest index sent so far on its
    SSRC (-1 before the first): RFC 3711 §3.3.1's estimate, so a packet forwarded out of order
    across a wrap of the sequence number keeps the rollover counter it was numbered under."""
    if highest < 0:
        return seq
    roc, last = highest >> 16, highest & 0xFFFF
    if last < 0x8000:
        if seq - last > 0x8000 and roc > 0:
            roc -= 1
    elif last - 0x8000 > seq:
        roc += 1
    return roc << 16 | seq
