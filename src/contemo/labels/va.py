"""Valence-arousal targets: the label vector that shows a face at a VA point, and its anchors.

The paper walks Neutral -> one emotion in equal steps (Eq. 3-4, contemo.labels.paths).
This module answers the inverse question a user actually asks: *which* label vector shows
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from contemo.emotions import EMOTIONS, EXTREME_EMOTIONS, NEUTRAL, NUM_EMOTIONS, VA_ANCHORS
from contemo.errors import ContemoError

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
    # Each Neutral->emotion segment is reachable too: with no triangle at all (a model
    # trained on neutral and happy only) it is the whole reachable region.
    for name, point in points.items():
        t = _segment_t(target, np.zeros(2), point)
        dist = float(np.hypot(*(t * point - target)))
        if best is None or dist < best[0] - 1e-12:
            best = (dist, np.array([t, 0.0]), (name, name))
    if best is None:
        raise ContemoError("the anchors leave no reachable region around neutral")
    dist, (w0, w1), pair = best
    label = np.zeros(NUM_EMOTIONS, dtype=np.float64)
    label[EMOTIONS.index(pair[1])] = w1
    label[EMOTIONS.index(pair[0])] += w0  # a segment's pair names one emotion twice
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


@dataclass(frozen=True)
class ModelLabels:
    """What a checkpoint says about its labels: the VA anchors and the emotions it learned."""

    anchors: Anchors
    trained: tuple[str, ...] = EMOTIONS

    @classmethod
    def theoretical(cls) -> ModelLabels:
        """Return the facts of a model trained on all six emotions with the theoretical anchors."""
        return cls(_resolve(None))

    def va_label(self, valence: float, arousal: float) -> VATarget:
        """Return the label reaching (valence, arousal) on this model (see model_va_label)."""
        return model_va_label(valence, arousal, self.anchors, self.trained)


def checkpoint_anchors(meta: Mapping[str, Any]) -> Anchors:
    """Return the VA anchors a checkpoint carries (its `va_anchors`), else the theoretical ones.

    `meta` is a release's metadata (EmotionPipeline.meta), whose anchors
    models.pretrained.read_config has already checked.
    """
    anchors = meta.get("va_anchors")
    if isinstance(anchors, dict) and all(e in anchors for e in EMOTIONS):
        return {e: (float(anchors[e][0]), float(anchors[e][1])) for e in EMOTIONS}
    return _resolve(None)


def model_va_label(valence: float, arousal: float, anchors: Anchors,
                   trained: Sequence[str] = EMOTIONS) -> VATarget:
    """Return the label reaching (valence, arousal) for a model trained on `trained` emotions.

    The blend always starts from Neutral, so a model that never saw Neutral cannot be
    targeted; a model trained on fewer emotions blends only those (va_to_label's `among`).
    Every VA entry point (generate --va, the web app) goes through here, so the same
    checkpoint and target give the same label everywhere.
    """
    if EMOTIONS[NEUTRAL] not in trained:
        raise ContemoError("this model was not trained on neutral, which the valence-arousal "
                           "pad blends from; ask for a label or a blend instead")
    among = None if len(trained) == len(EMOTIONS) else tuple(trained)
    return va_to_label(valence, arousal, anchors, among)
