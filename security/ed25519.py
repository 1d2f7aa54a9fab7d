"""An Ed25519 signing key kept apart from every other key, and signature checks.

The private key never prints, never pickles and is stored in a file only the owner can read
(mode 0600), as PEM (PKCS#8, unencrypted) or as its raw 32 bytes. Verifying needs only the
32-byte public key.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from security.errors import SecurityError
from security.secret import Secret

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
_MAX_KEY_FILE = 4096
_PEM_BEGIN = b"-----BEGIN"


class SigningKeyInvalid(SecurityError):
    """A signing key or public key that cannot be used, or a key file that is unsafe."""

    code = "signing_key_invalid"


def key_id(public_key: bytes) -> str:
    """A short, stable name for a public key: the first 8 bytes of its SHA-256, in hex."""
    return hashlib.sha256(public_key).digest()[:8].hex()


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True if `signature` is `public_key`'s Ed25519 signature over `message`."""
    if len(signature) != SIGNATURE_BYTES:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(check_public_key(public_key)).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def check_public_key(public_key: bytes) -> bytes:
    """Return the key if it is 32 raw bytes that decode to an Ed25519 public key."""
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_BYTES:
        raise SigningKeyInvalid("an Ed25519 public key is 32 raw bytes")
    try:
        Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as exc:
        raise SigningKeyInvalid("not an Ed25519 public key") from exc
    return public_key


class SigningKey:
    """An Ed25519 private key. Its repr shows only the public key's id."""

    __slots__ = ("_private", "_public")

    def __init__(self, private: Ed25519PrivateKey) -> None:
        if not isinstance(private, Ed25519PrivateKey):
            raise SigningKeyInvalid("a SigningKey wraps an Ed25519 private key")
        self._private = private
        self._public = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_secret(cls, secret: Secret) -> SigningKey:
        """From the raw 32-byte private key."""
        if len(secret.value) != 32:
            raise SigningKeyInvalid("a raw Ed25519 private key is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(secret.value))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SigningKey:
        """Read a key file (PEM or raw 32 bytes). Refuse one that others may read or write."""
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise SigningKeyInvalid(f"cannot open the signing key file: {exc.strerror}") from exc
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise SigningKeyInvalid("the signing key file is not a regular file")
            if mode & 0o077:
                raise SigningKeyInvalid(
                    f"the signing key file has mode {stat.S_IMODE(mode):04o}; it must be 0600"
                )
            data = handle.read(_MAX_KEY_FILE + 1)
        return cls._from_file_bytes(data)

    @classmethod
    def _from_file_bytes(cls, data: bytes) -> SigningKey:
        if len(data) == 32:
            return cls.from_secret(Secret(data))
        if data.startswith(_PEM_BEGIN) and len(data) <= _MAX_KEY_FILE:
            try:
                private = serialization.load_pem_private_key(data, password=None)
            except (ValueError, TypeError) as exc:
                raise SigningKeyInvalid("the signing key file is not a readable PEM key") from exc
            if not isinstance(private, Ed25519PrivateKey):
                raise SigningKeyInvalid("the signing key file holds a key that is not Ed25519")
            return cls(private)
        raise SigningKeyInvalid("the signing key file is neither PEM nor 32 raw bytes")

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """The key in `path`, made there first if there is none. Safe when several processes
        (nodes sharing a data directory) start at once: each writes its candidate to a file of
        its own, one hard link wins, and every process loads the winner."""
        if not path.exists():
            candidate = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
            cls.generate().save(candidate)
            try:
                os.link(candidate, path)
            except FileExistsError:
                pass  # another process made it first: its key is the key
            finally:
                os.unlink(candidate)
        return cls.load(path)

    def save(self, path: str | os.PathLike[str], *, raw: bool = False) -> None:
        """Write the key to a new file with mode 0600 (PEM unless `raw`). Never overwrites."""
        if raw:
            data = self._private.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
        else:
            data = self._private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError as exc:
            raise SigningKeyInvalid("refusing to overwrite an existing signing key file") from exc
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        fsync_directory(Path(path).parent)

    @property
    def public_key(self) -> bytes:
        """The 32 raw bytes of the public key: all a verifier needs."""
        return self._public

    @property
    def key_id(self) -> str:
        return key_id(self._public)

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id!r}, private='********')"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a SigningKey is never pickled")


def fsync_directory(directory: Path) -> None:
    """Make a new file's directory entry durable (best effort)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
