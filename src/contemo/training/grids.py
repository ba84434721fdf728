"""Training's seed grids: rows are seeds, columns are emotions (the paper's Fig. 3)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from contemo.figures import save_png, tensor_grid


def save_grid(path: Path, images: torch.Tensor, rows: int, col_titles: Sequence[str],
              row_titles: Sequence[str] | None = None) -> Path:
    """Return `path` after writing the titled grid PNG atomically (small tiles drawn 2x)."""
    scale = 2 if images.shape[-1] <= 32 else 1
    return save_png(tensor_grid(images, rows, col_titles, row_titles, scale), path)
