"""The one error root of the SFU engine."""

from __future__ import annotations


class MediaError(Exception):
    """Root of every error raised by `media`."""

    code = "media_error"


class SdpInvalid(MediaError):
    code = "sdp_invalid"


class TooManyTracks(MediaError):
    code = "too_many_tracks"


class StaleAnswer(MediaError):
    code = "stale_answer"


class AiortcShapeChanged(MediaError):
    """The private aiortc names the forwarding hook needs are not what they were."""

    code = "aiortc_shape_changed"


class PortsExhausted(MediaError):
    """Every UDP port of the configured media range is in use."""

    code = "ports_exhausted"


class Busy(MediaError):
    """The node holds as many connection checks as it allows; try again shortly."""

    code = "busy"
