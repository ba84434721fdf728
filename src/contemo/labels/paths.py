"""Two-emotion blends and paths: the label vectors the paper walks (Eq. 3-4)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from contemo.emotions import EMOTIONS, NEUTRAL, LabelError, one_hot
from contemo.errors import ContemoError


def mix(a: str, b: str, weight: float) -> np.ndarray:
    """Return the vector (1 - weight) * one_hot(a) + weight * one_hot(b): a two-emotion blend."""
    if not 0.0 <= weight <= 1.0 or math.isnan(weight):
        raise LabelError(f"blend weight {weight} is outside [0, 1]")
    v = (1.0 - weight) * one_hot(a).astype(np.float64) + weight * one_hot(b)
    return v.astype(np.float32)


def neutral_to(emotion: str, steps: int = 11) -> np.ndarray:
    """Return the paper's Neutral->emotion path (Eq. 3-4): `steps` vectors, v1 + vi = 1.

    With the default 11 steps the emotion weight goes 0.0, 0.1, ..., 1.0 exactly as
    in §4.3; the first row is one-hot Neutral and the last one-hot `emotion`.
    """
    return path(EMOTIONS[NEUTRAL], emotion, steps)


def path(a: str, b: str, steps: int = 11, weights: Iterable[float] | None = None) -> np.ndarray:
    """Return (steps, 6) vectors blending emotion `a` into `b`, uniform unless `weights` given."""
    if weights is None:
        if steps < 2:
            raise LabelError(f"steps must be at least 2, got {steps}")
        weights = np.linspace(0.0, 1.0, steps)
    return np.stack([mix(a, b, float(w)) for w in weights])


def step_weights(steps: int, weights: Sequence[float] | None = None,
                 where: str = "weights") -> np.ndarray:
    """Return the end emotion's weight at each of `steps` path points (0 = start, 1 = end).

    None gives the uniform 0, 1/(S-1), ..., 1; given weights (a calibrated path) must be
    `steps` ascending values in [0, 1].
    """
    if weights is None:
        return np.linspace(0.0, 1.0, steps)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (steps,) or np.any(np.diff(w) < 0) or w[0] < 0 or w[-1] > 1:
        raise ContemoError(f"{where}: expected {steps} ascending values in [0, 1], "
                           f"got {w.tolist()}")
    return w
