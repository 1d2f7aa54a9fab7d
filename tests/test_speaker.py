"""The active speaker: the loudest audible participant by RFC 6464 level, held against
flicker, told only to viewers who hear them."""

from __future__ import annotations

from typing import Any

from media.forwarder import PublishedTrack
from media.rtp import URI_AUDIO_LEVEL, build_extension_block, build_rtp, parse_rtp
from signaling.speaker import HOLD, SpeakerPicker, SpeakerWatch, Voice


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


def test_the_loudest_voice_above_the_threshold_speaks_and_silence_speaks_for_nobody() -> None:
    judge, party = audio("a-judge"), audio("a-party")
    voices = [Voice("judge", judge), Voice("party", party)]
    picker = SpeakerPicker()
    assert picker.pick(voices, 0.0) is None
    speak(judge, 20)
    speak(party, 110)
    assert picker.pick(voices, 0.3) == "judge"
    speak(judge, 127, packets=80)
    assert picker.pick(voices, 5.0) is None


def test_a_slightly_louder_voice_does_not_take_the_highlight_at_once() -> None:
    judge, party = audio("a-judge"), audio("a-party")
    voices = [Voice("judge", judge), Voice("party", party)]
    picker = SpeakerPicker()
    speak(judge, 30)
    assert picker.pick(voices, 0.0) == "judge"
    speak(party, 28)  # about as loud: the judge keeps it
    assert picker.pick(voices, 0.3) == "judge"
    speak(party, 5)  # clearly louder: the party takes it
    assert picker.pick(voices, 0.6) == "party"
    assert HOLD > 0


async def test_only_viewers_who_hear_the_speaker_are_told() -> None:
    judge = audio("a-judge")
    sent: list[tuple[str, str, dict[str, Any]]] = []

    async def send(sid: str, event: str, payload: dict[str, Any]) -> None:
        sent.append((sid, event, payload))

    hears = {"sid-clerk": frozenset({"a-judge"}), "sid-accused": frozenset()}
    watch = SpeakerWatch(lambda: [Voice("judge", judge)], lambda: list(hears.items()), send)
    await watch.tick(0.0)
    assert sent == []  # nobody speaks, and nobody is told so
    speak(judge, 10)
    await watch.tick(0.3)
    await watch.tick(0.6)  # told once, not every tick
    assert sent == [("sid-clerk", "active_speaker", {"participant_id": "judge"})]
    speak(judge, 127, packets=100)
    await watch.tick(3.0)
    assert sent[-1] == ("sid-clerk", "active_speaker", {"participant_id": None})
