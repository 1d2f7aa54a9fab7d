"""An exhibit is what its content says, and only a safe one is kept: each bad input is
refused with its own reason code, whatever the file is called."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from recording.exhibits.content import ExhibitKind, inspect_bytes
from recording.exhibits.errors import ExhibitRefusal, ExhibitRefused
from tests import exhibit_samples as samples


def refusal(data: bytes, tmp_path: Path) -> str:
    with pytest.raises(ExhibitRefused) as refused:
        inspect_bytes(data, tmp_path / "upload.part")
    return refused.value.code


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (samples.clean_pdf, ExhibitKind.PDF),
        (samples.png, ExhibitKind.PNG),
        (samples.jpeg, ExhibitKind.JPEG),
        (samples.mp3, ExhibitKind.MP3),
        (samples.mp4, ExhibitKind.MP4),
    ],
)
def test_each_accepted_type_is_known_by_its_content(
    make: Callable[[], bytes], kind: ExhibitKind, tmp_path: Path
) -> None:
    assert inspect_bytes(make(), tmp_path / "upload.part").kind is kind


def test_a_pdf_is_counted_in_pages_and_an_image_in_pixels(tmp_path: Path) -> None:
    assert inspect_bytes(samples.clean_pdf(pages=5), tmp_path / "a").pages == 5
    found = inspect_bytes(samples.png(64, 48), tmp_path / "b")
    assert (found.width, found.height, found.pages) == (64, 48, 1)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: b"", ExhibitRefusal.EMPTY),
        (lambda: b"MZ\x90\x00" + bytes(200), ExhibitRefusal.TYPE_REFUSED),
        (lambda: b"plain text, named evidence.pdf\n" * 10, ExhibitRefusal.TYPE_REFUSED),
        (samples.zip_file, ExhibitRefusal.TYPE_REFUSED),
        (samples.pdf_with_javascript, ExhibitRefusal.PDF_JAVASCRIPT),
        (samples.pdf_with_escaped_javascript, ExhibitRefusal.PDF_JAVASCRIPT),
        (samples.pdf_with_javascript_in_an_object_stream, ExhibitRefusal.PDF_JAVASCRIPT),
        (samples.pdf_with_embedded_file, ExhibitRefusal.PDF_EMBEDDED_FILE),
        (samples.pdf_with_launch_action, ExhibitRefusal.PDF_LAUNCH_ACTION),
        (samples.truncated_pdf, ExhibitRefusal.PDF_TRUNCATED),
        (lambda: b"%PDF-1.7\ngarbage\nstartxref\n0\n%%EOF\n", ExhibitRefusal.PDF_MALFORMED),
        (samples.png_bomb, ExhibitRefusal.IMAGE_TOO_LARGE),
        (samples.malformed_png, ExhibitRefusal.IMAGE_MALFORMED),
        (lambda: samples.png()[:60], ExhibitRefusal.IMAGE_MALFORMED),
        (samples.png_with_pdf_inside, ExhibitRefusal.POLYGLOT),
        (lambda: samples.clean_pdf() + samples.zip_file(1000), ExhibitRefusal.POLYGLOT),
        (lambda: samples.png() + samples.zip_file(1000), ExhibitRefusal.POLYGLOT),
        (lambda: samples.png() + b"trailing", ExhibitRefusal.POLYGLOT),
        (lambda: samples.jpeg() + samples.clean_pdf(), ExhibitRefusal.POLYGLOT),
        (lambda: samples.mp3() + b"junk", ExhibitRefusal.MEDIA_MALFORMED),
        (lambda: samples.mp4() + b"junk", ExhibitRefusal.MEDIA_MALFORMED),
        (lambda: samples.mp4().replace(b"moov", b"moox"), ExhibitRefusal.MEDIA_MALFORMED),
    ],
    ids=lambda v: v.value if isinstance(v, ExhibitRefusal) else "",
)
def test_each_bad_input_is_refused_with_its_reason(
    make: Callable[[], bytes], reason: ExhibitRefusal, tmp_path: Path
) -> None:
    assert refusal(make(), tmp_path) == reason.value


@functools.cache
def _bomb() -> bytes:
    return samples.pdf_bomb()


def test_a_pdf_whose_streams_inflate_past_the_bound_is_refused_without_inflating_them_all(
    tmp_path: Path,
) -> None:
    assert len(_bomb()) < 1024 * 1024  # 300 MB of zeros behind it
    assert refusal(_bomb(), tmp_path) == ExhibitRefusal.PDF_TOO_COMPLEX.value


def test_the_pixel_bound_refuses_a_real_image_over_it(tmp_path: Path) -> None:
    from recording.exhibits.content import inspect_file

    path = tmp_path / "photo.png"
    path.write_bytes(samples.png(200, 200))
    with pytest.raises(ExhibitRefused) as refused:
        inspect_file(path, max_pixels=200 * 199)
    assert refused.value.reason is ExhibitRefusal.IMAGE_TOO_LARGE
    assert inspect_file(path, max_pixels=200 * 200).width == 200
