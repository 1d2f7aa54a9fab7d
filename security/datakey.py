"""A recording's data key (DEK): 32 random bytes for AES-256-GCM, and a short public id.

The key never prints and never pickles. Each key object hands out nonce prefixes that it has
never handed out before, and lets each prefix seal one segment only, so no (key, nonce) pair can
repeat within a process. A key restored from bytes (unwrapped from the key ring) may have
sealed segments in an earlier process, which this object cannot know about: it opens segments
but refuses to seal new ones. A resumed recording seals with a fresh `DataKey.generate()`.
"""

from __future__ import annotations

import os
import re
from typing import NoReturn

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from security.seal_errors import SealNonceReused, SealRefused
from security.secret import Secret

DATA_KEY_BYTES = 32
NONCE_PREFIX_BYTES = 7
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


def check_key_id(key_id: object) -> str:
    """Return `key_id` if it is 1-32 characters of [A-Za-z0-9._-], not starting with . - _."""
    if not isinstance(key_id, str) or KEY_ID_PATTERN.fullmatch(key_id) is None:
        raise ValueError("a key id is 1-32 characters of letters, digits, '.', '_' or '-'")
    return key_id


class DataKey:
    """A DEK. Its repr shows only its id."""

    __slots__ = ("_cipher", "_claimed", "_issued", "_key_id", "_may_seal", "_secret")

    def __init__(self, key_id: str, secret: Secret, *, may_seal: bool) -> None:
        check_key_id(key_id)
        if not isinstance(secret, Secret) or len(secret.value) != DATA_KEY_BYTES:
            raise ValueError("a data key is 32 bytes")
        self._key_id = key_id
        self._secret = secret
        self._cipher = AESGCM(secret.value)
        self._may_seal = may_seal
        self._issued: set[bytes] = set()
        self._claimed: set[bytes] = set()

    @classmethod
    def generate(cls, key_id: str) -> DataKey:
        """A fresh random key that may seal."""
        return cls(key_id, Secret(os.urandom(DATA_KEY_BYTES)), may_seal=True)

    @classmethod
    def from_bytes(cls, key_id: str, raw: bytes) -> DataKey:
        """A key restored from its 32 raw bytes. It opens segments and never seals."""
        if not isinstance(raw, bytes):
            raise ValueError("a data key is 32 bytes")
        return cls(key_id, Secret(raw), may_seal=False)

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def secret(self) -> Secret:
        """The raw key, for wrapping by the key ring only."""
        return self._secret

    @property
    def cipher(self) -> AESGCM:
        """The AES-256-GCM primitive, for the sealing module only."""
        return self._cipher

    @property
    def may_seal(self) -> bool:
        return self._may_seal

    def new_nonce_prefix(self) -> bytes:
        """7 random bytes this key object has never returned before."""
        self._require_sealing()
        while True:
            prefix = os.urandom(NONCE_PREFIX_BYTES)
            if prefix not in self._issued:
                self._issued.add(prefix)
                return prefix

    def claim_nonce_prefix(self, prefix: bytes) -> None:
        """Mark an issued prefix as used by one segment; refuse one not issued or used before."""
        self._require_sealing()
        if prefix not in self._issued:
            raise SealNonceReused("the nonce prefix was not issued by this data key")
        if prefix in self._claimed:
            raise SealNonceReused("the nonce prefix already sealed a segment with this data key")
        self._claimed.add(prefix)

    def _require_sealing(self) -> None:
        if not self._may_seal:
            raise SealRefused(
                "a data key restored from bytes only opens segments; seal with a new "
                "DataKey.generate() (a resumed recording starts a new segment with a new key)"
            )

    def __repr__(self) -> str:
        return f"DataKey(key_id={self._key_id!r}, key='********')"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a DataKey is never pickled")

    def __copy__(self) -> DataKey:
        # A copy would hand out nonce prefixes from a second, independent set.
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> DataKey:
        return self
