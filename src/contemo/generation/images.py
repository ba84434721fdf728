"""Display scale and looping GIFs of generated faces (grids and PNGs: contemo.figures).

Everything here takes PIL frames or uint8 HWC arrays and knows nothing about models,
so the GIFs of generate, the demo and the web app are made alike.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from contemo.errors import ContemoError
from contemo.fileio import atomic_write_bytes

TARGET_TILE = 128  # `auto` display scale blows tiles up to at least this many pixels


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
