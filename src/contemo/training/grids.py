"""Labelled image grids: rows are seeds, columns are emotions (the paper's Fig. 3)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from contemo.fileio import atomic_write

PAD = 2  # pixels between tiles
HEADER = 18  # pixels of column titles above the tiles
ROW_TITLE = 44  # pixels of row titles left of the tiles


def _font(size: int) -> ImageFont.ImageFont:
    """Return PIL's scalable default font at `size` px (bitmap default on old Pillow)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def grid_image(images: torch.Tensor, rows: int, col_titles: Sequence[str],
               row_titles: Sequence[str] | None = None, scale: int = 1) -> Image.Image:
    """Return a PIL grid of `images` ((rows*cols, 3, S, S) in [-1, 1], row-major) with titles."""
    cols = len(col_titles)
    if images.shape[0] != rows * cols:
        raise ValueError(f"{images.shape[0]} images for a {rows}x{cols} grid")
    pixels = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    tiles = pixels.permute(0, 2, 3, 1).cpu().numpy()
    size = tiles.shape[1] * scale
    left = ROW_TITLE if row_titles else 0
    width = left + cols * (size + PAD) + PAD
    height = HEADER + rows * (size + PAD) + PAD
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = _font(12)
    for c, title in enumerate(col_titles):
        x = left + PAD + c * (size + PAD) + size // 2
        draw.text((x, HEADER // 2), title, fill=(0, 0, 0), font=font, anchor="mm")
    for r in range(rows):
        y = HEADER + PAD + r * (size + PAD)
        if row_titles:
            draw.text((left // 2, y + size // 2), row_titles[r], fill=(0, 0, 0), font=font,
                      anchor="mm")
        for c in range(cols):
            tile = Image.fromarray(np.ascontiguousarray(tiles[r * cols + c]))
            if scale != 1:
                tile = tile.resize((size, size), Image.NEAREST)
            canvas.paste(tile, (left + PAD + c * (size + PAD), y))
    return canvas


def save_grid(path: Path, images: torch.Tensor, rows: int, col_titles: Sequence[str],
              row_titles: Sequence[str] | None = None) -> Path:
    """Return `path` after writing the titled grid PNG atomically (small tiles drawn 2x)."""
    scale = 2 if images.shape[-1] <= 32 else 1
    image = grid_image(images, rows, col_titles, row_titles, scale)
    return atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))
