"""The composite, encoded once: H.264 (libx264) and AAC with PyAV, cut into HLS segments.

Each segment covers `segment_seconds` of stream time and starts with an IDR picture (forced on
the first frame of each segment, x264's own keyframes switched off). Its packets are muxed
into a self-contained MPEG-TS in memory (H.264 Annex B with the parameter sets in band, AAC in
ADTS), so any segment plays on its own. A segment is handed on once both video and audio have
passed its end. Everything here runs in the compositor's thread.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol

import av

from media.composite import VIDEO_TIME_BASE, CompositeSettings

SAMPLING_INDEX = {96000: 0, 88200: 1, 64000: 2, 48000: 3, 44100: 4, 32000: 5, 24000: 6}


@dataclass(frozen=True, slots=True)
class EncoderSettings:
    segment_seconds: float = 2.0
    video_bitrate: int = 2_500_000
    audio_bitrate: int = 96_000
    preset: str = "veryfast"
    """x264's speed preset; `ultrafast` halves the cost at the same bitrate, at lower quality."""

    def __post_init__(self) -> None:
        if not 0.5 <= self.segment_seconds <= 10:
            raise ValueError("a segment lasts 0.5 to 10 seconds")


@dataclass(frozen=True, slots=True)
class EncodedSegment:
    """One HLS segment: its place on the stream's time line and its MPEG-TS bytes."""

    index: int
    start: float
    duration: float
    data: bytes = field(repr=False)
    video_frames: int
    audio_frames: int


class SegmentSink(Protocol):
    def segment(self, segment: EncodedSegment) -> None: ...

    def ended(self) -> None: ...


def adts_header(payload_size: int, sample_rate: int, channels: int) -> bytes:
    """The 7-byte ADTS header (AAC-LC, no CRC) in front of one raw AAC frame."""
    size = payload_size + 7
    index = SAMPLING_INDEX[sample_rate]
    return bytes(
        (
            0xFF,
            0xF1,
            (1 << 6) | (index << 2) | (channels >> 2),
            ((channels & 3) << 6) | (size >> 11),
            (size >> 3) & 0xFF,
            ((size & 7) << 5) | 0x1F,
            0xFC,
        )
    )


@dataclass(slots=True)
class _Open:
    packets: list[tuple[str, bytes, int, bool]] = field(default_factory=list)
    video_frames: int = 0
    audio_frames: int = 0


class HlsEncoder:
    """A `CompositeOutput`: encodes what the compositor emits and hands on whole segments."""

    def __init__(
        self, composite: CompositeSettings, settings: EncoderSettings, sink: SegmentSink
    ) -> None:
        self._composite = composite
        self._settings = settings
        self._sink = sink
        fps = composite.fps
        gop = max(1, round(fps * settings.segment_seconds))
        video = av.CodecContext.create("libx264", "w")
        video.width, video.height, video.pix_fmt = composite.width, composite.height, "yuv420p"
        video.time_base = VIDEO_TIME_BASE
        video.framerate = Fraction(fps)
        video.bit_rate = settings.video_bitrate
        kbps = settings.video_bitrate // 1000  # capped over 1 s: segments stay near the rate
        video.options = {
            "preset": settings.preset,
            "tune": "zerolatency",
            "profile": "main",
            "forced-idr": "1",
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0"
            f":vbv-maxrate={kbps}:vbv-bufsize={kbps}",
        }
        audio = av.CodecContext.create("aac", "w")
        audio.sample_rate = composite.sample_rate
        audio.layout = "mono"
        audio.format = "fltp"
        audio.bit_rate = settings.audio_bitrate
        audio.time_base = Fraction(1, composite.sample_rate)
        self._video = video
        self._audio = audio
        self._audio_base = Fraction(1, composite.sample_rate)
        self._open: dict[int, _Open] = {}
        self._forced = -1
        self._video_at = -1
        self._audio_at = -1
        self.ended = False
        self.segments = 0

    def _index(self, seconds: float) -> int:
        return max(0, math.floor(seconds / self._settings.segment_seconds + 1e-9))

    # -- CompositeOutput --------------------------------------------------------------------

    def video(self, frame: av.VideoFrame) -> None:
        if self.ended or frame.pts is None:
            return
        index = self._index(float(frame.pts * VIDEO_TIME_BASE))
        if index != self._forced:
            frame.pict_type = av.video.frame.PictureType.I
            self._forced = index
        for packet in self._video.encode(frame):
            self._add("video", packet)

    def audio(self, frame: av.AudioFrame) -> None:
        if self.ended:
            return
        if frame.format.name != "fltp":
            frame = av.AudioResampler(format="fltp", layout="mono").resample(frame)[0]
        for packet in self._audio.encode(frame):
            self._add("audio", packet)

    def end(self) -> None:
        if self.ended:
            return
        for packet in self._video.encode(None):
            self._add("video", packet)
        for packet in self._audio.encode(None):
            self._add("audio", packet)
        self.ended = True
        for index in sorted(self._open):
            self._close(index)
        self._sink.ended()

    # -- segments -------------------------------------------------------------------------

    def _add(self, kind: str, packet: Any) -> None:
        if packet.pts is None or packet.pts < 0:
            return  # AAC's priming frame lies before the stream's start: nothing to play
        base = VIDEO_TIME_BASE if kind == "video" else self._audio_base
        pts = int(packet.pts)
        index = self._index(float(pts * base))
        slot = self._open.setdefault(index, _Open())
        data = bytes(packet)
        if kind == "audio":
            data = adts_header(len(data), self._composite.sample_rate, 1) + data
            slot.audio_frames += 1
            self._audio_at = max(self._audio_at, index)
        else:
            slot.video_frames += 1
            self._video_at = max(self._video_at, index)
        slot.packets.append((kind, data, pts, bool(packet.is_keyframe)))
        done = min(self._video_at, self._audio_at)
        for finished in [i for i in self._open if i < done]:
            self._close(finished)

    def _close(self, index: int) -> None:
        slot = self._open.pop(index)
        if not slot.video_frames:
            return  # audio of a time with no pictures (the encoder's priming): nothing to play
        length = self._settings.segment_seconds
        out = io.BytesIO()
        container = av.open(out, "w", format="mpegts")
        c = self._composite
        video = container.add_mux_stream(
            "h264", width=c.width, height=c.height, time_base=VIDEO_TIME_BASE
        )
        audio = container.add_mux_stream("aac", rate=c.sample_rate, time_base=self._audio_base)
        for kind, data, pts, keyframe in slot.packets:
            packet = av.Packet(data)
            packet.pts = packet.dts = pts
            packet.stream = video if kind == "video" else audio
            packet.time_base = VIDEO_TIME_BASE if kind == "video" else self._audio_base
            packet.is_keyframe = keyframe
            container.mux(packet)
        container.close()
        self.segments += 1
        self._sink.segment(
            EncodedSegment(
                index=index,
                start=index * length,
                duration=slot.video_frames / c.fps,
                data=out.getvalue(),
                video_frames=slot.video_frames,
                audio_frames=slot.audio_frames,
            )
        )
