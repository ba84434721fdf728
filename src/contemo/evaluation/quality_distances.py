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


def kernel_distance(real: np.ndarray, fake: np.ndarray, *, subsets: int = 100,
                    subset_size: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Return KID {mean, std, subset_size, subsets} of two feature sets (Binkowski et al. 2018).

    Each subset draws `subset_size` rows of each set without replacement and takes the
    unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3. `subset_size` shrinks to
    the smaller set. When it covers both sets whole, every subset is the same pair of
    sets, so there is no spread to report: std is None (not a rounding-noise number).
    """
    real, fake = _finite_rows(real, "real features"), _finite_rows(fake, "generated features")
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise ContemoError(f"KID needs at least 2 real and 2 generated images, got "
                           f"{len(real)} and {len(fake)}")
    whole = m == len(real) == len(fake)
    rng = np.random.default_rng(seed)
    d = real.shape[1]
    values = []
    for _ in range(1 if whole else subsets):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
        values.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                      + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2.0 * kxy.mean())
    return {"mean": float(np.mean(values)), "std": None if whole else float(np.std(values)),
            "subset_size": m, "subsets": 1 if whole else subsets}
