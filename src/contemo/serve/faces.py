"""FaceRenderer: (label vector, seed) -> PNG bytes for the web app, timed and cached.

The explorer asks for one face per pad movement, so the cost that matters is one
image at batch size 1. The renderer keeps each seed's noise row (a seed always
names the same face, see EmotionPipeline) and an LRU of recent PNGs keyed by the
label rounded to 4 decimals, so dragging back over a point or replaying a path
costs nothing. Every render reports how long the generator and the PNG encoder
took, which the API returns in a ``Server-Timing`` header.
"""

from __future__ import annotations

import io
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PIL import Image

from contemo.emotions import EMOTIONS, label_va, validate_labels
from contemo.generation.pipeline import EmotionPipeline, to_uint8

LABEL_DECIMALS = 4  # labels closer than this render the same cached PNG
MAX_SIZE = 512  # largest side a client may ask the PNG to be upscaled to


@dataclass(frozen=True)
class Rendered:
    """One generated face: its PNG, the label and seed used, and what it cost."""

    png: bytes
    label: np.ndarray  # (6,) float32, the vector actually fed to the generator
    seed: int
    size: int  # side of the PNG in pixels
    render_ms: float  # generator forward pass + PNG encoding (0 when served from the cache)
    cached: bool


def png_filename(seed: int, label: np.ndarray, anchors: dict | None = None) -> str:
    """Return a download name that says what the face is, e.g. contemo_seed7_v+0.50_..._happy0.80.png.

    Valence and arousal are those of the label under the checkpoint's anchors, so the
    name is true for labels from sliders as well as from the pad.
    """
    v, a = label_va(np.asarray(label, dtype=np.float64), anchors)
    parts = [f"{EMOTIONS[i]}{label[i]:.2f}" for i in range(len(EMOTIONS)) if label[i] >= 0.005]
    return f"contemo_seed{seed}_v{v:+.2f}_a{a:+.2f}_{'-'.join(parts)}.png"


def encode_png(pixels: np.ndarray, size: int | None = None) -> bytes:
    """Return PNG bytes of one (H, W, 3) uint8 image, upscaled (bicubic) to `size` if given."""
    im = Image.fromarray(pixels)
    if size is not None and size != im.width:
        im = im.resize((size, size), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=1)  # level 1: ~3x faster than 6, a little bigger
    return buf.getvalue()


class FaceRenderer:
    """Render faces from a pipeline with per-seed noise and a small PNG cache (thread-safe)."""

    def __init__(self, pipeline: EmotionPipeline, cache_size: int = 512) -> None:
        self.pipeline = pipeline
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()  # one forward pass at a time: the CPU is the bottleneck

    @property
    def resolution(self) -> int:
        return self.pipeline.resolution

    def render(self, labels: np.ndarray, seeds: list[int], size: int | None = None
               ) -> list[Rendered]:
        """Return one Rendered per (label row, seed) pair; labels (N, 6) pair with N seeds."""
        labels = np.round(validate_labels(labels).astype(np.float64), LABEL_DECIMALS)
        labels = labels / labels.sum(axis=1, keepdims=True)
        side = size or self.resolution
        keys = [(seed, side, tuple(row)) for seed, row in zip(seeds, labels)]
        out: list[Rendered | None] = [None] * len(keys)
        with self._lock:
            todo = []
            for i, key in enumerate(keys):
                if key in self._cache:
                    self._cache.move_to_end(key)
                    out[i] = Rendered(self._cache[key], labels[i].astype(np.float32), seeds[i],
                                      side, 0.0, True)
                else:
                    todo.append(i)
            if todo:
                start = time.perf_counter()
                images = self.pipeline.generate(labels[todo], seeds=[seeds[i] for i in todo])
                pixels = to_uint8(images)
                pngs = [encode_png(p, side) for p in pixels]
                each_ms = (time.perf_counter() - start) * 1000 / len(todo)
                for i, png in zip(todo, pngs):
                    self._remember(keys[i], png)
                    out[i] = Rendered(png, labels[i].astype(np.float32), seeds[i], side,
                                      each_ms, False)
        return [r for r in out if r is not None]

    def _remember(self, key: tuple, png: bytes) -> None:
        """Keep `png` under `key`, dropping the least recently used entry when full."""
        self._cache[key] = png
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
