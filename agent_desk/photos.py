"""Citizens' photos: accepted only as real JPEG or PNG images, re-encoded, stored under a data folder.

A photo is trusted by nothing it claims. Its first bytes must be a JPEG or PNG signature, it must
decode as that format within the size limits (so no decompression bomb), and what is stored is
a fresh encoding of its pixels: EXIF (with its GPS position), comments and anything appended after
the image are gone. Files get a random name under `desk.portal.photos_dir` and are only ever sent
back with the content type decided here, so a disguised HTML or script file is never served as one.
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps

_SIGNATURES = {b"\xff\xd8\xff": ("JPEG", "image/jpeg", ".jpg"), b"\x89PNG\r\n\x1a\n": ("PNG", "image/png", ".png")}


class BadPhoto(ValueError):
    """Why a photo was refused, in words for the citizen."""


class PhotoTooLarge(BadPhoto):
    pass


class UnsupportedPhoto(BadPhoto):
    """Not a JPEG or PNG by its bytes, whatever its name or declared type."""


@dataclass(frozen=True)
class Photo:
    data: bytes  # the re-encoded image
    content_type: str
    suffix: str
    width: int
    height: int


def clean_photo(raw: bytes, *, max_bytes: int, max_side: int) -> Photo:
    """The photo re-encoded without metadata, or BadPhoto."""
    if not raw:
        raise BadPhoto("照片是空的")
    if len(raw) > max_bytes:
        raise PhotoTooLarge(f"照片太大：最多 {max_bytes // 1024} KB")
    kind = next((k for sig, k in _SIGNATURES.items() if raw.startswith(sig)), None)
    if kind is None:
        raise UnsupportedPhoto("只接受 JPEG 或 PNG 照片")
    fmt, content_type, suffix = kind
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(raw), formats=[fmt])
            if max(opened.size) > max_side:
                raise PhotoTooLarge(f"照片尺寸太大：最长边不超过 {max_side} 像素")
            opened.load()
            image = ImageOps.exif_transpose(opened)  # keep what the camera meant, then drop the EXIF
            image.info = {}  # comments, ICC and EXIF copies: Pillow writes back what info holds
            out = io.BytesIO()
            if fmt == "JPEG":
                image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
            else:
                image.save(out, "PNG", optimize=True)
    except BadPhoto:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoTooLarge(f"照片尺寸太大：最长边不超过 {max_side} 像素") from None
    except Exception:  # noqa: BLE001  # Pillow fails on hostile input with many types (OSError, EOFError …)
        raise BadPhoto("照片无法识别：文件已损坏或不是图片") from None
    return Photo(out.getvalue(), content_type, suffix, image.width, image.height)


def store_photo(photo: Photo, root: Path, now: datetime) -> str:
    """Write the photo under `root` (a folder per month, a random name); its path relative to `root`."""
    relative = Path(now.strftime("%Y%m")) / (secrets.token_hex(16) + photo.suffix)
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(photo.data)
    return relative.as_posix()
