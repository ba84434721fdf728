"""Linearity before and after calibration: one sweep on uniform steps, one on calibrated ones.

The calibrated sweep walks weights inverted from the first sweep's curves; if the
calibration works, its VA progress per step is a straight line (R^2 -> 1). The
comparison says whether the second sweep's noises were held out from the first's,
because a calibration checked on the faces it was fitted to flatters itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contemo.errors import ContemoError
from contemo.fileio import atomic_write_json

COMPARISON_FILE = "calibration_comparison.json"


def _summary(folder: str | Path) -> dict[str, Any]:
    """Return a sweep folder's summary.json (one-line error if missing)."""
    file = Path(folder) / "summary.json"
    if not file.is_file():
        raise ContemoError(f"{file}: not found (not a finished sweep folder)")
    try:
        return json.loads(file.read_text())
    except json.JSONDecodeError:
        raise ContemoError(f"{file}: not valid JSON") from None


def _seed_range(summary: dict[str, Any]) -> tuple[int, int]:
    """Return the [first, last] noise seed a sweep used."""
    c = summary["config"]
    return c["seed"], c["seed"] + c["noises"] * len(c["emotions"]) - 1


def compare_calibration(before_dir: str | Path, after_dir: str | Path) -> dict[str, Any]:
    """Return the before/after linearity comparison after writing its JSON and plot."""
    from contemo.evaluation.plots import plot_calibration

    before, after = _summary(before_dir), _summary(after_dir)
    (b0, b1), (a0, a1) = _seed_range(before), _seed_range(after)
    keys = ("linearity_r2", "progress", "monotonicity", "range", "weights")
    emotions = {}
    for emotion, s in after["emotions"].items():
        if emotion not in before["emotions"]:
            continue
        emotions[emotion] = {
            "before": {k: before["emotions"][emotion][k] for k in keys},
            "after": {k: s[k] for k in keys},
        }
    comparison = {
        "calibrated_from": str(before_dir), "calibrated_sweep": str(after_dir),
        "held_out": a1 < b0 or a0 > b1,  # no noise seed shared between the two sweeps
        "scorer": after["scorer"],
        "emotions": emotions,
    }
    atomic_write_json(Path(after_dir) / COMPARISON_FILE, comparison)
    plot_calibration(comparison, Path(after_dir) / "calibration_comparison.png")
    return comparison
