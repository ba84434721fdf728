"""The 68 facial landmarks (iBUG 300-W order, as in AffectNet's manifests) of a rendered face.

They come from the same geometry the renderer draws, after the pose jitter, in
output-image pixels: jaw 0-16 (from the subject's right, the viewer's left),
brows 17-26, nose 27-35, eyes 36-47, outer lips 48-59, inner lips 60-67.
AffectNet writes them as one `x1;y1;x2;y2;...` string.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from contemo.data.synth import features as ft
from contemo.data.synth.canvas import Point, bezier, pose_matrix, transform
from contemo.data.synth.identity import Identity
from contemo.data.synth.render import NO_JITTER, ZOOM, Jitter, head_point, jaw_drop

COUNT = 68


def landmarks(who: Identity, aus: Mapping[str, float], size: int,
              jitter: Jitter = NO_JITTER) -> list[Point]:
    """Return the 68 landmarks (pixels of a `size` image) of `render(who, aus, size, jitter)`."""
    a = ft.Actions({k: v * jitter.intensity for k, v in aus.items()})
    drop = jaw_drop(who, a)
    pts: list[Point] = [head_point(who, drop, math.pi - k * math.pi / 16) for k in range(17)]
    for side, order in ((-1, slice(None, None, -1)), (1, slice(None))):
        inner, mid, outer = ft.brow_points(who, a, side)
        pts += bezier(inner, mid, outer, 5)[order]  # 17-21 outer->inner, 22-26 inner->outer
    tip_y, nostril_y, w = ft.nose_points(who, a)
    top = who.eye_y - 0.005
    pts += [(0.5, top + (tip_y - top) * k / 3) for k in range(4)]
    pts += [(0.5 - 0.75 * w, nostril_y), (0.5 - 0.4 * w, nostril_y + 0.004), (0.5, nostril_y + 0.007),
            (0.5 + 0.4 * w, nostril_y + 0.004), (0.5 + 0.75 * w, nostril_y)]
    for side in (-1, 1):
        upper, lower, _ = ft.eye_shape(who, a, side)
        if side < 0:  # 36 outer corner, 37-38 upper lid, 39 inner corner, 40-41 lower lid
            pts += [upper[8], upper[5], upper[3], upper[0], lower[3], lower[5]]
        else:  # 42 inner corner, 43-44 upper lid, 45 outer corner, 46-47 lower lid
            pts += [upper[0], upper[3], upper[5], upper[8], lower[5], lower[3]]
    lips = ft.lip_curves(who, a)
    uo, lo, ui, li = lips["upper_out"], lips["lower_out"], lips["upper_in"], lips["lower_in"]
    pts += [uo[i] for i in (0, 2, 4, 6, 8, 10, 12)] + [lo[i] for i in (10, 8, 6, 4, 2)]
    pts += [ui[i] for i in (0, 3, 6, 9, 12)] + [li[i] for i in (9, 6, 3)]
    return transform(pose_matrix(size, jitter.dx, jitter.dy, jitter.angle, jitter.scale * ZOOM),
                     pts)


def as_affectnet(points: list[Point]) -> str:
    """Return points as AffectNet's `facial_landmarks` string: x1;y1;x2;y2;... (2 decimals)."""
    return ";".join(f"{x:.2f};{y:.2f}" for x, y in points)
