"""Images we accept, and the ones we draw: avatars, thumbnails, identicons.

Every uploaded or fetched image is decoded by Pillow only after its size in bytes was
bounded by the caller, only if its header names an allowed format and its pixel count is
under the limit (so a decompression bomb is refused before it is decoded), then drawn
again into a fresh image: the output carries no metadata (EXIF, GPS, comments) and no
bytes of the original file. Identicons and letter avatars are SVG drawn from a hash, so
the same user or organisation always gets the same picture.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from html import escape

from PIL import Image, ImageOps

ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
AVATAR_SIZES = (256, 64)
THUMBNAIL_WIDTH = 480
THUMBNAIL_MAX_HEIGHT = 480


class ImageRejected(ValueError):  # noqa: N818 - reads best at call sites
    """An image we will not store; the message says why, for the person who sent it."""


def _open(data: bytes, max_pixels: int) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected("the image has too many pixels") from None
        except Exception:
            raise ImageRejected("not a PNG, JPEG, GIF or WebP image") from None
    width, height = img.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise ImageRejected(
            f"the image is {width}x{height} pixels; at most {max_pixels:,} pixels are accepted"
        )
    try:
        img.seek(0)  # the first frame of an animation
        img.load()
    except Exception:
        raise ImageRejected("the image is damaged and cannot be read") from None
    return img


def _flat(img: Image.Image) -> Image.Image:
    """The image drawn again in RGB(A), upright (EXIF orientation applied, then dropped)."""
    img = ImageOps.exif_transpose(img) or img
    mode = "RGBA" if img.mode in ("RGBA", "LA", "P", "PA") else "RGB"
    fresh = Image.new(mode, img.size)
    fresh.paste(img.convert(mode))
    return fresh


def avatar_images(data: bytes, max_pixels: int) -> dict[int, bytes]:
    """Square PNGs of ``AVATAR_SIZES`` from an upload (``ImageRejected`` when unusable)."""
    img = _flat(_open(data, max_pixels))
    out = {}
    for size in AVATAR_SIZES:
        square = ImageOps.fit(img, (size, size), method=Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        square.save(buf, format="PNG", optimize=True)
        out[size] = buf.getvalue()
    return out


def thumbnail_image(data: bytes, max_pixels: int) -> bytes:
    """A WebP at most ``THUMBNAIL_WIDTH`` wide from a fetched thumbnail."""
    img = _flat(_open(data, max_pixels))
    img.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_MAX_HEIGHT), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="WEBP", quality=80)
    return buf.getvalue()


def _colour(digest: bytes) -> str:
    hue = int.from_bytes(digest[:2], "big") % 360
    return f"hsl({hue} 55% 45%)"


def identicon_svg(seed: str, size: int = 64) -> str:
    """A 5x5 mirrored grid coloured from SHA-256 of ``seed``: the same seed, the same icon."""
    digest = hashlib.sha256(seed.encode()).digest()
    cells = []
    for row in range(5):
        for col in range(3):
            if digest[2 + row * 3 + col] % 2:
                for x in {col, 4 - col}:
                    cells.append(f'<rect x="{x + 1}" y="{row + 1}" width="1" height="1"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 7 7" width="{size}" '
        f'height="{size}"><rect width="7" height="7" fill="#f1f1f4"/>'
        f'<g fill="{_colour(digest)}">{"".join(cells)}</g></svg>'
    )


def letter_svg(name: str, size: int = 64) -> str:
    """The first letter of ``name`` on a colour from its hash (organisations)."""
    digest = hashlib.sha256(name.casefold().encode()).digest()
    letter = escape(next((c for c in name if c.isalnum()), "?").upper())
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="{size}" '
        f'height="{size}"><rect width="64" height="64" rx="12" fill="{_colour(digest)}"/>'
        '<text x="32" y="43" font-family="system-ui, sans-serif" font-size="30" '
        f'font-weight="600" fill="#fff" text-anchor="middle">{letter}</text></svg>'
    )


PLACEHOLDER_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 27" width="480" height="270">'
    '<rect width="48" height="27" fill="#ececf1"/>'
    '<path d="M17 9h14M17 13h14M17 17h9" stroke="#b8b8c4" stroke-width="1.6" '
    'stroke-linecap="round"/></svg>'
)
"""A neutral stand-in for a paper without a cached thumbnail."""
