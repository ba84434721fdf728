"""Figures: the one labelled image grid, the one PNG writer and the one matplotlib setup.

Every picture contemo writes (generate's grids, the demo, training's seed grids,
synthetic contact sheets, identity strips, sweep and study plots) goes through here,
so they share a font, a look and an atomic write. Tiles are uint8 HWC arrays (see
`to_uint8`); text uses PIL's built-in scalable font, which ships inside Pillow: no font
files, no downloads. torch and matplotlib are imported only by the functions that
need them, so a command that draws a sheet does not pay for either.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from contemo.errors import ContemoError
from contemo.fileio import atomic_write_bytes

if TYPE_CHECKING:
    import torch

RESAMPLE = {"nearest": Image.Resampling.NEAREST, "bicubic": Image.Resampling.BICUBIC}
PAD = 4  # pixels of white around header text
BACKGROUND = (255, 255, 255)
INK = (30, 30, 30)
MAX_FONT, MIN_FONT = 13, 8  # header font sizes: biggest that fits a tile, never unreadable
PNG_LEVEL = 4  # zlib level: 3x faster than 9, files ~10% bigger
PLOT_DPI = 110


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


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Return images in [-1, 1] (N, 3, H, W) as uint8 (N, H, W, 3), ready for PIL."""
    import torch

    x = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


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
    caption: int = 0  # height of the caption band under each row of tiles (0: none)

    @property
    def size(self) -> tuple[int, int]:
        """Return the whole figure's (width, height)."""
        return self.left + self.cols * self.tile, self.top + self.rows * (self.tile + self.caption)

    def box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """Return the (left, top, right, bottom) pixels of tile (row, col)."""
        x, y = self.left + col * self.tile, self.top + row * (self.tile + self.caption)
        return x, y, x + self.tile, y + self.tile


def _lines(labels: Sequence[str] | None) -> list[str]:
    """Return every text line of `labels` (a label may hold several, split by newlines)."""
    return [line for label in (labels or []) for line in label.split("\n")]


def grid_layout(rows: int, cols: int, tile: int, col_labels: Sequence[str] | None = None,
                row_labels: Sequence[str] | None = None, title: str | None = None,
                captions: Sequence[Sequence[str]] | None = None) -> GridLayout:
    """Return the layout of a grid: the biggest header font whose every line fits its tile."""
    fitted = _lines(col_labels) + _lines([c for row in captions or [] for c in row])
    size = MAX_FONT
    while size > MIN_FONT and any(text_size(t, size)[0] > tile - 2 for t in fitted):
        size -= 1
    line_h = text_size("Hg", size)[1] + 1
    depth = max((label.count("\n") + 1 for label in col_labels or []), default=0)
    title_h = text_size(title, MAX_FONT)[1] + PAD if title else 0
    top = title_h + (depth * line_h + 2 * PAD if depth else 0)
    if title and not depth:
        top += PAD
    left = 0
    if row_labels:
        left = max(text_size(t, size)[0] for t in _lines(row_labels)) + 2 * PAD
    caption_depth = max((c.count("\n") + 1 for row in captions or [] for c in row), default=0)
    caption = caption_depth * line_h + PAD if caption_depth else 0
    return GridLayout(rows, cols, tile, left, top, size, title_h, caption)


def grid(tiles: Sequence[Sequence[np.ndarray]], col_labels: Sequence[str] | None = None,
         row_labels: Sequence[str] | None = None, title: str | None = None, scale: int = 1,
         method: str = "nearest", captions: Sequence[Sequence[str]] | None = None
         ) -> Image.Image:
    """Return a figure of HWC uint8 tiles (rows x cols), upscaled, with text headers.

    Column labels, row labels and captions (one per tile, drawn under it) may hold
    several lines ("happy 0.3" or "neutral 0.2\\nhappy 0.8"); tiles touch, so the figure
    is exactly rows x cols tiles plus the text bands.
    """
    rows = len(tiles)
    cols = max((len(r) for r in tiles), default=0)
    if not rows or not cols:
        raise ContemoError("a grid needs at least one image")
    tile = tiles[0][0].shape[1] * scale
    layout = grid_layout(rows, cols, tile, col_labels, row_labels, title, captions)
    figure = Image.new("RGB", layout.size, BACKGROUND)
    draw = ImageDraw.Draw(figure)
    small = font(layout.font_size)
    line_h = text_size("Hg", layout.font_size)[1] + 1

    def centred(x: int, y: int, label: str) -> None:
        for line in label.split("\n"):
            draw.text((x - text_size(line, layout.font_size)[0] // 2, y), line, fill=INK,
                      font=small)
            y += line_h

    if title:
        draw.text((max(layout.left, PAD), PAD // 2), title, fill=INK, font=font(MAX_FONT))
    for c, label in enumerate(col_labels or []):
        centred(layout.left + c * tile + tile // 2, layout.title_height + PAD, label)
    for r, label in enumerate(row_labels or []):
        lines = label.split("\n")
        y = layout.box(r, 0)[1] + (tile - len(lines) * line_h) // 2
        for line in lines:
            w = text_size(line, layout.font_size)[0]
            draw.text((layout.left - PAD - w, y), line, fill=INK, font=small)
            y += line_h
    for r, row in enumerate(tiles):
        for c, image in enumerate(row):
            x, y = layout.box(r, c)[:2]
            figure.paste(upscale(image, scale, method), (x, y))
            if captions:
                centred(x + tile // 2, y + tile + PAD // 2, captions[r][c])
    return figure


def tensor_grid(images: torch.Tensor, rows: int, col_labels: Sequence[str] | None = None,
                row_labels: Sequence[str] | None = None, scale: int = 1) -> Image.Image:
    """Return the grid of `images` ((rows*cols, 3, S, S) in [-1, 1], row-major)."""
    pixels = to_uint8(images)
    if len(pixels) % rows:
        raise ContemoError(f"{len(pixels)} images do not fill {rows} rows")
    cols = len(pixels) // rows
    return grid([list(pixels[r * cols:(r + 1) * cols]) for r in range(rows)], col_labels,
                row_labels, scale=scale)


def png_bytes(image: Image.Image | np.ndarray, level: int = PNG_LEVEL) -> bytes:
    """Return `image` (PIL or HWC uint8) encoded as PNG at zlib `level`."""
    pil = Image.fromarray(image) if isinstance(image, np.ndarray) else image
    buffer = io.BytesIO()
    pil.save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def save_png(image: Image.Image | np.ndarray, path: str | Path, *, durable: bool = True) -> Path:
    """Return `path` after writing `image` (PIL or HWC uint8) there as PNG, atomically.

    `durable=False` skips the fsync (still temp file + rename): a data set of thousands
    of images is written many times faster, and a crash leaves no half-written file.
    """
    if durable:
        return atomic_write_bytes(path, png_bytes(image))
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(png_bytes(image))
    os.replace(tmp, path)
    return path


def plot_figure(**kwargs: Any) -> Any:
    """Return a new matplotlib Figure drawn by the Agg canvas (imported late: it is slow).

    A bare `matplotlib.figure.Figure` is used instead of pyplot: no global backend to
    switch, no figure registry to close, and so safe in the web app's threads too.
    """
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def plot_bytes(fig: Any, dpi: int = PLOT_DPI) -> bytes:
    """Return a matplotlib figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save_plot(fig: Any, path: str | Path, dpi: int = PLOT_DPI) -> Path:
    """Return `path` after writing a matplotlib figure there as PNG, atomically."""
    return atomic_write_bytes(path, plot_bytes(fig, dpi))
