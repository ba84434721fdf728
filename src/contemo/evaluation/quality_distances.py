"""Fréchet distance between two feature sets, and the real/real floor that gives it a scale.

A Fréchet distance (FID's formula) has no meaning alone: it depends on the feature
space and is biased upward by small samples. So contemo never reports one without
its floor: the same distance between two disjoint halves of the real set, with the
generated side drawn at the size of a half so both numbers carry the same bias.
A generator indistinguishable from the real photos scores about its floor (ratio 1).

    FD = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))

Tr((S_a S_b)^(1/2)) is the sum of the square roots of the eigenvalues of S_a S_b, which
are real and non-negative for two covariance matrices (up to rounding, clipped at 0);
this stays defined when a set has fewer rows than features (a singular covariance).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from contemo.errors import ContemoError


def _finite_rows(x: np.ndarray, what: str) -> np.ndarray:
    """Return the rows of a 2-D feature array without NaN (faces not found), as float64."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ContemoError(f"{what}: expected (N, F) features, got shape {x.shape}")
    return x[np.isfinite(x).all(axis=1)]


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Return the Fréchet distance of Gaussian fits to two (N, F) feature sets (>= 2 rows each)."""
    a, b = _finite_rows(a, "first set"), _finite_rows(b, "second set")
    if len(a) < 2 or len(b) < 2:
        raise ContemoError(f"a Fréchet distance needs at least 2 feature rows per set, got "
                           f"{len(a)} and {len(b)}")
    if a.shape[1] != b.shape[1]:
        raise ContemoError(f"feature sizes differ: {a.shape[1]} and {b.shape[1]}")
    mu = a.mean(0) - b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eig = np.linalg.eigvals(sa @ sb)
    root_trace = float(np.sqrt(np.clip(eig.real, 0.0, None)).sum())
    return float(mu @ mu + np.trace(sa) + np.trace(sb) - 2.0 * root_trace)


def frechet_with_floor(real: np.ndarray, fake: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """Return {value, floor, ratio, half_size} of generated vs real features, floor real/real.

    The real rows are split at random into halves A and B; floor = FD(A, B). The
    generated side is a random draw of |A| rows, scored against A and against B
    (value = the mean), so value and floor are measured at the same sample size.
    """
    real, fake = _finite_rows(real, "real features"), _finite_rows(fake, "generated features")
    if len(real) < 4:
        raise ContemoError(f"the real/real floor needs at least 4 real faces, got {len(real)}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(real))
    half = len(real) // 2
    first, second = real[order[:half]], real[order[half:2 * half]]
    drawn = fake[rng.choice(len(fake), size=min(half, len(fake)), replace=False)]
    value = 0.5 * (frechet_distance(drawn, first) + frechet_distance(drawn, second))
    floor = frechet_distance(first, second)
    return {"value": value, "floor": floor, "ratio": value / floor if floor > 0 else None,
            "half_size": half, "generated_used": len(drawn)}
