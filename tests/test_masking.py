"""The masking itself, without a network: each screening leaves a picture without its detail
(the whole frame, as no face is looked for), the voice leaves its pitch at the drawn ratio, a
variant is made once per track and mask and never for a codec it cannot decode, and a variant
fed real VP8 sends a masked picture with none of the original's payload."""

from __future__ import annotations

import asyncio
from fractions import Fraction

import av
import numpy as np
import pytest
from aiortc.codecs.vpx import Vp8Encoder

from media.forwarder import PublishedTrack
from media.frames import FrameAssembler
from media.masking import MaskingHub
from media.masking_transforms import (
    SCREENINGS,
    MaskSpec,
    Screen,
    VoiceShifter,
    dominant_frequency,
    high_frequency_energy,
)
from media.rtp import RTP_HEADER, ParsedRtp


def checkerboard(width: int = 640, height: int = 480) -> av.VideoFrame:
    y, x = np.mgrid[0:height, 0:width]
    cells = ((x // 4 + y // 4) % 2).astype(bool)
    image = np.zeros((height, width, 3), np.uint8)
    image[cells] = (0, 0, 230)
    image[~cells] = (255, 255, 255)
    frame = av.VideoFrame.from_ndarray(image, "bgr24")
    frame.pts = 0
    return frame


def luma(frame: av.VideoFrame) -> np.ndarray:
    return np.asarray(frame.to_ndarray(format="gray"), np.uint8)


@pytest.mark.parametrize("screening", sorted(SCREENINGS))
def test_every_screening_takes_the_detail_out_of_the_whole_frame(screening: str) -> None:
    original = checkerboard()
    assert high_frequency_energy(luma(original)) > 40
    masked = Screen(screening).apply(original)
    assert (masked.width, masked.height) == (640, 480)
    assert high_frequency_energy(luma(masked)) < 1.0


def test_an_odd_sized_picture_is_masked_at_even_size() -> None:
    masked = Screen("blur").apply(checkerboard(321, 241))
    assert (masked.width, masked.height) == (320, 240)


@pytest.mark.parametrize("pitch", [0.62, 0.84, 1.2, 1.55])
def test_the_voice_leaves_a_220_hz_tone_at_the_drawn_ratio(pitch: float) -> None:
    t = np.arange(48_000 * 2) / 48_000
    tone = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    shifter = VoiceShifter(pitch, 1.1)
    out = np.concatenate([shifter.process(tone[i : i + 960]) for i in range(0, tone.size, 960)])
    assert out.size == tone.size and np.isfinite(out).all()
    heard = dominant_frequency(out[24_000:])
    assert heard == pytest.approx(220 * pitch, rel=0.08)  # the crossfade spreads the line
    assert abs(heard - 220) > 25


async def _no_keyframe(_ssrc: int) -> None:
    return None


def track(mime: str = "video/VP8", track_id: str = "t1") -> PublishedTrack:
    video = mime.startswith("video")
    return PublishedTrack(
        track_id=track_id,
        source="p_witness1",
        kind="video" if video else "audio",
        mime_type=mime,
        clock_rate=90_000 if video else 48_000,
        payload_type=96,
        ssrc=42,
        extension_ids={},
        request_keyframe=_no_keyframe,
    )


async def test_a_variant_is_made_once_per_track_and_mask_and_closed_when_nobody_wants_it() -> None:
    hub = MaskingHub()
    original = track()
    first = hub.variant(original, MaskSpec("pixelate"))
    assert first is not None and first.form == "masked" and first.id != original.id
    assert hub.variant(original, MaskSpec("pixelate")) is first
    other = hub.variant(original, MaskSpec("blur"))
    assert other is not None and other.id not in (first.id, original.id)
    hub.retain(frozenset({other.id}))
    assert first.ended and not other.ended
    hub.close()
    hub.close()
    assert other.ended and hub.variant(original, MaskSpec("blur")) is None


async def test_no_variant_for_a_codec_it_cannot_decode_or_with_masking_off() -> None:
    hub = MaskingHub()
    assert hub.variant(track("video/H264"), MaskSpec("blur")) is None
    hub.enabled = False
    assert hub.variant(track(), MaskSpec("blur")) is None
    hub.close()


async def test_a_variant_fed_vp8_sends_a_masked_picture_and_none_of_the_original() -> None:
    hub = MaskingHub()
    original = track()
    variant = hub.variant(original, MaskSpec("pixelate"))
    assert variant is not None
    sent: list[ParsedRtp] = []
    variant.add_tap(sent.append)
    encoder = Vp8Encoder()
    originals: list[bytes] = []
    seq = 0
    for i in range(10):
        frame = checkerboard(320, 240)
        frame.pts, frame.time_base = i * 9000, Fraction(1, 90_000)
        payloads, timestamp = encoder.encode(frame, force_keyframe=i == 0)
        for n, payload in enumerate(payloads):
            seq += 1
            marker = int(n == len(payloads) - 1)
            header = RTP_HEADER.pack(0x80, (marker << 7) | 96, seq, timestamp, 42)
            data = header + payload
            original.handle(ParsedRtp(data, marker, 96, seq, timestamp, 42, {}, 12, len(data)))
            originals.append(payload)
        await asyncio.sleep(0.05)
    for _ in range(100):
        if len(sent) >= 5:
            break
        await asyncio.sleep(0.05)
    assert sent, "the variant sent nothing"
    assert not {p.payload for p in sent} & set(originals)
    assert {p.ssrc for p in sent} == {variant.ssrc} != {42}
    assembler, decoder = FrameAssembler("video"), av.CodecContext.create("vp8", "r")
    frames = [f for packet in sent for f in assembler.push(packet)]
    pictures = [p for f in frames for p in decoder.decode(av.Packet(f.data))]
    hub.close()
    assert pictures
    assert high_frequency_energy(luma(pictures[-1])) < 5
