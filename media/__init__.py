"""The SFU engine on aiortc: publish and subscribe legs, RTP forwarding without decoding.

It knows tracks and peers, never roles or rooms: `signaling` tells it which track goes where.
"""

from media.engine import IceServer, MediaEngine, MediaSettings
from media.errors import AiortcShapeChanged, MediaError, SdpInvalid, StaleAnswer, TooManyTracks
from media.forwarder import PublishedTrack, TrackSink
from media.publish import PublishPeer
from media.subscribe import ForwardedTrack, SubscribeOffer, SubscribePeer

__all__ = [
    "AiortcShapeChanged",
    "ForwardedTrack",
    "IceServer",
    "MediaEngine",
    "MediaError",
    "MediaSettings",
    "PublishPeer",
    "PublishedTrack",
    "SdpInvalid",
    "StaleAnswer",
    "SubscribeOffer",
    "SubscribePeer",
    "TooManyTracks",
    "TrackSink",
]
