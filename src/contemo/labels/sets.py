"""Label sets: the label vectors of one job or figure, each column with its header.

A `LabelSet` is what `contemo generate`, the demo and the benchmarks draw: the vectors
(validated, Eq. 2-3), one header per column and a title. Each builder here is one way
of choosing labels; `contemo.generation.label_options` maps command-line options to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from contemo.emotions import EMOTIONS, NEUTRAL, canonical_emotion, parse_label
from contemo.errors import ContemoError
from contemo.labels.calibration import calibrated_path
from contemo.labels.paths import neutral_to, path
from contemo.labels.va import Anchors, VATarget, model_va_label

DEFAULT_STEPS = 11  # the paper's 0.0, 0.1, ..., 1.0 (§4.3)


@dataclass(frozen=True)
class LabelSet:
    """The label vectors of one generate job: the columns of its grid and its manifest rows."""

    labels: np.ndarray  # (K, 6) float32, each a valid conditioning vector (Eq. 2-3)
    columns: list[str]  # header of each column, may hold "\n"
    title: str  # one line above the grid


def weight_text(weights: Sequence[float]) -> list[str]:
    """Return the weights written with the fewest decimals (1-3) that show every one exactly."""
    arr = np.asarray(weights, dtype=np.float64)
    for places in (1, 2, 3):
        if np.allclose(np.round(arr, places), arr, atol=1e-6):
            break
    return [f"{w:.{places}f}" for w in arr]


def describe(v: np.ndarray, max_lines: int = 4, places: int = 3) -> str:
    """Return a short header for one vector: its non-zero emotions by weight, one per line."""
    order = [i for i in np.argsort(-v, kind="stable") if v[i] > 0]
    if len(order) == 1:
        return EMOTIONS[order[0]]
    lines = [f"{EMOTIONS[i]} {v[i]:.{places}f}".rstrip("0").rstrip(".")
             for i in order[:max_lines]]
    if len(order) > max_lines:
        lines[-1] = f"+{len(order) - max_lines + 1} more"
    return "\n".join(lines)


def pair_set(start: str, end: str, steps: int = DEFAULT_STEPS) -> LabelSet:
    """Return the path blending emotion `start` into `end`, headed by the weights.

    From Neutral (the paper's Fig. 5) a header is the end emotion's weight ("happy 0.3");
    between two extreme emotions it shows both weights.
    """
    start, end = canonical_emotion(start), canonical_emotion(end)
    if start == end:
        raise ContemoError(f"--from and --to are both {start!r}: give two different emotions")
    labels = neutral_to(end, steps) if start == EMOTIONS[NEUTRAL] else path(start, end, steps)
    weights = labels[:, EMOTIONS.index(end)]
    texts = weight_text(weights)
    if start == EMOTIONS[NEUTRAL]:
        columns = [f"{end} {t}" for t in texts]
    else:
        columns = [f"{start} {s}\n{end} {t}" for s, t in zip(weight_text(1 - weights), texts)]
    return LabelSet(labels, columns, f"{start} -> {end}")


def one_hot_set(emotions: Sequence[str] = EMOTIONS) -> LabelSet:
    """Return the one-hot training emotions (the paper's Fig. 3), by default all 6."""
    rows = [EMOTIONS.index(e) for e in emotions]
    return LabelSet(np.eye(len(EMOTIONS), dtype=np.float32)[rows], list(emotions),
                    f"the {len(rows)} emotions")


def vector_set(texts: Sequence[str]) -> LabelSet:
    """Return explicit vectors written as '0.2,0,0,0,0,0.8', each its own column."""
    labels = np.stack([parse_label(t) for t in texts])
    return LabelSet(labels, [describe(v) for v in labels], "labels")


def va_set(valence: float, arousal: float, anchors: Anchors,
           trained: Sequence[str] = EMOTIONS) -> tuple[LabelSet, VATarget]:
    """Return (the one-column set reaching a VA target, the target's facts) for a model."""
    target = model_va_label(valence, arousal, anchors, trained)
    achieved = f"{target.achieved[0]:.3f},{target.achieved[1]:.3f}"
    return LabelSet(target.label[None], [f"VA {achieved}\n{describe(target.label, 2)}"],
                    f"valence {valence:g}, arousal {arousal:g}"), target


def calibrated_set(sweep_dir: str | Path, emotion: str, steps: int = DEFAULT_STEPS) -> LabelSet:
    """Return the Neutral->emotion path on weights calibrated by a sweep (equal VA steps)."""
    end = canonical_emotion(emotion)
    if end == EMOTIONS[NEUTRAL]:
        raise ContemoError("--emotion neutral: give the emotion to move to from Neutral")
    labels = calibrated_path(sweep_dir, end, steps)
    texts = weight_text(labels[:, EMOTIONS.index(end)])
    return LabelSet(labels, [f"{end} {t}" for t in texts], f"neutral -> {end} (calibrated)")
