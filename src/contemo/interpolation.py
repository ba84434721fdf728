"""Label paths: from a wish (an emotion, a pair, a valence-arousal point) to conditioning vectors.

The paper walks Neutral -> one emotion in equal steps (Eq. 3-4, in contemo.emotions).
This module adds the inverse question a user actually asks: *which* label vector shows
a face at valence v, arousal a? `va_to_label` answers it by barycentric interpolation
on Russell's circumplex: Neutral sits at the origin and each extreme emotion at its
anchor; a target between two angular neighbours is the blend of Neutral and those two
whose anchor blend equals the target. Because the conditioning layer is linear in v
(contemo.models.dcgan), the anchor blend is also what the label "means" to the model
to first order; a sweep measures how far that holds, and measured anchors can replace
the theoretical ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from contemo.emotions import EMOTIONS, EXTREME_EMOTIONS, NEUTRAL, NUM_EMOTIONS, VA_ANCHORS
from contemo.errors import ContemoError
from contemo.fileio import read_format_json

Anchors = dict[str, tuple[float, float]]


@dataclass(frozen=True)
class VATarget:
    """The label vector for a VA target, the VA it reaches, and whether the target was moved."""

    label: np.ndarray  # float32 (6,), sums to 1: Neutral + at most two neighbouring emotions
    achieved: tuple[float, float]  # VA of the label under the anchors (== target unless clipped)
    clipped: bool  # the target lay outside the reachable region and was moved to its nearest point
    neighbours: tuple[str, str]  # the two extreme emotions blended with Neutral


def _extremes_by_angle(anchors: Anchors, among: tuple[str, ...] | None = None
                       ) -> list[tuple[float, str, np.ndarray]]:
    """Return (angle, name, anchor) of the extreme emotions (those in `among`) sorted
    counter-clockwise."""
    out = []
    for name in EXTREME_EMOTIONS:
        if among is not None and name not in among:
            continue
        p = np.asarray(anchors[name], dtype=np.float64) - np.asarray(anchors[EMOTIONS[NEUTRAL]])
        if float(np.hypot(*p)) < 1e-9:
            raise ContemoError(f"anchor of {name} coincides with neutral's; cannot target VA")
        out.append((math.atan2(p[1], p[0]) % (2 * math.pi), name, p))
    return sorted(out, key=lambda t: t[0])


def sectors(anchors: Anchors | None = None, among: tuple[str, ...] | None = None
            ) -> list[tuple[str, str]]:
    """Return the pairs of angular-neighbour emotions whose triangle with Neutral is reachable.

    A gap of 180 degrees or more between neighbours (with the theoretical anchors: the
    calm quadrant between sad and happy, which no training emotion covers) is not a
    triangle around the origin, so targets there are unreachable and get clipped.
    """
    ring = _extremes_by_angle(_resolve(anchors), among)
    if len(ring) < 2:  # a model trained on neutral and one extreme emotion: no triangle
        return []
    pairs = []
    for (a0, n0, _), (a1, n1, _) in zip(ring, ring[1:] + ring[:1]):
        gap = (a1 - a0) % (2 * math.pi)
        if 0 < gap < math.pi:
            pairs.append((n0, n1))
    return pairs


def va_to_label(valence: float, arousal: float, anchors: Anchors | None = None,
                among: tuple[str, ...] | None = None) -> VATarget:
    """Return the label vector that reaches (valence, arousal), or its nearest reachable point.

    `among` limits the blend to those emotions (a model trained on fewer than six).
    """
    for name, value in (("valence", valence), ("arousal", arousal)):
        if not math.isfinite(value) or not -1.0 <= value <= 1.0:
            raise ContemoError(f"{name} {value}: expected a number in [-1, 1]")
    anchors = _resolve(anchors)
    origin = np.asarray(anchors[EMOTIONS[NEUTRAL]], dtype=np.float64)
    target = np.array([valence, arousal], dtype=np.float64) - origin
    points = {name: p for _, name, p in _extremes_by_angle(anchors, among)}
    best: tuple[float, np.ndarray, tuple[str, str]] | None = None
    for pair in sectors(anchors, among):
        weights = _closest_in_triangle(target, points[pair[0]], points[pair[1]])
        reached = weights[0] * points[pair[0]] + weights[1] * points[pair[1]]
        dist = float(np.hypot(*(reached - target)))
        if best is None or dist < best[0] - 1e-12:
            best = (dist, weights, pair)
    if best is None:
        raise ContemoError("the anchors leave no reachable region around neutral")
    dist, (w0, w1), pair = best
    label = np.zeros(NUM_EMOTIONS, dtype=np.float64)
    label[EMOTIONS.index(pair[0])] = w0
    label[EMOTIONS.index(pair[1])] = w1
    label[NEUTRAL] = max(0.0, 1.0 - w0 - w1)
    label = np.maximum(label, 0.0) + 0.0  # no negative zeros in what users see
    label /= label.sum()
    achieved = origin + w0 * points[pair[0]] + w1 * points[pair[1]]
    return VATarget(label.astype(np.float32), (float(achieved[0]), float(achieved[1])),
                    dist > 1e-6, pair)


def _closest_in_triangle(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return weights (wa, wb) of the point of triangle (0, a, b) closest to p.

    The triangle is {wa*a + wb*b : wa, wb >= 0, wa + wb <= 1}; inside it the weights
    solve a 2x2 system, outside the nearest point lies on one of its three edges.
    """
    m = np.column_stack([a, b])
    if abs(np.linalg.det(m)) > 1e-12:
        w = np.linalg.solve(m, p)
        if w.min() >= -1e-12 and w.sum() <= 1 + 1e-12:
            return np.clip(w, 0.0, 1.0)
    candidates = [
        np.array([_segment_t(p, np.zeros(2), a), 0.0]),  # edge 0-a
        np.array([0.0, _segment_t(p, np.zeros(2), b)]),  # edge 0-b
    ]
    t = _segment_t(p, a, b)  # edge a-b: (1-t) a + t b
    candidates.append(np.array([1.0 - t, t]))
    return min(candidates, key=lambda w: float(np.hypot(*(w[0] * a + w[1] * b - p))))


def _segment_t(p: np.ndarray, start: np.ndarray, end: np.ndarray) -> float:
    """Return t in [0, 1] of the point of segment start->end closest to p."""
    d = end - start
    denom = float(d @ d)
    return 0.0 if denom == 0 else float(np.clip((p - start) @ d / denom, 0.0, 1.0))


def _resolve(anchors: Anchors | None) -> Anchors:
    """Return full anchors for the 6 training emotions (theoretical where not given)."""
    if anchors is None:
        return {e: VA_ANCHORS[e] for e in EMOTIONS}
    missing = [e for e in EMOTIONS if e not in anchors]
    if missing:
        raise ContemoError(f"anchors: missing {', '.join(missing)}")
    return {e: (float(anchors[e][0]), float(anchors[e][1])) for e in EMOTIONS}


# --- Calibrated interpolation (paper §5) and measured anchors, from a sweep's saved curves ---
#
# A sweep (contemo evaluate sweep) writes calibration.json: for every emotion the label
# weights it walked and the mean VA the scorer measured at each. Equal label steps rarely
# give equal VA steps (Fig. 6 is curved); the paper suggests "higher intervals ... in ranges
# where the target features are changing slower". `calibrated_weights` does exactly that
# by inverting the measured step -> VA curve.

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
    from contemo.fileio import atomic_write_json

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
    from contemo.emotions import canonical_emotion

    name = canonical_emotion(emotion)
    curves = load_calibration(sweep_dir)
    if name not in curves:
        raise ContemoError(f"{sweep_dir}: the sweep has no curve for {name} "
                           f"(it has {', '.join(curves)})")
    return curves[name].weights_for(steps)


def calibrated_path(sweep_dir: str | Path, emotion: str, steps: int = 11) -> np.ndarray:
    """Return (steps, 6) label vectors Neutral->`emotion` on calibrated weights."""
    from contemo.emotions import path

    return path(EMOTIONS[NEUTRAL], emotion, weights=calibrated_weights(sweep_dir, emotion, steps))


def measured_anchors_from(sweep_dir: str | Path) -> Anchors:
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
