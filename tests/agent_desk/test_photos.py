"""Photos from citizens: whatever bytes follow a JPEG or PNG signature, the answer is a re-encoded
image or BadPhoto, never another error; a real image keeps its pixels and loses its metadata."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from agent_desk.photos import BadPhoto, PhotoTooLarge, UnsupportedPhoto, clean_photo

LIMITS = {"max_bytes": 700 * 1024, "max_side": 4096}
SIGNATURES = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"]


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 10)).save(out, "PNG")
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SIGNATURES), st.binary(max_size=2000))
def test_garbage_after_a_signature_is_a_bad_photo(signature: bytes, rest: bytes) -> None:
    try:
        photo = clean_photo(signature + rest, **LIMITS)
    except BadPhoto:
        return
    assert photo.content_type in ("image/jpeg", "image/png")


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=64).filter(lambda b: not any(b.startswith(s) for s in SIGNATURES)))
def test_anything_else_is_unsupported(raw: bytes) -> None:
    try:
        clean_photo(raw, **LIMITS)
    except UnsupportedPhoto:
        return
    raise AssertionError("accepted")


def test_a_png_keeps_its_pixels_and_size_limits_hold() -> None:
    photo = clean_photo(png((30, 20)) + b"trailing", **LIMITS)
    assert (photo.content_type, photo.width, photo.height) == ("image/png", 30, 20)
    assert Image.open(io.BytesIO(photo.data)).getpixel((0, 0)) == (10, 200, 10)
    for raw, limits in ((png((300, 10)), {"max_bytes": 700 * 1024, "max_side": 100}),
                        (png((10, 10)), {"max_bytes": 20, "max_side": 4096})):
        try:
            clean_photo(raw, **limits)
        except PhotoTooLarge:
            continue
        raise AssertionError(limits)


def test_a_huge_canvas_is_refused_before_it_is_decoded() -> None:
    # a 20000×20000 PNG header: 400 million pixels announced in a few hundred bytes
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")
    try:
        clean_photo(out.getvalue(), **LIMITS)
    except PhotoTooLarge:
        return
    raise AssertionError("accepted")


def test_the_largest_photo_setting_fits_the_body_limit() -> None:
    from agent_desk.api.input_guard import MAX_BODY
    from agent_desk.options import PHOTO_BYTES_CEILING

    # base64 photo + the longest description and address in UTF-8 Chinese + the other fields
    assert 4 * PHOTO_BYTES_CEILING // 3 + 4 + 3 * (2000 + 128) + 1024 <= MAX_BODY
