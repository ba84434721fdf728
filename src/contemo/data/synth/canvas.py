"""The drawing surface: unit-square coordinates, a small pose transform, supersampled PIL drawing.

Every shape is given in the unit square (x right, y down, face centred at x = 0.5)
and mapped through one similarity transform (the photo's pose jitter: shift,
roll, scale), so the whole scene moves together. Drawing happens at
`SUPERSAMPLE` times the output size and is box-filtered down: anti-aliasing
that PIL's polygon fill lacks, at a fraction of the cost of numpy rasterising.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

Point = tuple[float, float]
Color = tuple[int, int, int]

SUPERSAMPLE = 2


def shade(color: Sequence[float], factor: float) -> Color:
    """Return `color` multiplied by `factor` (darker below 1, lighter above), clipped to 0-255."""
    r, g, b = (int(max(0, min(255, round(c * factor)))) for c in color)
    return (r, g, b)


def mix(a: Sequence[float], b: Sequence[float], t: float) -> Color:
    """Return the colour t of the way from `a` to `b`."""
    r, g, bb = (int(max(0, min(255, round(x + t * (y - x))))) for x, y in zip(a, b))
    return (r, g, bb)


def bezier(p0: Point, p1: Point, p2: Point, n: int = 9) -> list[Point]:
    """Return `n` points of the quadratic curve from p0 to p2 that passes through p1 at its middle."""
    cx, cy = 2 * p1[0] - (p0[0] + p2[0]) / 2, 2 * p1[1] - (p0[1] + p2[1]) / 2
    out = []
    for i in range(n):
        t = i / (n - 1)
        u = 1 - t
        out.append((u * u * p0[0] + 2 * u * t * cx + t * t * p2[0],
                    u * u * p0[1] + 2 * u * t * cy + t * t * p2[1]))
    return out


def ellipse_points(cx: float, cy: float, rx: float, ry: float, n: int = 20) -> list[Point]:
    """Return a closed polygon of `n` points approximating an axis-aligned ellipse."""
    return [(cx + rx * math.cos(2 * math.pi * i / n), cy + ry * math.sin(2 * math.pi * i / n))
            for i in range(n)]


class Canvas:
    """A supersampled RGB image with a pose transform; methods draw unit-square shapes."""

    def __init__(self, size: int, background: Color, dx: float = 0.0, dy: float = 0.0,
                 angle: float = 0.0, scale: float = 1.0):
        self.size = size
        self.px = size * SUPERSAMPLE
        self.image = Image.new("RGB", (self.px, self.px), background)
        self.draw = ImageDraw.Draw(self.image)
        rad = math.radians(angle)
        a, b = scale * math.cos(rad) * self.px, scale * math.sin(rad) * self.px
        # Rotate and scale about the image centre, then shift.
        cx = cy = 0.5
        self._m = (a, -b, (0.5 + dx) * self.px - a * cx + b * cy,
                   b, a, (0.5 + dy) * self.px - b * cx - a * cy)
        self.unit = scale * self.px  # pixels per unit length

    def map(self, pts: Sequence[Point]) -> list[Point]:
        """Return unit-square points in canvas pixels."""
        a, b, c, d, e, f = self._m
        return [(a * x + b * y + c, d * x + e * y + f) for x, y in pts]

    def polygon(self, pts: Sequence[Point], fill: Color) -> None:
        """Fill a polygon."""
        self.draw.polygon(self.map(pts), fill=fill)

    def line(self, pts: Sequence[Point], fill: Color, width: float) -> None:
        """Stroke a polyline `width` units wide (at least one canvas pixel)."""
        w = max(1, round(width * self.unit))
        self.draw.line(self.map(pts), fill=fill, width=w, joint="curve" if w > 2 else None)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: Color, n: int = 20) -> None:
        """Fill an ellipse (as a polygon, so the pose roll applies to it)."""
        self.polygon(ellipse_points(cx, cy, rx, ry, n), fill)

    def masked(self, outline: Sequence[Point], base: Color, paint) -> None:
        """Paint inside `outline` only: `paint(draw, to_px)` draws on a patch clipped to it.

        Used for eyes (iris under the lids) and the open mouth (teeth behind lips):
        the patch is only the outline's bounding box, so clipping costs little.
        """
        pts = self.map(outline)
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        x0, y0 = max(0, int(min(xs)) - 1), max(0, int(min(ys)) - 1)
        x1, y1 = min(self.px, int(max(xs)) + 2), min(self.px, int(max(ys)) + 2)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        patch = Image.new("RGB", (x1 - x0, y1 - y0), base)
        mask = Image.new("L", patch.size, 0)
        ImageDraw.Draw(mask).polygon([(x - x0, y - y0) for x, y in pts], fill=255)
        draw = ImageDraw.Draw(patch)

        def to_px(unit_pts: Sequence[Point]) -> list[Point]:
            return [(x - x0, y - y0) for x, y in self.map(unit_pts)]

        paint(draw, to_px, self.unit)
        self.image.paste(patch, (x0, y0), mask)

    def soft_layer(self) -> SoftLayer:
        """Return an empty shading layer (a quarter-resolution mask drawn in unit coordinates)."""
        return SoftLayer(self, max(8, self.px // 4))

    def apply(self, layer: SoftLayer, color: Color, radius: float,
              clip: Sequence[Point] | None = None) -> None:
        """Blend `color` into the image where `layer` is painted, blurred by `radius` units.

        `clip` (a polygon, e.g. the head) keeps the blurred shading from spilling
        onto the background: shading is soft inside, the outline stays crisp.
        """
        from PIL import ImageChops, ImageFilter

        small = layer.image.filter(ImageFilter.BoxBlur(max(0.5, radius * layer.px)))
        if clip is None:
            mask = small.resize((self.px, self.px), Image.Resampling.BILINEAR)
            self.image.paste(color, (0, 0, self.px, self.px), mask)
            return
        # Only the clip polygon's box is scaled up, masked and painted: most of the
        # picture (background, top) never sees the shading.
        pts = self.map(clip)
        k = self.px // layer.px
        x0 = max(0, int(min(p[0] for p in pts)) // k * k)
        y0 = max(0, int(min(p[1] for p in pts)) // k * k)
        x1 = min(self.px, -(-int(max(p[0] for p in pts) + 1) // k) * k)
        y1 = min(self.px, -(-int(max(p[1] for p in pts) + 1) // k) * k)
        if x1 <= x0 or y1 <= y0:
            return
        box = (x0 // k, y0 // k, x1 // k, y1 // k)
        mask = small.resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR, box=box)
        keep = Image.new("L", mask.size, 0)
        ImageDraw.Draw(keep).polygon([(x - x0, y - y0) for x, y in pts], fill=255)
        mask = ImageChops.multiply(mask, keep)
        self.image.paste(color, (x0, y0, x1, y1), mask)

    def finish(self, brightness: float = 1.0, warmth: float = 0.0) -> Image.Image:
        """Return the output-size image, downsampled and with a lighting LUT applied."""
        out = self.image.reduce(SUPERSAMPLE) if SUPERSAMPLE > 1 else self.image
        if brightness != 1.0 or warmth != 0.0:
            gains = (brightness * (1 + warmth), brightness, brightness * (1 - warmth))
            ramp = np.arange(256, dtype=np.float64)
            lut = np.concatenate([np.clip(ramp * g, 0, 255) for g in gains])
            out = out.point(np.round(lut).astype(np.uint8).tolist())
        return out


class SoftLayer:
    """A low-resolution grey mask for soft shading: 0 = untouched, 255 = full shading colour."""

    def __init__(self, canvas: Canvas, px: int):
        self.px = px
        self.image = Image.new("L", (px, px), 0)
        self.draw = ImageDraw.Draw(self.image)
        k = px / canvas.px
        self._map = canvas.map
        self._k = k
        self.unit = canvas.unit * k

    def polygon(self, pts: Sequence[Point], level: int) -> None:
        """Paint a polygon at shading strength `level` (0-255)."""
        k = self._k
        self.draw.polygon([(x * k, y * k) for x, y in self._map(pts)], fill=int(level))

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, level: int) -> None:
        """Paint an ellipse at shading strength `level`."""
        self.polygon(ellipse_points(cx, cy, rx, ry, 16), level)

    def line(self, pts: Sequence[Point], level: int, width: float) -> None:
        """Paint a stroke `width` units wide at shading strength `level`."""
        k = self._k
        w = max(1, round(width * self.unit))
        self.draw.line([(x * k, y * k) for x, y in self._map(pts)], fill=int(level), width=w)
