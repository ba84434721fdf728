"""The demo's figures and data set, from any pipeline: Fig. 3, Fig. 5 strips, a GIF, a manifest.

Kept apart from the command so the web app or a notebook can make the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from contemo.emotions import EMOTIONS, EXTREME_EMOTIONS, NEUTRAL, one_hot
from contemo.figures import grid, save_png
from contemo.generation import animation, manifest
from contemo.generation.job import Figures, clear_previous, generate_job, generate_rows
from contemo.generation.pipeline import EmotionPipeline
from contemo.labels.paths import neutral_to
from contemo.labels.sets import one_hot_set, pair_set, weight_text

GRID_SEEDS = list(range(8))  # rows of Fig. 3
STRIP_SEEDS = list(range(4))  # rows of each Neutral->emotion strip
STEPS = 11  # 0.0, 0.1, ..., 1.0 as in §4.3
GIF_SEEDS = 4  # faces side by side in the GIF
GIF_FRAMES_PER_LEG = 10  # frames from neutral to one emotion (and as many back)
GIF_HOLD = 0.4  # seconds to rest on each full emotion


def tour_keyframes(extremes: Sequence[str] = EXTREME_EMOTIONS) -> np.ndarray:
    """Return Neutral, sad, Neutral, disgust, ..., happy, Neutral: every emotion and back."""
    keys = [one_hot(EMOTIONS[NEUTRAL])]
    for emotion in extremes:
        keys += [one_hot(emotion), one_hot(EMOTIONS[NEUTRAL])]
    return np.stack(keys)


def write_demo(pipe: EmotionPipeline, out: str | Path, *, scale: int = 2,
               method: str = "nearest", batch_size: int = 256,
               anchors: dict[str, tuple[float, float]] | None = None) -> tuple[list[Path], int]:
    """Return (files written, images in the data set) after writing every demo output to OUT.

    A model trained on fewer emotions (London: neutral and happy) gets figures of
    those only: the others were never learnt and the pipeline refuses them.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    extremes = [e for e in EXTREME_EMOTIONS if e in pipe.trained]
    # Fig. 3: one row per seed, one column per emotion; figure only, no data set rows.
    emotions = one_hot_set(pipe.trained)
    tiles = _rows(pipe, GRID_SEEDS, emotions.labels, batch_size)
    files.append(save_png(grid(tiles, emotions.columns, [f"seed {s}" for s in GRID_SEEDS],
                               title=f"the {len(pipe.trained)} trained emotions (one-hot labels)",
                               scale=scale, method=method), out / "emotions.png"))
    # Fig. 5: Neutral->emotion strips, each a data set part with its own image folder.
    images = 0
    with manifest.ManifestWriter(out) as csv_out:
        for emotion in extremes:
            folder = f"images/neutral_to_{emotion}"
            clear_previous(out, folder)
            figures = Figures(grid_name=f"strips/neutral_to_{emotion}.png",
                              grid_rows=len(STRIP_SEEDS), scale=scale, method=method)
            job = generate_job(pipe, STRIP_SEEDS, pair_set(EMOTIONS[NEUTRAL], emotion, STEPS),
                               out, batch_size=batch_size, figures=figures, anchors=anchors,
                               image_dir=folder, csv_out=csv_out)
            images += job.images
            files += job.files
    files.append(out / manifest.MANIFEST)
    files.insert(1, _all_strips(pipe, out / "all_strips.png", scale, method, batch_size,
                                extremes))
    gif, _ = animation.render(
        pipe, STRIP_SEEDS[:GIF_SEEDS], tour_keyframes(extremes), out / "transition.gif",
        animation.GifOptions(frames=GIF_FRAMES_PER_LEG * 2 * len(extremes) + 1,
                             mode="forward", hold=GIF_HOLD, seeds=GIF_SEEDS),
        scale=scale, method=method, batch_size=batch_size, anchors=anchors,
        hold_at=range(1, 2 * len(extremes), 2))
    files.insert(2, gif)
    files.append(out / "images")
    return files, images


def _all_strips(pipe: EmotionPipeline, path: Path, scale: int, method: str,
                batch_size: int, extremes: Sequence[str]) -> Path:
    """Return `path` after writing seed 0's Neutral->emotion strips as one figure.

    With a single trained extreme (London: happy) one row says little, so the first
    seeds each get a row of it instead.
    """
    seeds = [STRIP_SEEDS[0]] if len(extremes) > 1 else GRID_SEEDS
    labels = np.concatenate([neutral_to(e, STEPS) for e in extremes])
    rows = _rows(pipe, seeds, labels, batch_size)
    tiles = [flat[i * STEPS:(i + 1) * STEPS] for flat in rows for i in range(len(extremes))]
    weights = weight_text(neutral_to(extremes[0], STEPS)[:, EMOTIONS.index(extremes[0])])
    names = [f"seed {s}: neutral -> {e}" for s in seeds for e in extremes] if len(seeds) > 1 \
        else [f"neutral -> {e}" for e in extremes]
    title = (f"seed {seeds[0]}: Neutral -> each emotion" if len(seeds) == 1 else
             f"seeds {seeds[0]}-{seeds[-1]}: Neutral -> {extremes[0]}")
    figure = grid(tiles, weights, names, title=f"{title} (column: the emotion's weight)",
                  scale=scale, method=method)
    return save_png(figure, path)


def _rows(pipe: EmotionPipeline, seeds: list[int], labels: np.ndarray,
          batch_size: int) -> list[list[np.ndarray]]:
    """Return the uint8 images of every (seed, label), one list per seed."""
    tiles: list[list[np.ndarray]] = [[] for _ in seeds]
    for si, _, image in generate_rows(pipe, seeds, labels, batch_size):
        tiles[si].append(image)
    return tiles

