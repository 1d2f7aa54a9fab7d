"""The SFU engine on aiortc: publish and subscribe legs, RTP forwarding without decoding.

It knows tracks and peers, never roles or rooms: `signaling` tells it which track goes where.
"""

from media.engine import IceServer, MediaEngine, MediaSettings
from media.errors import (
    AiortcShapeChanged,
    Busy,
    MediaError,
    SdpInvalid,
    StaleAnswer,
    TooManyTracks,
)
from media.forwarder import PublishedTrack, TrackSink
from media.probe import ProbeLimits, ProbePeer
from media.publish import PublishPeer
from media.subscribe import ForwardedTrack, SubscribeOffer, SubscribePeer

__all__ = [
    "AiortcShapeChanged",
    "Busy",
    "ForwardedTrack",
    "IceServer",
    "MediaEngine",
    "MediaError",
    "MediaSettings",
    "ProbeLimits",
    "ProbePeer",
    "PublishPeer",
    "PublishedTrack",
    "SdpInvalid",
    "StaleAnswer",
    "SubscribeOffer",
    "SubscribePeer",
    "TooManyTracks",
    "TrackSink",
]
