"""A secret value that never prints."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Secret:
    """Bytes that must never reach a log, a repr or an error message."""

    value: bytes = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def equals(self, candidate: bytes) -> bool:
        """Constant-time comparison."""
        return hmac.compare_digest(self.value, candidate)
