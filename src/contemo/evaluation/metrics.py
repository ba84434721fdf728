"""The metrics AffectNet papers report, as pure NaN-safe functions, and a registry of them.

Regression metrics compare predicted and true valence (or arousal) values, one
number per image; classification metrics compare predicted and true class indices.
Every function takes numpy arrays, torch tensors or lists and returns a Python float.

NaN handling: a pair where either value is NaN (regression) or where the true class
is negative (classification; AffectNet's "unknown" is -1 here) is left out, so an
image without a VA annotation never counts as an error. With nothing left, or when a
formula's denominator is zero (e.g. PCC of a constant prediction), the result is NaN,
never a made-up 0 or 1.

Formulas (n pairs (p_i, t_i) that survive, means mu, population variances sigma^2,
covariance sigma_pt = 1/n sum (p_i - mu_p)(t_i - mu_t)):

* CCC, Lin's concordance correlation coefficient (Lin 1989; AffectNet, AVEC):
  ``2 sigma_pt / (sigma_p^2 + sigma_t^2 + (mu_p - mu_t)^2)``, in [-1, 1]; 1 only when
  p == t, so it punishes bias and wrong scale that PCC forgives.
* RMSE: ``sqrt(1/n sum (p_i - t_i)^2)``.
* PCC, Pearson's correlation: ``sigma_pt / (sigma_p sigma_t)``.
* SAGR, sign agreement (Mollahosseini et al. 2019, AffectNet):
  ``1/n sum [sign(p_i) == sign(t_i)]``, with sign(0) = 0, so 0 only agrees with 0.
* accuracy: ``1/n sum [argmax_i == y_i]`` (predictions may be indices or (n, K) scores).
* macro F1: the mean over classes seen in truth or prediction of
  ``2 precision recall / (precision + recall)`` (a class never predicted and never
  true does not count; one with no true positives scores 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def _array(x: Any) -> np.ndarray:
    """Return `x` (numpy array, torch tensor, list) as a float64 numpy array."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def finite_pairs(pred: Any, true: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return the (pred, true) 1-D float64 arrays without the pairs where either is NaN."""
    p, t = _array(pred).reshape(-1), _array(true).reshape(-1)
    if p.shape != t.shape:
        raise ValueError(f"pred has {p.size} values but true has {t.size}")
    keep = np.isfinite(p) & np.isfinite(t)
    return p[keep], t[keep]


def ccc(pred: Any, true: Any) -> float:
    """Return Lin's concordance correlation coefficient of pred vs true (NaN if undefined)."""
    p, t = finite_pairs(pred, true)
    if p.size < 2:
        return float("nan")
    mp, mt = p.mean(), t.mean()
    cov = np.mean((p - mp) * (t - mt))
    denom = p.var() + t.var() + (mp - mt) ** 2
    return float(2.0 * cov / denom) if denom > 0 else float("nan")


def rmse(pred: Any, true: Any) -> float:
    """Return the root mean squared error of pred vs true (NaN if no pair is finite)."""
    p, t = finite_pairs(pred, true)
    return float(np.sqrt(np.mean((p - t) ** 2))) if p.size else float("nan")


def pcc(pred: Any, true: Any) -> float:
    """Return Pearson's correlation of pred vs true (NaN if either side is constant)."""
    p, t = finite_pairs(pred, true)
    if p.size < 2:
        return float("nan")
    sp, st = p.std(), t.std()
    if sp == 0 or st == 0:
        return float("nan")
    return float(np.mean((p - p.mean()) * (t - t.mean())) / (sp * st))


def sagr(pred: Any, true: Any) -> float:
    """Return the sign agreement rate of pred vs true, in [0, 1] (NaN if no pair is finite)."""
    p, t = finite_pairs(pred, true)
    return float(np.mean(np.sign(p) == np.sign(t))) if p.size else float("nan")


def class_pairs(pred: Any, true: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return (predicted, true) int class arrays; scores (n, K) become argmax; true < 0 dropped."""
    p = _array(pred)
    if p.ndim == 2:
        p = p.argmax(axis=1) if p.shape[1] else np.full(p.shape[0], -1.0)
    t = _array(true).reshape(-1)
    p = p.reshape(-1)
    if p.shape != t.shape:
        raise ValueError(f"pred has {p.size} values but true has {t.size}")
    keep = np.isfinite(t) & (t >= 0) & np.isfinite(p)
    return p[keep].astype(np.int64), t[keep].astype(np.int64)


def accuracy(pred: Any, true: Any) -> float:
    """Return the fraction of known-class items predicted right (NaN if none is known)."""
    p, t = class_pairs(pred, true)
    return float(np.mean(p == t)) if t.size else float("nan")


def macro_f1(pred: Any, true: Any) -> float:
    """Return the unweighted mean F1 over classes occurring in truth or prediction."""
    p, t = class_pairs(pred, true)
    if not t.size:
        return float("nan")
    scores = []
    for c in np.union1d(p, t):
        tp = np.sum((p == c) & (t == c))
        fp = np.sum((p == c) & (t != c))
        fn = np.sum((p != c) & (t == c))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


# name -> metric(pred, true) -> float. Regression metrics take per-image values of one
# dimension (valence or arousal); classification metrics take classes or (n, K) scores.
REGRESSION_METRICS: dict[str, Callable[[Any, Any], float]] = {
    "ccc": ccc, "rmse": rmse, "pcc": pcc, "sagr": sagr,
}
CLASSIFICATION_METRICS: dict[str, Callable[[Any, Any], float]] = {
    "accuracy": accuracy, "macro_f1": macro_f1,
}
METRICS: dict[str, Callable[[Any, Any], float]] = {**REGRESSION_METRICS, **CLASSIFICATION_METRICS}
HIGHER_IS_BETTER: dict[str, bool] = {name: name != "rmse" for name in METRICS}


def va_report(pred_va: Any, true_va: Any) -> dict[str, dict[str, float]]:
    """Return {'valence': {metric: value}, 'arousal': {...}} for (n, 2) predicted/true VA."""
    p, t = _array(pred_va), _array(true_va)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape != t.shape:
        raise ValueError(f"expected two (n, 2) VA arrays, got {p.shape} and {t.shape}")
    return {
        dim: {**{k: fn(p[:, i], t[:, i]) for k, fn in REGRESSION_METRICS.items()},
              "n": int(np.sum(np.isfinite(p[:, i]) & np.isfinite(t[:, i])))}
        for i, dim in enumerate(("valence", "arousal"))
    }


def class_report(pred: Any, true: Any) -> dict[str, float]:
    """Return {metric: value, 'n': known items} of the classification metrics."""
    _, t = class_pairs(pred, true)
    return {**{k: fn(pred, true) for k, fn in CLASSIFICATION_METRICS.items()}, "n": int(t.size)}
