"""A secret value that never prints, and never leaks through `dataclasses.asdict`."""

from __future__ import annotations

import hmac


class Secret:
    """Bytes that must never reach a log, a repr or an error message."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        if not isinstance(value, bytes):
            raise TypeError("a Secret holds bytes")
        self._value = value

    @property
    def value(self) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self

    def equals(self, candidate: bytes) -> bool:
        """Constant-time comparison."""
        return hmac.compare_digest(self._value, candidate)
