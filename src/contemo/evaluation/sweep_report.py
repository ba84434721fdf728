"""A sweep's result files: per-image CSV, per-step mean/SD, summary.json, calibration, plot.

summary.json per emotion: monotonicity (Spearman rho of step vs V and vs A, signed
so +1 means "moves the way the Russell-Mehrabian anchors say"), range covered,
linearity (R^2 of a line through the per-step means), identity drift, and the VA
anchors the model actually reaches (one-hot ends and Neutral, as scored).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from contemo.emotions import EMOTIONS, NEUTRAL, va_anchor
from contemo.evaluation.stats import expected_direction, line_r2, spearman, spearman_rows
from contemo.fileio import atomic_write, atomic_write_json
from contemo.labels.calibration import progress_curve, save_calibration

SUMMARY_FORMAT = "contemo-sweep/1"
AXES = ("valence", "arousal")


def _r(x: float, nd: int = 4) -> float | None:
    """Return x rounded for JSON, None for NaN (JSON has no NaN)."""
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


def step_table(scores: Any) -> list[dict[str, Any]]:
    """Return one row per step: weight, mean and SD of V and A, drift, between-face distance."""
    rows = []
    for step, weight in enumerate(scores.weights):
        v, a = scores.valence[:, step], scores.arousal[:, step]
        drift = scores.drift[:, step]
        rows.append({
            "emotion": scores.emotion, "step": step, "weight": _r(weight, 6), "n": len(v),
            "valence_mean": _r(v.mean()), "valence_sd": _r(v.std(ddof=1) if len(v) > 1 else 0.0),
            "arousal_mean": _r(a.mean()), "arousal_sd": _r(a.std(ddof=1) if len(a) > 1 else 0.0),
            "drift_mean": _r(np.nanmean(drift)) if np.isfinite(drift).any() else None,
            "between_faces": _r(scores.between[step]),
        })
    return rows


def summarise(scores: Any) -> dict[str, Any]:
    """Return the summary numbers of one emotion's sweep (see the module docstring)."""
    steps = np.arange(len(scores.weights), dtype=np.float64)
    sign = expected_direction(va_anchor(EMOTIONS[NEUTRAL]), va_anchor(scores.emotion))
    mean_va = np.stack([scores.valence.mean(0), scores.arousal.mean(0)], axis=1)
    per_face = {ax: spearman_rows(steps, getattr(scores, ax)) for ax in AXES}
    drift = float(np.nanmean(scores.drift)) if np.isfinite(scores.drift).any() else float("nan")
    between = float(np.nanmean(scores.between))
    prog = progress_curve(mean_va)
    return {
        "expected_direction": dict(zip(AXES, sign, strict=True)),
        "monotonicity": {ax: _r(sg * spearman(steps, mean_va[:, i]))
                         for i, (ax, sg) in enumerate(zip(AXES, sign, strict=True))},
        "monotonicity_per_face": {
            ax: _r(sg * np.nanmean(per_face[ax])) if np.isfinite(per_face[ax]).any() else None
            for ax, sg in zip(AXES, sign, strict=True)},
        "range": {ax: _r(mean_va[-1, i] - mean_va[0, i]) for i, ax in enumerate(AXES)},
        "linearity_r2": {**{ax: _r(line_r2(steps, mean_va[:, i])) for i, ax in enumerate(AXES)},
                         "progress": _r(line_r2(steps, prog))},
        "progress": [_r(p) for p in prog],
        "identity_drift": {"mean": _r(drift), "between_faces": _r(between),
                           "normalised": _r(drift / between) if between > 0 else None},
        "start": [_r(x) for x in mean_va[0]],
        "end": [_r(x) for x in mean_va[-1]],
        "weights": [_r(w, 6) for w in scores.weights],
    }


def measure_anchors(results: Sequence[Any]) -> dict[str, list[float | None]]:
    """Return the mean VA each swept emotion reaches at one-hot, and Neutral's over all starts.

    What a sweep writes into calibration.json; `labels.calibration.load_measured_anchors`
    reads it back.
    """
    anchors: dict[str, list[float | None]] = {}
    starts = [np.stack([r.valence[:, 0], r.arousal[:, 0]], 1) for r in results
              if r.weights[0] == 0.0]
    if starts:
        anchors[EMOTIONS[NEUTRAL]] = [_r(x) for x in np.concatenate(starts).mean(0)]
    for r in results:
        if r.weights[-1] == 1.0:
            anchors[r.emotion] = [_r(r.valence[:, -1].mean()), _r(r.arousal[:, -1].mean())]
    return anchors


def image_rows_csv(results: Sequence[Any], classes: tuple[str, ...]) -> str:
    """Return the per-image CSV text: one row per (emotion, noise, step).

    With a scorer that has classes (the judge, a regressor with its class head), one
    `p_<class>` column per class, so P(emotion) per step needs no second pass.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    with_probs = all(r.probs.shape[-1] == len(classes) > 0 for r in results)
    w.writerow(["emotion", "noise_index", "seed", "step", "weight", "valence", "arousal",
                "top_class", "drift"] + ([f"p_{c}" for c in classes] if with_probs else []))
    for r in results:
        n, s = r.valence.shape
        for i in range(n):
            for step in range(s):
                d = r.drift[i, step]
                w.writerow([r.emotion, i, int(r.seeds[i]), step, f"{r.weights[step]:.6g}",
                            f"{r.valence[i, step]:.5f}", f"{r.arousal[i, step]:.5f}",
                            classes[int(r.top[i, step])] if r.top[i, step] >= 0 else "",
                            "" if not np.isfinite(d) else f"{d:.5f}"]
                           + ([f"{p:.5f}" for p in r.probs[i, step]] if with_probs else []))
    return buf.getvalue()


def write_csv(file: Path, rows: list[dict[str, Any]]) -> None:
    """Write dict rows as CSV atomically (header from the first row's keys)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    atomic_write(file, lambda tmp: tmp.write_text(buf.getvalue()))


def write_report(out: Path, results: Sequence[Any], classes: tuple[str, ...],
                 meta: dict[str, Any]) -> dict[str, Any]:
    """Return the summary after writing images.csv, steps.csv/json, summary, calibration, plot."""
    from contemo.evaluation.plots import plot_sweep

    steps = [row for r in results for row in step_table(r)]
    text = image_rows_csv(results, classes)
    atomic_write(out / "images.csv", lambda tmp: tmp.write_text(text))
    write_csv(out / "steps.csv", steps)
    atomic_write_json(out / "steps.json", steps)
    anchors = measure_anchors(results)
    summary = {
        "format": SUMMARY_FORMAT, **meta,
        "emotions": {r.emotion: summarise(r) for r in results},
        "anchors_measured": anchors,
        "anchors_theoretical": {e: list(va_anchor(e)) for e in EMOTIONS},
    }
    atomic_write_json(out / "summary.json", summary)
    save_calibration(out, {r.emotion: {"weights": r.weights.tolist(),
                                       "valence": r.valence.mean(0).tolist(),
                                       "arousal": r.arousal.mean(0).tolist()} for r in results},
                     anchors, {"scorer": meta.get("scorer"), "checkpoint": meta.get("checkpoint"),
                              "truncation": meta.get("truncation", 1.0)})
    plot_sweep(steps, out / "sweep.png", title=f"scorer: {meta.get('scorer')}, "
               f"{results[0].valence.shape[0]} noises per emotion", anchors=anchors)
    return summary
