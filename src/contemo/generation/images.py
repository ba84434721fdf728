"""Image writers: labelled PNG grids, display upscaling, single PNGs and looping GIFs.

Everything here takes uint8 HWC arrays (see ``pipeline.to_uint8``) and knows nothing
about models, so figures made by generate, demo, sweeps or the web app look alike.
Text uses PIL's built-in scalable font (``ImageFont.load_default(size=...)``), which
ships inside Pillow: no font files, no downloads.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from contemo.errors import ContemoError
from contemo.fileio import atomic_write_bytes

RESAMPLE = {"nearest": Image.Resampling.NEAREST, "bicubic": Image.Resampling.BICUBIC}
PAD = 4  # pixels of white around header text
BACKGROUND = (255, 255, 255)
INK = (30, 30, 30)
MAX_FONT, MIN_FONT = 13, 8  # header font sizes: biggest that fits a tile, never unreadable
TARGET_TILE = 128  # `auto` display scale blows tiles up to at least this many pixels


@lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Return Pillow's built-in font at `size` pixels (bitmap fallback without FreeType)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow < 10.1 or no FreeType
        return ImageFont.load_default()


def text_size(text: str, size: int) -> tuple[int, int]:
    """Return the (width, height) in pixels of one line of `text` at font `size`."""
    left, _top, right, bottom = font(size).getbbox(text or " ")
    return right - min(left, 0), max(bottom, size)


def display_scale(value: str | int, resolution: int) -> int:
    """Return the integer upscale factor for figures ('auto': tiles of >= 128 px)."""
    if str(value) == "auto":
        return max(1, -(-TARGET_TILE // resolution))
    try:
        scale = int(value)
    except ValueError:
        raise ContemoError(f"--display-scale {value!r}: expected a whole number or 'auto'") from None
    if not 1 <= scale <= 16:
        raise ContemoError(f"--display-scale {scale}: expected 1 to 16")
    return scale


def upscale(image: np.ndarray, scale: int, method: str = "nearest") -> Image.Image:
    """Return the HWC uint8 `image` as a PIL image `scale` times larger (nearest or bicubic)."""
    pil = Image.fromarray(image)
    if scale == 1:
        return pil
    return pil.resize((pil.width * scale, pil.height * scale), RESAMPLE[method])


@dataclass(frozen=True)
class GridLayout:
    """Where the tiles of a grid go: a header band on top, a row-label band on the left."""

    rows: int
    cols: int
    tile: int  # tile side in pixels after upscaling
    left: int  # width of the row-label band (0 without row labels)
    top: int  # height of the title + column-header band (0 without either)
    font_size: int
    title_height: int

    @property
    def size(self) -> tuple[int, int]:
        """Return the whole figure's (width, height)."""
        return self.left + self.cols * self.tile, self.top + self.rows * self.tile

    def box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """Return the (left, top, right, bottom) pixels of tile (row, col)."""
        x, y = self.left + col * self.tile, self.top + row * self.tile
        return x, y, x + self.tile, y + self.tile


def grid_layout(rows: int, cols: int, tile: int, col_labels: Sequence[str] | None = None,
                row_labels: Sequence[str] | None = None, title: str | None = None) -> GridLayout:
    """Return the layout of a grid: the biggest header font whose every line fits its tile."""
    lines = [line for label in (col_labels or []) for line in label.split("\n")]
    size = MAX_FONT
    while size > MIN_FONT and any(text_size(t, size)[0] > tile - 2 for t in lines):
        size -= 1
    line_h = text_size("Hg", size)[1] + 1
    depth = max((label.count("\n") + 1 for label in col_labels or []), default=0)
    title_h = text_size(title, MAX_FONT)[1] + PAD if title else 0
    top = title_h + (depth * line_h + 2 * PAD if depth else 0)
    if title and not depth:
        top += PAD
    left = 0
    if row_labels:
        left = max(text_size(t, size)[0] for t in row_labels) + 2 * PAD
    return GridLayout(rows, cols, tile, left, top, size, title_h)


def grid(tiles: Sequence[Sequence[np.ndarray]], col_labels: Sequence[str] | None = None,
         row_labels: Sequence[str] | None = None, title: str | None = None, scale: int = 1,
         method: str = "nearest") -> Image.Image:
    """Return a figure of HWC uint8 tiles (rows x cols), upscaled, with text headers.

    Column labels may hold several lines ("happy 0.3" or "neutral 0.2\\nhappy 0.8");
    tiles touch, so the figure is exactly rows x cols tiles plus the header bands.
    """
    rows = len(tiles)
    cols = max((len(r) for r in tiles), default=0)
    if not rows or not cols:
        raise ContemoError("a grid needs at least one image")
    tile = tiles[0][0].shape[1] * scale
    layout = grid_layout(rows, cols, tile, col_labels, row_labels, title)
    figure = Image.new("RGB", layout.size, BACKGROUND)
    draw = ImageDraw.Draw(figure)
    small = font(layout.font_size)
    if title:
        draw.text((max(layout.left, PAD), PAD // 2), title, fill=INK, font=font(MAX_FONT))
    for c, label in enumerate(col_labels or []):
        y = layout.title_height + PAD
        for line in label.split("\n"):
            w, h = text_size(line, layout.font_size)
            draw.text((layout.left + c * tile + (tile - w) // 2, y), line, fill=INK, font=small)
            y += text_size("Hg", layout.font_size)[1] + 1
    for r, label in enumerate(row_labels or []):
        w, h = text_size(label, layout.font_size)
        y = layout.top + r * tile + (tile - h) // 2
        draw.text((layout.left - PAD - w, y), label, fill=INK, font=small)
    for r, row in enumerate(tiles):
        for c, image in enumerate(row):
            figure.paste(upscale(image, scale, method), layout.box(r, c)[:2])
    return figure


def save_png(image: Image.Image | np.ndarray, path: str | Path) -> Path:
    """Return `path` after writing `image` (PIL or HWC uint8) there as PNG, atomically."""
    pil = Image.fromarray(image) if isinstance(image, np.ndarray) else image
    buffer = io.BytesIO()
    pil.save(buffer, format="PNG", compress_level=4)  # 3x faster than 9, files ~10% bigger
    return atomic_write_bytes(path, buffer.getvalue())


def save_gif(frames: Sequence[Image.Image], path: str | Path,
             durations_ms: Sequence[int]) -> Path:
    """Return `path` after writing `frames` as a forever-looping GIF with per-frame durations."""
    return atomic_write_bytes(path, gif_bytes(frames, durations_ms))


def gif_bytes(frames: Sequence[Image.Image], durations_ms: Sequence[int]) -> bytes:
    """Return `frames` as a forever-looping GIF with per-frame durations (one shared palette).

    Consecutive identical frames are merged by Pillow (their durations add up), so
    holding a pose is done with a longer duration, not with repeated frames.
    """
    if not frames:
        raise ContemoError("a GIF needs at least one frame")
    if len(durations_ms) != len(frames):
        raise ContemoError(f"{len(frames)} GIF frames but {len(durations_ms)} durations")
    # One shared palette for every frame: per-frame palettes make skin tones flicker.
    sample = [frames[i] for i in np.linspace(0, len(frames) - 1, min(8, len(frames))).astype(int)]
    montage = Image.new("RGB", (sum(f.width for f in sample), max(f.height for f in sample)))
    x = 0
    for f in sample:
        montage.paste(f, (x, 0))
        x += f.width
    palette = montage.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    paletted = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    buffer = io.BytesIO()
    paletted[0].save(buffer, format="GIF", save_all=True, append_images=paletted[1:],
                     duration=[int(d) for d in durations_ms], loop=0, disposal=1)
    return buffer.getvalue()
