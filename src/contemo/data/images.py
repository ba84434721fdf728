"""Decoding face images: open, crop to the face box, optional square crop, plain resize.

The paper feeds the network images resized to the training size and nothing
else (§4.1), so this module does exactly that and no augmentation. Every
failure becomes a one-line ContemoError naming the file.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from contemo.errors import ContemoError

# File endings every layout treats as images (compared lower-case).
IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})

MAX_DECODE_THREADS = 8  # PIL decodes without the GIL; more threads than this stop paying off

# Bicubic in PIL widens its kernel when shrinking, so a plain resize is also anti-aliased.
RESAMPLE = Image.Resampling.BICUBIC

# Images above this many pixels are refused from their header, before any decoding: a
# 17 KB PNG can claim 12000x12000 px and decode to 430 MB (eight decoding threads: GBs).
# 40 MP is above any face photo we know of (AffectNet's largest are ~16 MP) and keeps
# one decode under ~120 MB. Change it with CONTEMO_MAX_PIXELS or --max-pixels.
DEFAULT_MAX_PIXELS = 40_000_000
MAX_PIXELS_ENV = "CONTEMO_MAX_PIXELS"
_max_pixels: int | None = None  # set by set_max_pixels (a CLI flag); None: env or default


def set_max_pixels(limit: int | None) -> None:
    """Set the pixel limit for this process (None: CONTEMO_MAX_PIXELS, else the default)."""
    global _max_pixels
    if limit is not None and limit < 1:
        raise ContemoError(f"--max-pixels {limit}: expected a positive number of pixels")
    _max_pixels = limit


def max_pixels() -> int:
    """Return the largest width x height an image may claim: flag, environment, default."""
    if _max_pixels is not None:
        return _max_pixels
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        limit = int(float(text))
    except (ValueError, OverflowError):
        limit = 0
    if limit < 1:
        raise ContemoError(f"{MAX_PIXELS_ENV}={text[:40]!r}: expected a positive number of pixels")
    return limit


def decode_threads(requested: int | None = None) -> int:
    """Return how many decoding threads to use: `requested`, else one per core up to 8."""
    if requested is None:
        return min(MAX_DECODE_THREADS, os.cpu_count() or 1)
    if requested < 1:
        raise ContemoError(f"--threads must be at least 1, got {requested}")
    return requested


def is_image_file(path: Path) -> bool:
    """Return True for a visible file whose ending is an image format contemo reads."""
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _open(path: Path) -> Image.Image:
    """Return the opened (not yet decoded) image, or raise ContemoError naming the file.

    Opening reads the header only; the size it claims is checked against `max_pixels`
    here, so nothing is decoded (or allocated) for an oversized image.
    """
    limit = max_pixels()
    try:
        with warnings.catch_warnings():  # PIL warns at 89 MP: our own limit speaks instead
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except FileNotFoundError:
        raise ContemoError(f"{path}: file not found") from None
    except Image.DecompressionBombError:
        raise ContemoError(f"{path}: image claims over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} "
                           f"megapixels, above the limit of {_megapixels(limit)} "
                           f"({MAX_PIXELS_ENV} or --max-pixels)") from None
    except Exception as err:  # noqa: BLE001 - PIL plugins raise many types on malformed headers
        raise ContemoError(f"{path}: unreadable image ({_reason(err, path)})") from None
    width, height = im.size
    if width * height > limit:
        im.close()
        raise ContemoError(f"{path}: image of {width}x{height} pixels is above the limit of "
                           f"{_megapixels(limit)} ({MAX_PIXELS_ENV} or --max-pixels); not decoded")
    return im


def _megapixels(pixels: int) -> str:
    """Return a pixel count for messages, e.g. '40 megapixels'."""
    return f"{pixels / 1e6:g} megapixels"


def _reason(err: Exception, path: Path) -> str:
    """Return a short one-line reason from a PIL/OS error, without repeating the path."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text.replace(f" {str(path)!r}", "").replace(f" {path}", "")


def _decoded_rgb(im: Image.Image, path: Path) -> Image.Image:
    """Return `im` fully decoded as RGB; a truncated or corrupt file raises ContemoError."""
    try:
        im.load()
        return im if im.mode == "RGB" else im.convert("RGB")
    except Exception as err:  # noqa: BLE001 - any decoder error (truncation, bad chunk) is damage
        raise ContemoError(f"{path}: unreadable image ({_reason(err, path)})") from None


def probe(path: Path) -> tuple[int, int]:
    """Return the (width, height) of an image after decoding all its data (so damage is found).

    A JPEG is decoded at 1/8 scale: every entropy-coded byte is still read (truncation
    and corruption still fail) but the inverse DCTs are skipped, several times faster.
    """
    with _open(path) as im:
        size = im.size
        if im.format == "JPEG":
            im.draft("RGB", (max(1, size[0] // 8), max(1, size[1] // 8)))
        _decoded_rgb(im, path)
    return size


def crop_box(
    size: tuple[int, int], bbox: tuple[int, int, int, int] | None, path: Path
) -> tuple[int, int, int, int]:
    """Return the (left, top, right, bottom) region to use: the face box clipped to the image."""
    width, height = size
    if bbox is None:
        return (0, 0, width, height)
    x, y, w, h = bbox
    left, top = max(0, x), max(0, y)
    right, bottom = min(width, x + w), min(height, y + h)
    if right - left < 1 or bottom - top < 1:
        raise ContemoError(
            f"{path}: face box x={x} y={y} w={w} h={h} lies outside the {width}x{height} image"
        )
    return (left, top, right, bottom)


def square(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Return the largest centred square inside `box`."""
    left, top, right, bottom = box
    side = min(right - left, bottom - top)
    x0 = left + (right - left - side) // 2
    y0 = top + (bottom - top - side) // 2
    return (x0, y0, x0 + side, y0 + side)


def fraction_region(size: tuple[int, int], crop: tuple[float, float, float, float]
                    ) -> tuple[int, int, int, int]:
    """Return a fractional (left, top, right, bottom) crop in pixels of an image of `size`."""
    width, height = size
    left, top = round(crop[0] * width), round(crop[1] * height)
    return (left, top, max(round(crop[2] * width), left + 1), max(round(crop[3] * height), top + 1))


def padded_crop(rgb: Image.Image, region: tuple[int, int, int, int]) -> Image.Image:
    """Return `region` of `rgb`; where it reaches past the frame, the edge pixels are repeated.

    A face crop near the border (a tall head, a low camera) keeps its shape this
    way; PIL's own crop would fill black, which the GAN would learn as a frame.
    """
    width, height = rgb.size
    left, top, right, bottom = region
    if left >= 0 and top >= 0 and right <= width and bottom <= height:
        return rgb.crop(region)
    pad = (max(0, -top), max(0, bottom - height)), (max(0, -left), max(0, right - width))
    pixels = np.pad(np.asarray(rgb), (*pad, (0, 0)), mode="edge")
    x0, y0 = left + pad[1][0], top + pad[0][0]
    return Image.fromarray(pixels[y0:y0 + bottom - top, x0:x0 + right - left])


def load_grey_for_detection(path: Path, side: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Return (uint8 grey image at most `side` px on its long edge, the file's (width, height))."""
    with _open(path) as im:
        full = im.size
        if im.format == "JPEG" and max(full) > 2 * side:
            im.draft("L", (max(1, full[0] * side // max(full)), max(1, full[1] * side // max(full))))
        grey = _decoded_rgb(im, path).convert("L")
        if max(grey.size) > side:
            zoom = side / max(grey.size)
            grey = grey.resize((max(1, round(grey.size[0] * zoom)),
                                max(1, round(grey.size[1] * zoom))), RESAMPLE)
        return np.asarray(grey, dtype=np.uint8), full


def load_face(
    path: Path, size: int, bbox: tuple[int, int, int, int] | None = None,
    center_crop: bool = False, crop: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """Return the face as uint8 (3, size, size): face crop or box, optional centre square, resize.

    `crop` (fractions of the frame, from contemo.data.facecrop) wins over `bbox`.
    Large JPEGs are decoded at a reduced DCT scale (PIL's draft mode) whenever the
    region still comes out at least `size` pixels on each side, which makes AffectNet-
    sized photos several times cheaper to decode without changing the result visibly.
    """
    with _open(path) as im:
        full = im.size
        if crop is not None:
            region = fraction_region(full, crop)
        else:
            region = crop_box(full, bbox, path)
            if center_crop:
                region = square(region)
        if im.format == "JPEG":
            shrink = max(size / (region[2] - region[0]), size / (region[3] - region[1]))
            if shrink < 1.0:
                im.draft("RGB", (math.ceil(full[0] * shrink), math.ceil(full[1] * shrink)))
        rgb = _decoded_rgb(im, path)
        sx, sy = rgb.size[0] / full[0], rgb.size[1] / full[1]
        if (sx, sy) != (1.0, 1.0):
            region = (
                round(region[0] * sx), round(region[1] * sy),
                max(round(region[2] * sx), round(region[0] * sx) + 1),
                max(round(region[3] * sy), round(region[1] * sy) + 1),
            )
        if region != (0, 0, *rgb.size):
            rgb = padded_crop(rgb, region)
        if rgb.size != (size, size):
            rgb = rgb.resize((size, size), RESAMPLE)
        return np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1).copy()
