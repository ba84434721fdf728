"""VA targeting, measured: ask for (valence, arousal), generate faces, score what they show.

On a grid of targets over [-1, 1]^2, `va_to_label` gives each target's label vector
(clipping unreachable targets to the nearest reachable point); N faces per target are
generated and scored. Errors are mean absolute errors over both axes, per target of the
mean scored VA against the requested VA, overall and over reachable targets only, and
against the VA the anchors predicted (which isolates the model from the clipping). Run
with theoretical anchors, and with anchors measured by a sweep when one is given: the
scorer's own VA scale is where measured anchors should shine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from contemo.emotions import EMOTIONS, VA_ANCHORS
from contemo.errors import ContemoError
from contemo.evaluation.scorers import Scorer, check_scores
from contemo.fileio import atomic_write_json
from contemo.hardware import PRECISIONS, autocast
from contemo.labels.va import Anchors, va_to_label

TARGETING_FORMAT = "contemo-targeting/1"


def target_grid(size: int) -> list[tuple[float, float]]:
    """Return size x size (valence, arousal) targets evenly spaced over [-1, 1]^2."""
    if size < 2:
        raise ContemoError(f"--grid must be at least 2, got {size}")
    axis = np.linspace(-1.0, 1.0, size)
    return [(round(float(v), 6), round(float(a), 6)) for a in axis[::-1] for v in axis]


def _mae(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float | None:
    """Return the mean absolute error over targets and both axes (None for no targets)."""
    if not pairs:
        return None
    return round(float(np.mean([np.abs(a - b).mean() for a, b in pairs])), 4)


def measure_targets(pipeline: Any, scorer: Scorer, targets: list[tuple[float, float]],
                    anchors: Anchors | None, *, per_target: int = 50, seed: int = 0,
                    batch_size: int = 550, precision: str = "bf16",
                    bar: tqdm | None = None) -> dict[str, Any]:
    """Return per-target requested / predicted / measured VA and the MAE summary."""
    if per_target < 1:
        raise ContemoError(f"--per-target must be at least 1, got {per_target}")
    if precision not in PRECISIONS:
        raise ContemoError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    plans = [va_to_label(v, a, anchors) for v, a in targets]
    z = pipeline.noise(list(range(seed, seed + per_target)))  # the same faces for every target
    per_batch = max(1, batch_size // per_target)
    measured = np.zeros((len(targets), 2))
    spread = np.zeros((len(targets), 2))
    with torch.inference_mode():
        for lo in range(0, len(plans), per_batch):
            group = plans[lo:lo + per_batch]
            labels = torch.from_numpy(np.stack([p.label for p in group]))
            images = next(iter(pipeline.iter_batches(
                z.repeat(len(group), 1), labels.repeat_interleave(per_target, 0),
                per_target * len(group))))
            with autocast(precision, images.device):
                scores = scorer.score(images)
            check_scores(scores, len(images), "targeting")
            va = torch.stack([scores["valence"], scores["arousal"]], 1).float().cpu().numpy()
            va = va.reshape(len(group), per_target, 2)
            measured[lo:lo + len(group)] = va.mean(1)
            spread[lo:lo + len(group)] = va.std(1, ddof=1) if per_target > 1 else 0.0
            if bar is not None:
                bar.update(len(images))
    rows = []
    for (v, a), plan, m, sd in zip(targets, plans, measured, spread, strict=True):
        rows.append({
            "requested": [v, a], "predicted": [round(x, 4) for x in plan.achieved],
            "measured": [round(float(x), 4) for x in m], "measured_sd": [round(float(x), 4)
                                                                          for x in sd],
            "clipped": plan.clipped, "neighbours": list(plan.neighbours),
            "label": [round(float(x), 4) for x in plan.label],
        })
    req = [(np.array(r["requested"]), np.array(r["measured"])) for r in rows]
    pred = [(np.array(r["predicted"]), np.array(r["measured"])) for r in rows]
    reach = [p for p, r in zip(req, rows, strict=True) if not r["clipped"]]
    return {
        "anchors": {e: [float(x) for x in (anchors or VA_ANCHORS)[e]] for e in EMOTIONS},
        "targets": rows,
        "clipped": sum(r["clipped"] for r in rows),
        "mae": {"all": _mae(req), "reachable": _mae(reach), "vs_predicted": _mae(pred)},
    }


def run_targeting(pipeline: Any, scorer: Scorer, out_dir: str | Path, *, grid: int = 7,
                  per_target: int = 50, anchor_sets: dict[str, Anchors | None] | None = None,
                  seed: int = 0, batch_size: int = 550, precision: str = "bf16",
                  progress: bool = True, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the targeting report after writing targeting.json and targeting.png to `out_dir`."""
    from contemo.evaluation.plots import plot_targeting

    targets = target_grid(grid)
    sets = anchor_sets or {"theoretical": None}
    out = Path(out_dir)
    runs = {}
    with tqdm(total=len(targets) * per_target * len(sets), unit="img", desc="targeting",
              disable=not progress, dynamic_ncols=True) as bar:
        for name, anchors in sets.items():
            runs[name] = measure_targets(pipeline, scorer, targets, anchors, per_target=per_target,
                                         seed=seed, batch_size=batch_size, precision=precision,
                                         bar=bar)
    report = {"format": TARGETING_FORMAT, "scorer": scorer.name, "grid": grid,
              "per_target": per_target, "seed": seed, "precision": precision,
              "truncation": float(getattr(pipeline, "truncation", 1.0)), **(extra or {}),
              "runs": runs}
    atomic_write_json(out / "targeting.json", report)
    plot_targeting(runs, out / "targeting.png")
    return report

