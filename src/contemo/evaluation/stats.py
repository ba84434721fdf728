"""Sweep statistics: monotonicity (Spearman), linearity (R^2 of a line), distances for drift.

The isotonic fit of a sweep's progress lives with the calibration it serves
(contemo.labels.calibration).

Kept free of torch and files so every number in a sweep's summary can be checked by
hand on a few values (tests/test_sweep.py does).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return Spearman's rho between `x` and each row of `y` (NaN where a row is constant).

    `x` is (S,) and `y` (S,) or (N, S); ties get average ranks, so this equals
    scipy.stats.spearmanr row by row, but vectorised over the 1,000 faces of a sweep.
    """
    y2 = np.atleast_2d(np.asarray(y, dtype=np.float64))
    rx = rankdata(np.asarray(x, dtype=np.float64))
    ry = rankdata(y2, axis=1)
    rx = rx - rx.mean()
    ry = ry - ry.mean(axis=1, keepdims=True)
    denom = np.sqrt((rx**2).sum() * (ry**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (ry @ rx) / denom
    rho[denom == 0] = np.nan
    return rho if np.ndim(y) == 2 else rho[:1].reshape(())


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Return Spearman's rho of two equal-length sequences (NaN if either is constant)."""
    if np.ptp(np.asarray(x, dtype=np.float64)) == 0:
        return float("nan")
    return float(spearman_rows(x, np.asarray(y, dtype=np.float64)))


def line_r2(x: np.ndarray, y: np.ndarray) -> float:
    """Return R^2 of the least-squares straight line y ~ a + b x (1 = perfectly linear).

    A flat `y` has no variance to explain; it is returned as NaN rather than 0 or 1,
    because a curve that does not move is neither linear nor non-linear.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    if ss_tot <= 1e-24 or np.ptp(x) == 0:
        return float("nan")
    slope, intercept = np.polyfit(x, y, 1)
    ss_res = float(((y - (intercept + slope * x)) ** 2).sum())
    return 1.0 - ss_res / ss_tot


def expected_direction(start: tuple[float, float], end: tuple[float, float]) -> tuple[int, int]:
    """Return the signs (+1 / -1) in which valence and arousal should move from start to end.

    A coordinate the anchors do not move at all gets +1 (no expectation to be signed by).
    """
    return tuple(1 if e - s >= 0 else -1 for s, e in zip(start, end, strict=True))  # type: ignore[return-value]


def pair_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the Euclidean distance between matching rows of two (N, F) feature arrays."""
    return np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64), axis=1)


def between_distance(features: np.ndarray) -> tuple[float, int]:
    """Return (sum, count) of distances between different faces in one (N, F) feature batch.

    Face i is paired with face i+1 (cyclically): N pairs of different noises, an unbiased
    sample of the between-identity distance at O(N F) cost instead of all N^2 / 2 pairs.
    """
    f = np.asarray(features, np.float64)
    if len(f) < 2:
        return 0.0, 0
    d = pair_distance(f, np.roll(f, -1, axis=0))
    n = len(f) if len(f) > 2 else 1  # two faces make one pair, not two
    return float(d[:n].sum()), n
