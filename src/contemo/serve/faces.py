"""FaceRenderer: (label vector, seed) -> PNG bytes for the web app, timed and cached.

The explorer asks for one face per pad movement, so the cost that matters is one
image at batch size 1. The renderer keeps each seed's noise row (a seed always
names the same face, see EmotionPipeline) and an LRU of recent PNGs keyed by the
label rounded to 4 decimals, so dragging back over a point or replaying a path
costs nothing. Every render reports how long the generator and the PNG encoder
took, which the API returns in a ``Server-Timing`` header.

The generator is shared through a `RenderGate`: single faces go before batches, and
batches render in chunks, so one person's 64-frame animation (or a flood of them)
delays a face by one chunk at most. The cache is bounded by bytes, not entries: 512
PNGs of 512 px would otherwise hold ~200 MB for as long as the server runs.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PIL import Image

from contemo.emotions import EMOTIONS, label_va, validate_labels
from contemo.figures import png_bytes, to_uint8
from contemo.generation.pipeline import EmotionPipeline
from contemo.serve.gate import BULK, INTERACTIVE, RenderGate

LABEL_DECIMALS = 4  # labels closer than this render the same cached PNG
MAX_SIZE = 512  # largest side a client may ask the PNG to be upscaled to
CACHE_BYTES = 32 * 1024 * 1024  # PNG bytes the LRU keeps (~2,000 faces at 256 px)


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
    return png_bytes(im, level=1)  # level 1: ~3x faster than 6, a little bigger


class FaceRenderer:
    """Render faces from a pipeline with per-seed noise and a small PNG cache (thread-safe)."""

    def __init__(self, pipeline: EmotionPipeline, cache_size: int = 512,
                 cache_bytes: int = CACHE_BYTES, chunk: int = 4) -> None:
        self.pipeline = pipeline
        self.cache_size = cache_size
        self.cache_bytes = cache_bytes
        self.chunk = chunk  # images per generator turn of a batch
        self.gate = RenderGate()  # one forward pass at a time, faces first: the CPU is the limit
        self._cache: OrderedDict[tuple, bytes] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()  # guards the cache only

    @property
    def resolution(self) -> int:
        return self.pipeline.resolution

    def render(self, labels: np.ndarray, seeds: list[int], size: int | None = None,
               kind: str | None = None) -> list[Rendered]:
        """Return one Rendered per (label row, seed) pair; labels (N, 6) pair with N seeds.

        `kind` is the gate priority: INTERACTIVE for a single face, BULK for batches
        (default: by count). Bulk work is rendered `chunk` images per generator turn.
        """
        labels = np.round(validate_labels(labels).astype(np.float64), LABEL_DECIMALS)
        labels = labels / labels.sum(axis=1, keepdims=True)
        side = size or self.resolution
        kind = kind or (INTERACTIVE if len(seeds) == 1 else BULK)
        keys = [(seed, side, tuple(row)) for seed, row in zip(seeds, labels)]
        out: list[Rendered | None] = [None] * len(keys)
        todo = []
        with self._lock:
            for i, key in enumerate(keys):
                if key in self._cache:
                    self._cache.move_to_end(key)
                    out[i] = Rendered(self._cache[key], labels[i].astype(np.float32), seeds[i],
                                      side, 0.0, True)
                else:
                    todo.append(i)
        step = len(todo) if kind == INTERACTIVE else self.chunk
        for first in range(0, len(todo), max(step, 1)):
            part = todo[first:first + max(step, 1)]
            with self.gate.turn(kind):
                start = time.perf_counter()
                images = self.pipeline.generate(labels[part], seeds=[seeds[i] for i in part])
                pngs = [encode_png(p, side) for p in to_uint8(images)]
                each_ms = (time.perf_counter() - start) * 1000 / len(part)
            with self._lock:
                for i, png in zip(part, pngs):
                    self._remember(keys[i], png)
            for i, png in zip(part, pngs):
                out[i] = Rendered(png, labels[i].astype(np.float32), seeds[i], side, each_ms,
                                  False)
        return [r for r in out if r is not None]

    def _remember(self, key: tuple, png: bytes) -> None:
        """Keep `png` under `key`, dropping least recently used entries past either bound."""
        if key in self._cache:
            self._cached_bytes -= len(self._cache[key])
        self._cache[key] = png
        self._cache.move_to_end(key)
        self._cached_bytes += len(png)
        while self._cache and (len(self._cache) > self.cache_size
                               or self._cached_bytes > self.cache_bytes):
            _, dropped = self._cache.popitem(last=False)
            self._cached_bytes -= len(dropped)
