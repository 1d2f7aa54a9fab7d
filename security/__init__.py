"""Tokens, keys and signatures. The only importer of `cryptography`."""

from security.errors import SecurityError, TokenRefusal, TokenRefused
from security.secret import Secret
from security.tokens import Grant, TokenSigner

__all__ = ["Grant", "Secret", "SecurityError", "TokenRefusal", "TokenRefused", "TokenSigner"]
