"""Pictures as the compositor handles them: a 4:2:0 picture as three numpy planes, pasted into
a canvas without any colour conversion; and the few pictures drawn here (name plates, slates,
the card shown for a tile without video), drawn once with Pillow and converted once.

Text comes from the caller as plain strings; nothing here knows who is speaking or why. It is
drawn with the first font of `FONT_FILES` that is installed (Debian's fonts-dejavu-core or
fonts-noto-core, which cover Vietnamese with every tone mark), after NFC normalisation, so
that a name typed with combining marks is drawn from the font's precomposed letters. Without
any of them, Pillow's own font is used and a warning says that letters outside Latin-1 may be
missing (`font_file()`).
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Final

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

FONT_FILES: Final = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),  # fonts-dejavu-core
    Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),  # fonts-noto-core
)
"""Fonts that cover the Vietnamese alphabet with every tone mark, the first one found wins."""

Plane = NDArray[np.uint8]
RGB = tuple[int, int, int]
PLATE_BACKGROUND: RGB = (18, 22, 30)
PLATE_NAME: RGB = (250, 250, 250)
PLATE_CAPTION: RGB = (190, 196, 206)
CARD_BACKGROUND: RGB = (40, 44, 52)
SLATE_BACKGROUND: RGB = (24, 34, 56)
BLACK_Y, NEUTRAL_UV = 16, 128


@dataclass(frozen=True, slots=True, eq=False)
class Planes:
    """A yuv420p picture: full-size luma and half-size chroma planes."""

    y: Plane
    u: Plane
    v: Plane

    @property
    def width(self) -> int:
        return int(self.y.shape[1])

    @property
    def height(self) -> int:
        return int(self.y.shape[0])


def blank(width: int, height: int) -> Planes:
    """A black picture."""
    return Planes(
        np.full((height, width), BLACK_Y, np.uint8),
        np.full((height // 2, width // 2), NEUTRAL_UV, np.uint8),
        np.full((height // 2, width // 2), NEUTRAL_UV, np.uint8),
    )


def planes_of(frame: av.VideoFrame) -> Planes:
    """Copy a yuv420p frame's planes out of libav's buffers (which have padded lines)."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    arrays = []
    for plane in frame.planes:
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
        arrays.append(rows[:, : plane.width].copy())
    return Planes(*arrays)


def to_frame(
    picture: Planes, pts: int | None = None, time_base: Fraction | None = None
) -> av.VideoFrame:
    frame = av.VideoFrame(picture.width, picture.height, "yuv420p")
    for plane, array in zip(frame.planes, (picture.y, picture.u, picture.v), strict=True):
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
        rows[:, : plane.width] = array
    if pts is not None:
        frame.pts = pts
        frame.time_base = time_base
    return frame


def paste(canvas: Planes, picture: Planes, x: int, y: int) -> None:
    """Copy `picture` into `canvas` at an even (x, y); clipped to the canvas."""
    w = min(picture.width, canvas.width - x)
    h = min(picture.height, canvas.height - y)
    if w <= 0 or h <= 0:
        return
    canvas.y[y : y + h, x : x + w] = picture.y[:h, :w]
    cx, cy, cw, ch = x // 2, y // 2, w // 2, h // 2
    canvas.u[cy : cy + ch, cx : cx + cw] = picture.u[:ch, :cw]
    canvas.v[cy : cy + ch, cx : cx + cw] = picture.v[:ch, :cw]


def fill(canvas: Planes, x: int, y: int, width: int, height: int) -> None:
    """Paint a rectangle black."""
    canvas.y[y : y + height, x : x + width] = BLACK_Y
    canvas.u[y // 2 : (y + height) // 2, x // 2 : (x + width) // 2] = NEUTRAL_UV
    canvas.v[y // 2 : (y + height) // 2, x // 2 : (x + width) // 2] = NEUTRAL_UV


def from_image(image: Image.Image) -> Planes:
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return planes_of(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p"))


@functools.cache
def font_file() -> Path | None:
    """The font the pictures are drawn with, or None (Pillow's own, which lacks most
    Vietnamese letters: said once in the log, and the pictures are drawn anyway)."""
    for path in FONT_FILES:
        if path.is_file():
            return path
    log.warning(
        "no font covering Vietnamese found (%s): name plates and slates use Pillow's font "
        "and may show boxes for letters outside Latin-1; install fonts-dejavu-core",
        ", ".join(str(p) for p in FONT_FILES),
    )
    return None


@functools.lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = font_file()
    if path is not None:
        try:
            return ImageFont.truetype(str(path), max(6, size))
        except OSError:
            log.warning("the font %s could not be read; using Pillow's own", path)
    return ImageFont.load_default(size=max(6, size))


def _text(text: str) -> str:
    """Composed letters (NFC): "ệ" as one code point, which the font draws as one glyph."""
    return unicodedata.normalize("NFC", text)


def _fitted(draw: ImageDraw.ImageDraw, text: str, size: int, room: int) -> str:
    """`text`, shortened with an ellipsis until it fits in `room` pixels."""
    font = _font(size)
    if draw.textlength(text, font=font) <= room:
        return text
    while text and draw.textlength(text + "…", font=font) > room:
        text = text[:-1]
    return text + "…" if text else ""


@functools.lru_cache(maxsize=256)
def plate(name: str, caption: str, width: int, height: int) -> Planes:
    """A name plate: the name, and under it (or after it, when the plate is low) the caption."""
    name, caption = _text(name), _text(caption)
    image = Image.new("RGB", (width, height), PLATE_BACKGROUND)
    draw = ImageDraw.Draw(image)
    pad = max(2, height // 8)
    room = width - 2 * pad
    if height >= 30:
        name_size, caption_size = int(height * 0.42), int(height * 0.3)
        draw.text((pad, pad), _fitted(draw, name, name_size, room), PLATE_NAME, _font(name_size))
        draw.text(
            (pad, pad + int(name_size * 1.15)),
            _fitted(draw, caption, caption_size, room),
            PLATE_CAPTION,
            _font(caption_size),
        )
    else:
        size = int(height * 0.62)
        line = _fitted(draw, f"{name} · {caption}", size, room)
        draw.text((pad, (height - size) // 2), line, PLATE_NAME, _font(size))
    return from_image(image)


@functools.lru_cache(maxsize=64)
def card(text: str, width: int, height: int, background: RGB = CARD_BACKGROUND) -> Planes:
    """A plain card with centred lines of text (a tile without video, a slate)."""
    text = _text(text)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    lines = text.split("\n")
    size = max(8, min(height // (3 * len(lines) + 1), width // 18))
    font = _font(size)
    total = len(lines) * int(size * 1.3)
    top = (height - total) // 2
    for index, line in enumerate(lines):
        shown = _fitted(draw, line, size, width - size)
        left = (width - draw.textlength(shown, font=font)) / 2
        draw.text((left, top + index * int(size * 1.3)), shown, PLATE_NAME, font)
    return from_image(image)


def slate(text: str, width: int, height: int) -> Planes:
    return card(text, width, height, SLATE_BACKGROUND)
