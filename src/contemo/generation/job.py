"""A generate job: seeds x label vectors -> image files, a manifest and a grid, streamed.

Rows are generated seed by seed in batches and written as they come, so memory
holds one batch of float images whatever the number of seeds (`--seeds 0-99999`
is fine); only the grid's first rows are kept, as uint8.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from contemo.errors import ContemoError
from contemo.figures import grid, save_png, to_uint8
from contemo.generation import manifest
from contemo.generation.pipeline import EmotionPipeline
from contemo.labels.sets import LabelSet

IMAGE_DIR = "images"
GRID = "grid.png"


@dataclass
class JobResult:
    """What a job wrote: paths and counts for the command's printout and for tests."""

    images: int = 0
    manifest: Path | None = None
    grid: Path | None = None
    grid_rows: int = 0
    files: list[Path] = field(default_factory=list)  # every figure/manifest, in print order
    seconds: float = 0.0


def name_widths(seeds: Sequence[int], steps: int) -> tuple[int, int]:
    """Return the zero-padding of seeds (at least 4 digits) and steps (at least 2) in names."""
    return max(4, len(str(max(seeds)))), max(2, len(str(steps - 1)))


def image_name(seed: int, step: int, widths: tuple[int, int]) -> str:
    """Return `seed0003_step05.png`, zero-padded so that names sort in generation order."""
    return f"seed{seed:0{widths[0]}d}_step{step:0{widths[1]}d}.png"


def write_image_fast(image: np.ndarray, path: Path) -> None:
    """Write one PNG via temp file + rename (atomic, no fsync: a data set has thousands)."""
    save_png(image, path, durable=False)


def clear_previous(out: Path, image_dir: str = IMAGE_DIR) -> int:
    """Return how many images of an earlier job under OUT/images were removed (ours only)."""
    removed = 0
    folder = out / image_dir
    if folder.is_dir():
        for old in folder.glob("seed*_step*.png"):
            old.unlink()
            removed += 1
    return removed


def generate_rows(pipe: EmotionPipeline, seeds: Sequence[int], labels: np.ndarray,
                  batch_size: int = 256) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield (seed index, label index, HWC uint8 image) seed-major, one batch in memory."""
    steps = len(labels)
    total = len(seeds) * steps
    label_t = torch.as_tensor(labels)
    for start in range(0, total, batch_size):
        idx = np.arange(start, min(start + batch_size, total))
        seed_idx, step_idx = idx // steps, idx % steps
        unique, inverse = np.unique(seed_idx, return_inverse=True)
        z = pipe.noise([seeds[i] for i in unique])[torch.as_tensor(inverse)]
        images = to_uint8(pipe.generate(label_t[step_idx], z=z, batch_size=batch_size))
        yield from zip(seed_idx.tolist(), step_idx.tolist(), images)


@dataclass(frozen=True)
class Figures:
    """Which figures a job draws besides the images, and how they are upscaled."""

    grid_name: str | None = GRID  # the grid's file under OUT (None: no grid)
    grid_rows: int = 32  # seeds shown in the grid (the first ones)
    strips_dir: str | None = None  # one labelled strip PNG per seed in OUT/<this>/ (None: none)
    scale: int = 2  # display upscaling of figures
    method: str = "nearest"  # upscaling filter: nearest or bicubic


def generate_job(
    pipe: EmotionPipeline, seeds: Sequence[int], labels: LabelSet, out: str | Path, *,
    batch_size: int = 256, figures: Figures | None = None,
    anchors: dict[str, tuple[float, float]] | None = None, image_dir: str = IMAGE_DIR,
    progress: bool = True, csv_out: manifest.ManifestWriter | None = None,
) -> JobResult:
    """Return the JobResult after writing one image per (seed, label), the manifest and figures.

    Row-major order: seed 0's labels, then seed 1's... The manifest's `path` is
    relative to OUT, so OUT is a csv-layout data set. Pass `csv_out` to add the rows
    to a manifest shared by several jobs (the demo's); it is then not closed here.
    """
    started = time.perf_counter()
    out = Path(out)
    figures = figures or Figures()
    try:
        result = _write(pipe, list(seeds), labels, out, batch_size, figures, anchors, image_dir,
                        progress, csv_out)
    except OSError as err:
        raise ContemoError(f"{out}: cannot write the job's files ({err.strerror or err})"
                           ) from None
    result.seconds = time.perf_counter() - started
    return result


def _write(pipe: EmotionPipeline, seeds: list[int], labels: LabelSet, out: Path,
           batch_size: int, figures: Figures, anchors: dict[str, tuple[float, float]] | None,
           image_dir: str, progress: bool, csv_out: manifest.ManifestWriter | None
           ) -> JobResult:
    """Return the JobResult of generate_job (which turns OSError into one line)."""
    steps = len(labels.labels)
    (out / image_dir).mkdir(parents=True, exist_ok=True)
    grid_rows = min(figures.grid_rows, len(seeds)) if figures.grid_name else 0
    tiles: list[list[np.ndarray]] = [[] for _ in range(grid_rows)]
    row: list[np.ndarray] = []  # the current seed's images, for its strip
    widths = name_widths(seeds, steps)
    result = JobResult(images=len(seeds) * steps)
    draw = {"col_labels": labels.columns, "scale": figures.scale, "method": figures.method}
    with contextlib.ExitStack() as stack:
        writer = csv_out or stack.enter_context(manifest.ManifestWriter(out))
        bar = stack.enter_context(tqdm(total=result.images, unit="img", desc="generate",
                                       leave=False, disable=None if progress else True))
        for si, st, image in generate_rows(pipe, seeds, labels.labels, batch_size):
            rel = f"{image_dir}/{image_name(seeds[si], st, widths)}"
            write_image_fast(image, out / rel)
            writer.write(manifest.row(rel, seeds[si], st, labels.labels[st], anchors))
            if si < grid_rows:
                tiles[si].append(image)
            if figures.strips_dir:
                row.append(image)
                if st == steps - 1:
                    name = image_name(seeds[si], 0, widths).split("_step")[0] + ".png"
                    save_png(grid([row], title=f"seed {seeds[si]}: {labels.title}", **draw),
                             out / figures.strips_dir / name)
                    row = []
            bar.update(1)
    if grid_rows:
        figure = grid(tiles, row_labels=[f"seed {s}" for s in seeds[:grid_rows]],
                      title=labels.title, **draw)
        result.grid = save_png(figure, out / figures.grid_name)
        result.grid_rows = grid_rows
        result.files.append(result.grid)
    if figures.strips_dir:
        result.files.append(out / figures.strips_dir)
    if csv_out is None:
        result.manifest = writer.path
        result.files.append(result.manifest)
    return result
