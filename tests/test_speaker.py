"""The active speaker: the loudest audible participant by RFC 6464 level, held against
flicker (the choice itself is `media.speaker.ActiveSpeaker`'s, tested with the livestream),
told only to viewers who hear them."""

from __future__ import annotations

from typing import Any

from media.forwarder import PublishedTrack
from media.rtp import URI_AUDIO_LEVEL, build_extension_block, build_rtp, parse_rtp
from signaling.speaker import SpeakerWatch, Voice


async def _nothing(_ssrc: int) -> None:
    return None


def audio(track_id: str) -> PublishedTrack:
    return PublishedTrack(
        track_id=track_id,
        source=track_id,
        kind="audio",
        mime_type="audio/opus",
        clock_rate=48000,
        payload_type=111,
        ssrc=1,
        extension_ids={URI_AUDIO_LEVEL: 1},
        request_keyframe=_nothing,
    )


def speak(track: PublishedTrack, dbov: int, packets: int = 40) -> None:
    """Feed packets whose RFC 6464 level is `dbov` below full scale (0 loud, 127 silent)."""
    for seq in range(packets):
        block = build_extension_block([(1, bytes([0x80 | dbov]))])
        data = build_rtp(
            0, 111, (track.packets_received + seq) & 0xFFFF, seq * 960, 1, block, b"\xfc\x00"
        )
        track.handle(parse_rtp(data))


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    async def __call__(self, sid: str, event: str, payload: dict[str, Any]) -> None:
        self.sent.append((sid, event, payload))

    def named(self) -> list[tuple[str, Any]]:
        return [(sid, payload["participant_id"]) for sid, _, payload in self.sent]


def watch(voices: list[Voice], hears: dict[str, frozenset[str]], outbox: Outbox) -> SpeakerWatch:
    return SpeakerWatch(lambda: list(voices), lambda: list(hears.items()), outbox)


async def test_the_loudest_voice_is_named_and_before_anyone_speaks_nobody_is() -> None:
    judge, party = audio("a-judge"), audio("a-party")
    outbox = Outbox()
    everyone = frozenset({"a-judge", "a-party"})
    watched = watch([Voice("judge", judge), Voice("party", party)], {"sid-clerk": everyone}, outbox)
    speak(judge, 127)
    speak(party, 127)
    await watched.tick(0.0)
    assert outbox.sent == []  # silence: nobody is named, and nobody is told so
    speak(judge, 20)
    speak(party, 110)
    await watched.tick(0.3)
    assert outbox.named() == [("sid-clerk", "judge")]


async def test_a_louder_voice_takes_the_highlight_only_after_a_moment() -> None:
    judge, party = audio("a-judge"), audio("a-party")
    outbox = Outbox()
    everyone = frozenset({"a-judge", "a-party"})
    watched = watch([Voice("judge", judge), Voice("party", party)], {"sid-clerk": everyone}, outbox)
    speak(judge, 20)
    await watched.tick(0.0)
    speak(judge, 120, packets=100)
    speak(party, 5)
    await watched.tick(0.3)  # louder, but not for long enough yet
    assert outbox.named() == [("sid-clerk", "judge")]
    speak(party, 5)
    await watched.tick(0.6)
    speak(party, 5)
    await watched.tick(1.2)
    assert outbox.named() == [("sid-clerk", "judge"), ("sid-clerk", "party")]


async def test_only_viewers_who_hear_the_speaker_are_told_and_only_once() -> None:
    judge = audio("a-judge")
    outbox = Outbox()
    hears = {"sid-clerk": frozenset({"a-judge"}), "sid-accused": frozenset()}
    watched = watch([Voice("judge", judge)], hears, outbox)
    speak(judge, 10)
    await watched.tick(0.3)
    await watched.tick(0.6)
    assert outbox.named() == [("sid-clerk", "judge")]


async def test_a_speaker_who_leaves_is_no_longer_named() -> None:
    judge = audio("a-judge")
    outbox = Outbox()
    voices = [Voice("judge", judge)]
    watched = watch(voices, {"sid-clerk": frozenset({"a-judge"})}, outbox)
    speak(judge, 10)
    await watched.tick(0.3)
    voices.clear()
    await watched.tick(0.6)
    assert outbox.named() == [("sid-clerk", "judge"), ("sid-clerk", None)]
