"""One composite picture and one mix of sound from many tracks: what a public stream shows.

`CompositeCore` does the work and is driven by `step(now)` with the stream's own time, so a
test can run it frame by frame; `media/compositor.py` runs it in a thread of its own. Each
step decodes what arrived, then emits every video frame (at `fps`) and every audio frame (of
`audio_frame` samples) that is due, with pts on the stream's time line. The output (the
encoder) is called in the same thread.

It is given tiles with text to show, never roles: the caller decides who may be shown.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

import av
import numpy as np

from media.composite_inputs import AudioInput, VideoInput
from media.layout import Rect, inset, tile_rects
from media.picture import Planes, blank, card, fill, paste, plate, to_frame
from media.speaker import ActiveSpeaker, dbov_of_samples

VIDEO_TIME_BASE = Fraction(1, 90_000)
CATCH_UP = 1.0
"""A compositor more than this many seconds behind skips frames instead of racing."""
EMPTY_STAGE = "The court will appear here"


@dataclass(frozen=True, slots=True)
class CompositeSettings:
    width: int = 1280
    height: int = 720
    fps: int = 30
    sample_rate: int = 48_000
    audio_frame: int = 1024
    """Samples per audio frame: AAC's frame size."""
    audio_latency: float = 0.12
    """How far the mix runs behind arrival, to ride out jitter."""

    def __post_init__(self) -> None:
        if self.width < 64 or self.height < 64 or (self.width | self.height) & 1:
            raise ValueError("the composite is at least 64x64, with even sides")
        if not 1 <= self.fps <= 60:
            raise ValueError("the composite runs at 1 to 60 frames a second")


@dataclass(frozen=True, slots=True)
class Tile:
    """One tile as the core sees it: text, and the ids of the tracks that feed it."""

    key: str
    name: str
    caption: str
    video: str | None = None
    audio: str | None = None


class CompositeOutput(Protocol):
    """Where frames go, called in the compositor's thread: video pts in 1/90000 s, audio pts
    in 1/sample_rate; `end` after the last frame."""

    def video(self, frame: av.VideoFrame) -> None: ...

    def audio(self, frame: av.AudioFrame) -> None: ...

    def end(self) -> None: ...


KeyframeWanted = Callable[[str], None]


class CompositeCore:
    def __init__(
        self,
        settings: CompositeSettings,
        output: CompositeOutput,
        keyframe_wanted: KeyframeWanted = lambda _track: None,
    ) -> None:
        self.settings = settings
        self._output = output
        self._keyframe_wanted = keyframe_wanted
        self._tiles: tuple[Tile, ...] = ()
        self._videos: dict[str, VideoInput] = {}
        self._audios: dict[str, AudioInput] = {}
        self._speaker = ActiveSpeaker()
        self._canvas = blank(settings.width, settings.height)
        self._layout: tuple[tuple[Tile, ...], int] | None = None
        self._rects: list[Rect] = []
        self._placed: dict[str, Rect] = {}
        """Tile key -> the box its picture goes in (above its plate)."""
        self._fitted: dict[str, Rect] = {}
        """Tile key -> where its last picture went inside the box (letterboxed)."""
        self._next_video = 0
        self._next_audio = 0
        self.frames_out = 0
        self.audio_frames_out = 0
        self.frames_skipped = 0
        self.ended = False

    # -- inputs ---------------------------------------------------------------------------

    def set_tiles(self, tiles: Sequence[Tile]) -> None:
        keys = {t.key for t in tiles}
        self._speaker.forget([t.key for t in self._tiles if t.key not in keys])
        self._tiles = tuple(tiles)
        videos = {t.video for t in tiles if t.video}
        audios = {t.audio for t in tiles if t.audio}
        for track in [k for k in self._videos if k not in videos]:
            del self._videos[track]
        for track in [k for k in self._audios if k not in audios]:
            del self._audios[track]
        for track in videos - set(self._videos):
            self._videos[track] = VideoInput()
        for track in audios - set(self._audios):
            self._audios[track] = AudioInput(self.settings.sample_rate, self.settings.audio_latency)

    def video_input(self, track: str) -> VideoInput | None:
        return self._videos.get(track)

    def video_frame(self, track: str, data: bytes) -> None:
        decoder = self._videos.get(track)
        if decoder is not None and not decoder.decode(data):
            self._keyframe_wanted(track)

    def audio_frame(self, track: str, data: bytes, dbov: float | None, now: float) -> None:
        decoder = self._audios.get(track)
        if decoder is None:
            return
        samples = decoder.decode(data)
        if samples is None:
            return
        level = dbov if dbov is not None else dbov_of_samples(samples)
        for tile in self._tiles:
            if tile.audio == track:
                self._speaker.level(tile.key, level, now)

    # -- output ---------------------------------------------------------------------------

    def step(self, now: float) -> None:
        """Emit every frame due at stream time `now` (seconds since the stream began)."""
        if self.ended:
            return
        fps = self.settings.fps
        if now - self._next_video / fps > CATCH_UP:
            skip_to = math.floor(now * fps)
            self.frames_skipped += skip_to - self._next_video
            self._next_video = skip_to
        while self._next_video / fps <= now:
            self._emit_video(now)
        rate, size = self.settings.sample_rate, self.settings.audio_frame
        while (self._next_audio + size) / rate <= now - self.settings.audio_latency:
            self._emit_audio()

    def next_due(self) -> float:
        """The stream time at which the next frame (video or audio) is due."""
        s = self.settings
        audio = (self._next_audio + s.audio_frame) / s.sample_rate + s.audio_latency
        return min(self._next_video / s.fps, audio)

    def finish(self, until: float) -> None:
        """Emit everything up to stream time `until` (no audio latency kept), then end."""
        if self.ended:
            return
        fps = self.settings.fps
        while self._next_video / fps < until:
            self._emit_video(until)
        rate, size = self.settings.sample_rate, self.settings.audio_frame
        while (self._next_audio + size) / rate <= until:
            self._emit_audio()
        self.ended = True
        self._output.end()

    def _emit_video(self, now: float) -> None:
        self._render(now)
        pts = round(self._next_video * 90_000 / self.settings.fps)
        self._output.video(to_frame(self._canvas, pts, VIDEO_TIME_BASE))
        self._next_video += 1
        self.frames_out += 1

    def _emit_audio(self) -> None:
        size = self.settings.audio_frame
        mix = np.zeros(size, np.float32)
        for decoder in self._audios.values():
            mix += decoder.take(size)
        np.clip(mix, -1.0, 1.0, out=mix)
        frame = av.AudioFrame.from_ndarray(mix.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = self.settings.sample_rate
        frame.pts = self._next_audio
        frame.time_base = Fraction(1, self.settings.sample_rate)
        self._output.audio(frame)
        self._next_audio += size
        self.audio_frames_out += 1

    # -- the picture ----------------------------------------------------------------------

    def featured(self, now: float) -> int:
        speaker = self._speaker.current(now)
        for index, tile in enumerate(self._tiles):
            if tile.key == speaker:
                return index
        return 0

    def _render(self, now: float) -> None:
        width, height = self.settings.width, self.settings.height
        tiles = self._tiles
        featured = self.featured(now) if tiles else 0
        if self._layout != (tiles, featured):
            self._layout = (tiles, featured)
            gutter = 0 if len(tiles) < 2 else max(2, width // 320)
            self._rects = [
                inset(r, gutter) for r in tile_rects(len(tiles), featured, width, height)
            ]
            self._placed, self._fitted = {}, {}
            fill(self._canvas, 0, 0, width, height)
            if not tiles:
                paste(self._canvas, card(EMPTY_STAGE, width, height), 0, 0)
            for tile, rect in zip(tiles, self._rects, strict=True):
                band = plate_height(rect)
                picture = Rect(rect.x, rect.y, rect.width, rect.height - band)
                label = plate(tile.name, tile.caption, rect.width, band)
                paste(self._canvas, label, rect.x, picture.y + picture.height)
                self._placed[tile.key] = picture
                self._show_card(tile, picture)
        for tile in tiles:
            self._show_video(tile)

    def _show_card(self, tile: Tile, box: Rect) -> None:
        paste(self._canvas, card(tile.name, box.width, box.height), box.x, box.y)

    def _show_video(self, tile: Tile) -> None:
        decoder = self._videos.get(tile.video) if tile.video else None
        box = self._placed.get(tile.key)
        if decoder is None or box is None:
            return
        shown = decoder.picture(box)
        if shown is None:
            return
        where, planes = shown
        if self._fitted.get(tile.key) != where:  # the first picture, or another shape
            fill(self._canvas, box.x, box.y, box.width, box.height)  # the letterbox bars
            self._fitted[tile.key] = where
        paste(self._canvas, planes, where.x, where.y)

    @property
    def canvas(self) -> Planes:
        return self._canvas


def plate_height(rect: Rect) -> int:
    """The name plate's band at the bottom of a tile: about a sixth of it, 8 to 64 pixels."""
    return max(8, min(64, rect.height // 6)) & ~1
