"""Calibrated interpolation (paper §5) and measured anchors, from a sweep's saved curves.

A sweep (contemo evaluate sweep) writes calibration.json: for every emotion the label
weights it walked and the mean VA the scorer measured at each. Equal label steps rarely
give equal VA steps (Fig. 6 is curved); the paper suggests "higher intervals ... in ranges
where the target features are changing slower". `calibrated_weights` does exactly that
by inverting the measured step -> VA curve. The same file holds the anchors the sweep
measured: `save_calibration` writes them, `load_measured_anchors` reads them back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from contemo.emotions import EMOTIONS, NEUTRAL, canonical_emotion
from contemo.errors import ContemoError
from contemo.fileio import atomic_write_json, read_format_json
from contemo.labels.paths import path
from contemo.labels.va import Anchors
from contemo.schema import check_range

CALIBRATION_FILE = "calibration.json"
CALIBRATION_FORMAT = "contemo-calibration/1"
MIN_CALIBRATION_RANGE = 0.02  # VA distance start->end below which a curve is too flat to invert
_PLATEAU_EPS = 1e-9  # makes a monotone curve strictly increasing so it can be inverted


def progress_curve(mean_va: np.ndarray) -> np.ndarray:
    """Return mean VA points (S, 2) projected onto their start->end line (0 = start, 1 = end).

    All NaN when start and end coincide: there is no direction to make progress along.
    """
    mean_va = np.asarray(mean_va, dtype=np.float64)
    d = mean_va[-1] - mean_va[0]
    norm2 = float(d @ d)
    if norm2 < 1e-12:
        return np.full(len(mean_va), np.nan)
    return (mean_va - mean_va[0]) @ d / norm2


def isotonic_increasing(y: np.ndarray) -> np.ndarray:
    """Return the non-decreasing sequence closest to `y` in least squares (pool adjacent violators).

    Unlike a running maximum, one early overshoot does not flatten the rest of the curve:
    the offending neighbours are replaced by their mean.
    """
    blocks: list[list[float]] = []  # [mean, count]
    for value in np.asarray(y, dtype=np.float64):
        blocks.append([float(value), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m, c = blocks.pop()
            blocks[-1][0] = (blocks[-1][0] * blocks[-1][1] + m * c) / (blocks[-1][1] + c)
            blocks[-1][1] += c
    return np.concatenate([np.full(int(c), m) for m, c in blocks])


@dataclass(frozen=True)
class CalibrationCurve:
    """One emotion's measured Neutral->emotion curve: label weight -> mean VA, as swept."""

    emotion: str
    weights: np.ndarray  # (S,) label weights the sweep walked, ascending, 0 ... 1
    va: np.ndarray  # (S, 2) mean (valence, arousal) the scorer measured at each weight

    @property
    def range(self) -> float:
        """Return the VA distance between the curve's start and end."""
        return float(np.hypot(*(self.va[-1] - self.va[0])))

    @property
    def degenerate(self) -> bool:
        """Return True when start and end are too close for a direction to invert along."""
        return self.range < MIN_CALIBRATION_RANGE

    def monotone_progress(self) -> np.ndarray:
        """Return the isotonic (non-decreasing) fit of the progress along start->end."""
        return isotonic_increasing(progress_curve(self.va))

    def weights_for(self, steps: int) -> np.ndarray:
        """Return `steps` label weights 0 ... 1 whose measured VA progress is evenly spaced.

        The measured progress is monotone-ised, then inverted by linear interpolation:
        step j gets the weight at which progress reaches j / (steps - 1) of its span.
        A degenerate curve (no VA movement to equalise) gives uniform weights.
        """
        if steps < 2:
            raise ContemoError(f"steps must be at least 2, got {steps}")
        if self.degenerate:
            return np.linspace(0.0, 1.0, steps)
        p = self.monotone_progress()
        p = p + _PLATEAU_EPS * np.arange(len(p))  # flats: step past them, not into them
        targets = np.linspace(p[0], p[-1], steps)
        w = np.interp(targets, p, self.weights)
        w[0], w[-1] = 0.0, 1.0  # always the full Neutral -> emotion path
        return np.maximum.accumulate(np.clip(w, 0.0, 1.0))


def save_calibration(sweep_dir: str | Path, curves: dict[str, dict[str, list[float]]],
                     anchors: dict[str, list[float | None]], meta: dict | None = None) -> Path:
    """Return the path of calibration.json after writing a sweep's curves and measured anchors.

    `curves` maps emotion -> {"weights", "valence", "arousal"} lists (per-step means).
    """
    return atomic_write_json(Path(sweep_dir) / CALIBRATION_FILE, {
        "format": CALIBRATION_FORMAT, **(meta or {}), "curves": curves, "anchors": anchors,
    })


def load_calibration(sweep_dir: str | Path) -> dict[str, CalibrationCurve]:
    """Return emotion -> CalibrationCurve from a sweep folder (or its calibration.json)."""
    data, file = _read_calibration(sweep_dir)
    curves = {}
    for emotion, c in data.get("curves", {}).items():
        try:
            w = np.asarray(c["weights"], dtype=np.float64)
            va = np.stack([np.asarray(c["valence"], np.float64),
                           np.asarray(c["arousal"], np.float64)], axis=1)
        except (KeyError, TypeError, ValueError):
            raise ContemoError(f"{file}: curve {emotion!r} needs numeric lists 'weights', "
                               "'valence', 'arousal' of one length") from None
        if len(w) < 2 or w.shape[0] != va.shape[0] or np.any(np.diff(w) < 0) \
                or not np.all(np.isfinite(va)):
            raise ContemoError(f"{file}: curve {emotion!r} needs >= 2 ascending weights with "
                               "finite VA means")
        curves[emotion] = CalibrationCurve(emotion, w, va)
    if not curves:
        raise ContemoError(f"{file}: field 'curves' is empty")
    return curves


def calibrated_weights(sweep_dir: str | Path, emotion: str, steps: int = 11) -> np.ndarray:
    """Return `steps` Neutral->`emotion` weights that give equal VA change per step (measured)."""
    name = canonical_emotion(emotion)
    curves = load_calibration(sweep_dir)
    if name not in curves:
        raise ContemoError(f"{sweep_dir}: the sweep has no curve for {name} "
                           f"(it has {', '.join(curves)})")
    return curves[name].weights_for(steps)


def calibrated_path(sweep_dir: str | Path, emotion: str, steps: int = 11) -> np.ndarray:
    """Return (steps, 6) label vectors Neutral->`emotion` on calibrated weights."""
    return path(EMOTIONS[NEUTRAL], emotion, weights=calibrated_weights(sweep_dir, emotion, steps))


def calibration_truncation(sweep_dir: str | Path) -> float:
    """Return the truncation PSI the sweep's faces were drawn at (1: sweeps that predate it).

    The steps are equal in VA only for the faces the sweep scored, so a path generated at
    another PSI is worth a warning.
    """
    data, file = _read_calibration(sweep_dir)
    value, what = data.get("truncation", 1.0), f"{file}: field 'truncation'"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ContemoError(f"{what}: expected a number in [0, 1]")
    check_range(value, 0.0, 1.0, what)  # the range check every other PSI goes through
    return float(value)


def load_measured_anchors(sweep_dir: str | Path) -> Anchors:
    """Return the VA anchors a sweep measured (all 6 emotions), for `va_to_label(anchors=...)`."""
    data, file = _read_calibration(sweep_dir)
    raw = data.get("anchors") or {}
    missing = [e for e in EMOTIONS if not _is_point(raw.get(e))]
    if missing:
        raise ContemoError(f"{file}: no measured anchor for {', '.join(missing)} (sweep every "
                           "extreme emotion with label weights from 0 to 1)")
    return {e: (float(raw[e][0]), float(raw[e][1])) for e in EMOTIONS}


def _is_point(value: object) -> bool:
    """Return True for a [valence, arousal] pair of finite numbers."""
    try:
        return len(value) == 2 and all(math.isfinite(float(x)) for x in value)  # type: ignore
    except (TypeError, ValueError):
        return False


def _read_calibration(sweep_dir: str | Path) -> tuple[dict, Path]:
    """Return (calibration.json data, its path); a missing or foreign file is a one-line error."""
    given = Path(sweep_dir)
    file = given if given.is_file() else given / CALIBRATION_FILE
    missing = f"not found (run `contemo evaluate sweep --out {given}` first)"
    return read_format_json(file, CALIBRATION_FORMAT, missing=missing), file
