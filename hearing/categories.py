"""Case categories, and the gate they open or close.

- Some categories may not be heard online at all. Which ones is the jurisdiction's choice, so
  the list lives in the profile (`Profile.not_online`); `hearing.profiles.check_online` applies it.
- Some categories force the hearing in camera whatever the profile: it is never public, never
  streamed, and observers never receive anything (`FORCED_IN_CAMERA`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class CaseCategory(StrEnum):
    ORDINARY = "ordinary"
    STATE_SECRET = "state_secret"
    NATIONAL_SECURITY = "national_security"
    CRIMES_AGAINST_PEACE = "crimes_against_peace"
    CRIMES_AGAINST_HUMANITY = "crimes_against_humanity"
    WAR_CRIMES = "war_crimes"
    SEXUAL_OFFENCE_AGAINST_MINOR = "sexual_offence_against_minor"


FORCED_IN_CAMERA: Final = frozenset(
    {CaseCategory.SEXUAL_OFFENCE_AGAINST_MINOR, CaseCategory.STATE_SECRET}
)
"""Heard in camera in every profile: a sexual offence against a minor (VN Circular
02/2018/TT-TANDTC; Criminal Procedure Code 2015 art. 25) and a state secret (art. 25)."""


def forces_in_camera(category: CaseCategory) -> bool:
    return category in FORCED_IN_CAMERA
