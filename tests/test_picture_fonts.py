"""The pictures the court draws (name plates, cards, slates) write Vietnamese: every letter of
the alphabet with every tone mark has a glyph in the font they use, a name typed with
combining marks is drawn as its composed letters, and a livestream frame with a Vietnamese
name, encoded and decoded, shows the plate the font draws (compared pixel by pixel with the
expected plate, and told apart from the same plate in Pillow's own font)."""

from __future__ import annotations

import logging
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from media import picture
from media.composite import CompositeCore, CompositeSettings, Tile, plate_height
from media.layout import inset, tile_rects
from media.picture import Planes, card, font_file, plate, to_frame
from recording.livestream.encoder import EncoderSettings, HlsEncoder
from tests.livestream_support import decode_segment
from tests.test_livestream_composite import Sink

BASE_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxy" + "fjwz"  # and the four of foreign names
VOWELS = "aăâeêioôơuưy"
TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # ngang huyền sắc hỏi ngã nặng
MISSING = "\U000f0000"  # a private-use code point no font here draws: its .notdef box


def vietnamese_letters() -> list[str]:
    """Every letter, and every vowel with every tone mark, in lower and upper case (NFC)."""
    letters = set(BASE_LETTERS)
    for vowel in VOWELS:
        for tone in TONES:
            letters.add(unicodedata.normalize("NFC", vowel + tone))
    both = letters | {letter.upper() for letter in letters}
    return sorted(both)


def rgb(picture: Planes) -> NDArray[np.uint8]:
    return np.asarray(to_frame(picture).to_ndarray(format="rgb24"), np.uint8)


def missing_glyphs(draw_letter: object, letters: list[str]) -> list[str]:
    """The letters drawn exactly as the font's box for a code point it lacks."""
    assert callable(draw_letter)
    box = draw_letter(MISSING)
    return [letter for letter in letters if np.array_equal(draw_letter(letter), box)]


def test_every_vietnamese_letter_with_every_tone_mark_has_a_glyph() -> None:
    assert font_file() is not None, "no Vietnamese font installed: run tools/install-test-deps"
    letters = vietnamese_letters()
    assert len(letters) == 2 * (len(BASE_LETTERS) + len(VOWELS) * (len(TONES) - 1))
    missing = missing_glyphs(lambda text: card(text, 96, 96).y, letters)
    assert not missing, f"letters drawn as a box: {' '.join(missing)}"


def test_the_glyph_check_finds_the_letters_pillows_own_font_lacks() -> None:
    """The check above can fail: with Pillow's bundled font most toned vowels are boxes."""
    font = ImageFont.load_default(size=40)

    def draw(text: str) -> NDArray[np.uint8]:
        image = Image.new("L", (96, 96))
        ImageDraw.Draw(image).text((10, 10), text, 255, font)
        return np.asarray(image)

    missing = missing_glyphs(draw, vietnamese_letters())
    assert "ệ" in missing and "Ữ" in missing


def test_a_name_typed_with_combining_marks_is_drawn_as_the_composed_name() -> None:
    composed = "Luật sư Trần Minh"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    drawn = plate(decomposed, "Người bào chữa", 320, 48)
    expected = plate(composed, "Người bào chữa", 320, 48)
    assert np.array_equal(drawn.y, expected.y)


def test_without_the_font_the_pictures_are_still_drawn_and_the_log_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(picture, "FONT_FILES", (Path("no-such-font.ttf"),))
    picture.font_file.cache_clear()
    picture._font.cache_clear()
    picture.plate.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="media.picture"):
            assert picture.font_file() is None
            drawn = picture.plate("Luật sư Trần Minh", "Người bào chữa", 320, 48)
        assert drawn.width == 320 and drawn.height == 48
        assert "no font covering Vietnamese" in caplog.text
    finally:
        monkeypatch.undo()
        picture.font_file.cache_clear()
        picture._font.cache_clear()
        picture.plate.cache_clear()
    assert picture.font_file() is not None


def plate_in_frame(frame: NDArray[np.uint8], settings: CompositeSettings) -> NDArray[np.int32]:
    [rect] = [inset(r, 0) for r in tile_rects(1, 0, settings.width, settings.height)]
    band = plate_height(rect)
    top = rect.y + rect.height - band
    return frame[top : top + band, rect.x : rect.x + rect.width].astype(np.int32)


@pytest.mark.parametrize("name", ["Luật sư Trần Minh", "Nguyễn Thị Hường"])
def test_a_livestream_frame_shows_a_vietnamese_name_as_the_font_draws_it(name: str) -> None:
    assert font_file() is not None, "no Vietnamese font installed: run tools/install-test-deps"
    settings = CompositeSettings(width=640, height=360, fps=15)
    sink = Sink()
    core = CompositeCore(settings, HlsEncoder(settings, EncoderSettings(preset="ultrafast"), sink))
    caption = "Người bào chữa"
    core.set_tiles([Tile("counsel", name, caption, None, None)])
    for n in range(30):
        core.step(n / 15)
    core.finish(2.0)
    [segment] = sink.segments
    frame = decode_segment(segment.data).pictures[-1]

    shown = plate_in_frame(frame, settings)
    band, width = shown.shape[0], shown.shape[1]
    expected = rgb(plate(name, caption, width, band)).astype(np.int32)
    # the same plate in Pillow's own font (boxes for ậ, ư, ầ ...): what the stream showed before
    fallback = Image.new("RGB", (width, band), (18, 22, 30))
    ImageDraw.Draw(fallback).text(
        (band // 8, band // 8), name, (250, 250, 250), ImageFont.load_default(size=band * 42 // 100)
    )
    wrong = np.asarray(fallback, np.int32)

    off = float(np.abs(shown - expected).mean())
    off_wrong = float(np.abs(shown - wrong).mean())
    assert off < 3.0, f"the decoded plate differs from the expected one by {off:.1f} a pixel"
    print(f"{name}: {off:.2f} a pixel from the expected plate, {off_wrong:.2f} from Pillow's")
    assert off_wrong > 2 * off, (off, off_wrong)
