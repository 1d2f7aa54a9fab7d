"""Where each tile of a composite goes: a pure function of the count, the featured tile (the
active speaker) and the canvas. Every edge is even, so the rectangles map onto 4:2:0 chroma.

- one tile fills the canvas;
- two or more: the featured tile takes the left two thirds, the others share the right third
  in a grid (one column up to three tiles, two up to six, and so on), each at most a third of
  the height, centred.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if min(self.x, self.y) < 0 or min(self.width, self.height) < 2:
            raise ValueError(f"a rectangle needs a place and a size: {self}")
        if (self.x | self.y | self.width | self.height) & 1:
            raise ValueError(f"a rectangle's edges must be even: {self}")

    @property
    def area(self) -> int:
        return self.width * self.height

    def overlaps(self, other: Rect) -> bool:
        return not (
            self.x + self.width <= other.x
            or other.x + other.width <= self.x
            or self.y + self.height <= other.y
            or other.y + other.height <= self.y
        )


def _even(value: float) -> int:
    return max(2, int(value) & ~1)


def tile_rects(count: int, featured: int, width: int, height: int) -> list[Rect]:
    """The rectangle of each of `count` tiles, in order; tile `featured` is the large one."""
    if count < 0 or width < 4 or height < 4 or (width | height) & 1:
        raise ValueError("a layout needs a tile count and an even canvas of at least 4x4")
    if count == 0:
        return []
    if count == 1:
        return [Rect(0, 0, width, height)]
    if not 0 <= featured < count:
        raise ValueError("the featured tile must be one of the tiles")
    big_width = _even(width * 2 / 3)
    strip = width - big_width
    others = count - 1
    columns = math.ceil(others / 3)
    rows = math.ceil(others / columns)
    cell_w, cell_h = _even(strip / columns), _even(height / max(rows, 3))
    top = (height - rows * cell_h) // 2 & ~1  # a short column sits in the middle
    rects: list[Rect] = []
    slot = 0
    for index in range(count):
        if index == featured:
            rects.append(Rect(0, 0, big_width, height))
            continue
        row, column = divmod(slot, columns)
        rects.append(Rect(big_width + column * cell_w, top + row * cell_h, cell_w, cell_h))
        slot += 1
    return rects


def inset(rect: Rect, margin: int) -> Rect:
    """`rect` shrunk by an even `margin` on every side (unchanged if it would vanish)."""
    margin &= ~1
    if rect.width <= 4 * margin or rect.height <= 4 * margin:
        return rect
    return Rect(rect.x + margin, rect.y + margin, rect.width - 2 * margin, rect.height - 2 * margin)


def fit(source_width: int, source_height: int, box: Rect) -> Rect:
    """The largest rectangle of the source's shape centred in `box` (letterboxed, even)."""
    if source_width <= 0 or source_height <= 0:
        return box
    scale = min(box.width / source_width, box.height / source_height)
    w = min(box.width, _even(source_width * scale))
    h = min(box.height, _even(source_height * scale))
    x = box.x + ((box.width - w) // 2 & ~1)
    y = box.y + ((box.height - h) // 2 & ~1)
    return Rect(x, y, w, h)
