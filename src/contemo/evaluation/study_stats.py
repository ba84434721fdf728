"""User-study inference that respects who answered: per-participant tests, corrected, with effects.

Each participant rates several real and several generated images of each emotion,
so their answers are not independent observations. The primary analysis therefore
aggregates first: per participant and (shown emotion, rated emotion) cell, the mean
rating of the real images and of the generated ones; the paired differences
(generated - real, in Likert points; positive = generated agreed with less, as 1 is
"strongly agree") are tested with the Wilcoxon signed-rank test (scipy). The p-values
of all cells are corrected together (Holm, family-wise; Benjamini-Hochberg also
reported) with statsmodels, and each cell has the matched-pairs rank-biserial
correlation as its effect size with a percentile bootstrap CI over participants.

statsmodels has no cumulative-link *mixed* model (OrderedModel has no random
effects), so the recognition cells also get a linear mixed model (statsmodels
MixedLM: a random intercept per participant and a variance component per image) as a
sensitivity check that accounts for image-to-image variation, which the
per-participant means average away.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from contemo.emotions import EMOTIONS

SOURCES = ("real", "generated")
DEFAULT_BOOTSTRAP = 2000


def participant_means(rows: list[dict]) -> dict[tuple[str, str], dict[Any, dict[str, float]]]:
    """Return (shown, rated) -> participant -> {source: mean rating} from answer rows."""
    sums: dict[tuple, list[float]] = {}
    for row in rows:
        if row["source"] not in SOURCES or row["image_emotion"] not in EMOTIONS:
            continue
        key = (row["image_emotion"], row["rated_emotion"], row["participant"], row["source"])
        total = sums.setdefault(key, [0.0, 0])
        total[0] += float(row["value"])
        total[1] += 1
    out: dict[tuple[str, str], dict[Any, dict[str, float]]] = {}
    for (shown, rated, person, source), (total, n) in sums.items():
        out.setdefault((shown, rated), {}).setdefault(person, {})[source] = total / n
    return out


def rank_biserial(diffs: np.ndarray) -> np.ndarray:
    """Return the matched-pairs rank-biserial correlation of each row of `diffs` (zeros dropped).

    r = (sum of ranks of positive differences - sum of ranks of negative ones) / sum of
    all ranks, in [-1, 1]; 0 where every difference is zero.
    """
    from scipy.stats import rankdata

    diffs = np.atleast_2d(diffs)
    nonzero = diffs != 0
    ranks = rankdata(np.where(nonzero, np.abs(diffs), np.nan), axis=1, nan_policy="omit")
    ranks = np.nan_to_num(ranks)
    total = ranks.sum(axis=1)
    signed = (ranks * np.sign(diffs)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, signed / np.where(total > 0, total, 1), 0.0)


def compare_cell(diffs: np.ndarray, rng: np.random.Generator,
                 n_boot: int = DEFAULT_BOOTSTRAP) -> dict[str, Any]:
    """Return the Wilcoxon signed-rank test and rank-biserial effect (bootstrap CI) of diffs."""
    from scipy.stats import wilcoxon

    n = int(diffs.size)
    base = {"n": n, "mean_diff": round(float(diffs.mean()), 4) if n else None,
            "median_diff": round(float(np.median(diffs)), 4) if n else None}
    if n < 2:
        return {**base, "W": None, "p": None, "r": None, "r_ci": None,
                "reason": "fewer than 2 participants rated both real and generated images"}
    r = float(rank_biserial(diffs)[0])
    boot = rank_biserial(diffs[rng.integers(0, n, size=(n_boot, n))])
    ci = [round(float(x), 4) for x in np.percentile(boot, [2.5, 97.5])]
    if not np.any(diffs != 0):
        return {**base, "W": 0.0, "p": 1.0, "r": 0.0, "r_ci": ci,
                "reason": "no participant rated real and generated differently"}
    result = wilcoxon(diffs, zero_method="wilcox", alternative="two-sided")
    return {**base, "W": float(result.statistic), "p": float(result.pvalue),
            "r": round(r, 4), "r_ci": ci}


def mixed_model(rows: list[dict], shown: str) -> dict[str, Any]:
    """Return MixedLM's estimate of generated - real on the recognition cell of `shown`.

    value ~ generated, random intercept per participant, variance component per image.
    """
    import pandas as pd
    import statsmodels.formula.api as smf

    data = pd.DataFrame([
        {"value": float(r["value"]), "generated": float(r["source"] == "generated"),
         "participant": str(r["participant"]), "image": str(r["image_id"])}
        for r in rows if r["source"] in SOURCES and r["image_emotion"] == shown
        and r["rated_emotion"] == shown])
    if data.empty or data["generated"].nunique() < 2 or data["participant"].nunique() < 3:
        return {"estimate": None, "p": None, "reason": "too few answers for a mixed model"}
    if data["value"].nunique() < 2:
        return {"estimate": 0.0, "p": None, "reason": "every answer is the same"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = smf.mixedlm("value ~ generated", data, groups="participant",
                              vc_formula={"image": "0 + C(image)"}).fit(reml=True)
        except (np.linalg.LinAlgError, ValueError) as err:
            return {"estimate": None, "p": None, "reason": f"did not fit ({err})"}
    converged = bool(getattr(fit, "converged", True)) and not any(
        "converge" in str(w.message).lower() for w in caught)
    p = float(fit.pvalues["generated"])
    return {"estimate": round(float(fit.params["generated"]), 4),
            "se": round(float(fit.bse["generated"]), 4),
            "p": None if np.isnan(p) else p, "converged": converged,
            "answers": len(data), "participants": int(data["participant"].nunique()),
            "images": int(data["image"].nunique())}


def infer(rows: list[dict], *, alpha: float = 0.05, n_boot: int = DEFAULT_BOOTSTRAP,
          seed: int = 0, mixed: bool = True) -> dict[str, Any]:
    """Return per-cell paired tests with Holm and BH corrections, effects and mixed models."""
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(seed)
    means = participant_means(rows)
    cells: dict[str, dict[str, dict[str, Any]]] = {}
    tested: list[tuple[str, str]] = []
    for shown in EMOTIONS:
        for rated in EMOTIONS:
            people = means.get((shown, rated), {})
            diffs = np.array([m["generated"] - m["real"] for m in people.values()
                              if "real" in m and "generated" in m], dtype=np.float64)
            cell = compare_cell(diffs, rng, n_boot)
            cells.setdefault(shown, {})[rated] = cell
            if cell["p"] is not None:
                tested.append((shown, rated))
    pvals = [cells[s][r]["p"] for s, r in tested]
    if pvals:
        holm = multipletests(pvals, alpha=alpha, method="holm")[1]
        bh = multipletests(pvals, alpha=alpha, method="fdr_bh")[1]
        for (s, r), ph, pb in zip(tested, holm, bh):
            cell = cells[s][r]
            cell.update(p=round(cell["p"], 6), p_holm=round(float(ph), 6),
                        p_bh=round(float(pb), 6), significant=bool(ph < alpha))
    for shown in EMOTIONS:
        for cell in cells[shown].values():
            cell.setdefault("p_holm", None)
            cell.setdefault("p_bh", None)
            cell.setdefault("significant", False)
    recognition_models = {s: mixed_model(rows, s) for s in EMOTIONS} if mixed else {}
    return {
        "method": "per-participant means per (shown, rated) cell; paired generated - real "
                  "differences; Wilcoxon signed-rank (two-sided, zero differences dropped); "
                  f"Holm over the {len(tested)} tested cells (BH also given); matched-pairs "
                  f"rank-biserial r with a {n_boot}-resample percentile bootstrap 95% CI over "
                  "participants; recognition cells also by MixedLM (participant intercept, "
                  "image variance component)",
        "alpha": alpha, "tests": len(tested), "cells": cells,
        "recognition_mixedlm": recognition_models,
    }
