"""The libraries ecourt reaches into are pinned exactly (`==` in pyproject.toml); the server
refuses to start beside any other version of them, since only the pinned one was tested.

The pins are read from ecourt's own installed metadata, so pyproject.toml stays the one place
that names them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata

DISTRIBUTION = "ecourt"
_EXACT = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9._+!-]+)")


class UntestedVersion(Exception):
    """An exactly pinned library is missing or at another version than the tested one."""

    code = "untested_version"


@dataclass(frozen=True, slots=True)
class Pin:
    name: str
    version: str


def exact_pins(requirements: Iterable[str]) -> tuple[Pin, ...]:
    """The plain `name==version` requirements among `requirements`; one with a marker (an
    extra's tool: dev, fuzz) or a range is not a pin of the server's."""
    pins = []
    for text in requirements:
        match = _EXACT.fullmatch(text.strip())
        if match is not None:
            pins.append(Pin(match[1], match[2]))
    return tuple(pins)


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_tested_versions(
    pins: Iterable[Pin] | None = None,
    installed: Callable[[str], str | None] = _installed,
) -> None:
    """Raise `UntestedVersion` naming every pinned library found at another version."""
    if pins is None:
        try:
            pins = exact_pins(metadata.requires(DISTRIBUTION) or ())
        except metadata.PackageNotFoundError as exc:
            raise UntestedVersion(
                "ecourt is not installed (pip install it, or run `make venv`): "
                "the versions it was tested with cannot be checked"
            ) from exc
    wrong = []
    for pin in pins:
        found = installed(pin.name)
        if found != pin.version:
            wrong.append(f"{pin.name} {found or 'missing'} (tested: {pin.version})")
    if wrong:
        raise UntestedVersion(
            "untested library versions: "
            + ", ".join(wrong)
            + "; install the locked ones (pip install --require-hashes -r requirements.lock)"
        )
