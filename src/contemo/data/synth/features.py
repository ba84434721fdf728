"""The expressive parts of a face: brows, eyes, nose, mouth and the wrinkles the AUs make.

Each function turns identity geometry plus AU intensities into shapes on a
`Canvas`. Amplitudes are caricatured (moves of several pixels at 64 px) so
that every emotion reads at the GAN's training size. `side` is -1 for the
viewer's left half (the subject's right, where R12/R14 act) and +1 for the other.
"""

from __future__ import annotations

from collections.abc import Mapping

from contemo.data.synth.canvas import Canvas, Color, Point, SoftLayer, bezier, mix, shade
from contemo.data.synth.identity import Identity

RESPONSE_GAMMA = 0.6  # rendered amplitude = intensity ** 0.6: trace (A) actions stay visible

SCLERA: Color = (238, 234, 228)
MOUTH_INSIDE: Color = (70, 28, 30)
TEETH: Color = (236, 230, 216)
LASH: Color = (32, 22, 20)


class Actions:
    """AU intensities as rendered amplitudes; unilateral R12/R14 add on the subject's right."""

    def __init__(self, aus: Mapping[str, float]):
        self._a = {k: max(0.0, min(1.0, float(v))) ** RESPONSE_GAMMA for k, v in aus.items()}

    def __getitem__(self, name: str) -> float:
        return self._a.get(name, 0.0)

    def side(self, number: int, side: int) -> float:
        """Return AU `number` on one side: bilateral plus the unilateral R variant on side -1."""
        extra = self._a.get(f"R{number}", 0.0) if side < 0 else 0.0
        return min(1.0, self._a.get(f"AU{number}", 0.0) + extra)


def brow_points(who: Identity, a: Actions, side: int) -> tuple[Point, Point, Point]:
    """Return the (inner, middle, outer) points of one brow's centre line after AU1/2/4/9."""
    s = side
    base = who.eye_y - who.brow_gap
    a1, a2, a4, a9 = a["AU1"], a["AU2"], a["AU4"], a["AU9"]
    # AU4 pulls the brows down and together; with AU1 the inner ends still rise (sad/fear).
    inner_dy = -0.045 * a1 + 0.036 * a4 * (1 - 0.75 * a1) + 0.012 * a9
    mid_dy = -0.026 * a1 - 0.028 * a2 + 0.022 * a4 + 0.006 * a9
    outer_dy = -0.040 * a2 + 0.012 * a4 + 0.016 * a1 * (1 - a2)
    pull = 0.016 * a4 + 0.004 * a9
    inner = (0.5 + s * (who.eye_dx - who.eye_w * 0.95 - pull), base + 0.004 + inner_dy)
    mid = (0.5 + s * (who.eye_dx + who.eye_w * 0.2), base - 0.010 * (0.4 + who.brow_arch) + mid_dy)
    outer = (0.5 + s * (who.eye_dx + who.eye_w * 1.18), base + 0.008 + outer_dy)
    return inner, mid, outer


def draw_brow(c: Canvas, who: Identity, a: Actions, side: int) -> None:
    """Draw one brow: a band thick at the inner end, thin at the tail."""
    inner, mid, outer = brow_points(who, a, side)
    centre = bezier(inner, mid, outer, 9)
    t = who.brow_thick * (1 + 0.15 * a["AU4"])
    top, bottom = [], []
    for i, (x, y) in enumerate(centre):
        w = t * (1.0 - 0.55 * i / (len(centre) - 1))
        top.append((x, y - w * 0.55))
        bottom.append((x, y + w * 0.45))
    c.polygon(top + bottom[::-1], who.brow_color)


def eye_shape(who: Identity, a: Actions, side: int) -> tuple[list[Point], list[Point], Point]:
    """Return (upper lid curve, lower lid curve, eye centre), both curves inner -> outer corner."""
    s = side
    ex, ey = 0.5 + s * who.eye_dx, who.eye_y
    a5, a6, a7, a4, a9 = a["AU5"], a["AU6"], a["AU7"], a["AU4"], a["AU9"]
    up = who.eye_open * (1 + 1.25 * a5) * (1 - 0.45 * a6 - 0.15 * a7 - 0.3 * a4 * (1 - a5)
                                            - 0.25 * a9) * (1 - 0.12 * who.sag)
    low = who.eye_open * 0.62 * (1 - 0.65 * a6 - 0.55 * a7 - 0.35 * a9) * (1 + 0.3 * a5)
    inner = (ex - s * who.eye_w, ey + 0.003)
    outer = (ex + s * who.eye_w, ey - 0.001 + 0.003 * who.sag)
    upper = bezier(inner, (ex - s * 0.12 * who.eye_w, ey - up), outer, 9)
    lower = bezier(inner, (ex + s * 0.1 * who.eye_w, ey + low), outer, 9)
    return upper, lower, (ex, ey)


def draw_eye(c: Canvas, who: Identity, a: Actions, side: int) -> None:
    """Draw one eye: sclera, iris and pupil clipped to the lids, lash line, crease."""
    upper, lower, (ex, ey) = eye_shape(who, a, side)
    r = who.iris_r

    def paint(draw, to_px, unit):
        def disc(cx, cy, rr, col):
            (x0, y0), (x1, y1) = to_px([(cx - rr, cy - rr), (cx + rr, cy + rr)])
            draw.ellipse((x0, y0, x1, y1), fill=col)

        disc(ex, ey + 0.001, r, who.iris)
        disc(ex, ey + 0.001, r * 0.78, shade(who.iris, 0.8))
        disc(ex, ey + 0.001, r * 0.42, (14, 10, 10))
        disc(ex - 0.3 * r, ey - 0.3 * r, r * 0.2, (250, 250, 250))

    c.masked(upper + lower[::-1], SCLERA, paint)
    crease = [(x, y - 0.008 - 0.5 * who.eye_open * (1 - a["AU5"])) for x, y in upper[1:-1]]
    c.line(crease, shade(who.skin, 0.78), 0.0035)
    c.line(upper, mix(who.skin, LASH, who.lash), 0.0055)
    c.line(lower, shade(who.skin, 0.72), 0.0025)


def draw_eye_wrinkles(c: Canvas, who: Identity, a: Actions, side: int) -> None:
    """Draw crow's feet (AU6, age) and the under-eye fold (AU6/AU7, age)."""
    s = side
    _, lower, (ex, ey) = eye_shape(who, a, side)
    crow = max(0.9 * a["AU6"], 0.55 * who.wrinkles)
    if crow > 0.05:
        col = shade(who.skin, 1 - 0.28 * crow)
        x0 = ex + s * (who.eye_w + 0.006)
        for k in (-1, 0, 1):
            c.line([(x0, ey + 0.006 * k), (x0 + s * 0.026, ey + 0.014 * k - 0.002)], col, 0.003)
    fold = max(0.8 * a["AU6"], 0.5 * a["AU7"], 0.6 * who.sag)
    if fold > 0.05:
        under = [(x, y + 0.012 + 0.004 * who.sag) for x, y in lower[1:-1]]
        c.line(under, shade(who.skin, 1 - 0.22 * fold), 0.003)


def nose_points(who: Identity, a: Actions) -> tuple[float, float, float]:
    """Return (tip y, nostril y, half width) after AU9 (nose wrinkler) and AU10."""
    lift = 0.014 * a["AU9"] + 0.006 * a["AU10"]
    return who.nose_y - 0.5 * lift, who.nose_y + 0.007 - lift, who.nose_w * (1 + 0.2 * a["AU9"])


def draw_nose(c: Canvas, who: Identity, a: Actions) -> None:
    """Draw the nose: alae, nostrils, the shadow under the tip and AU9's wrinkles."""
    tip_y, nostril_y, w = nose_points(who, a)
    dark = shade(who.skin, 0.7)
    for s in (-1, 1):
        c.line(bezier((0.5 + s * 0.7 * w, tip_y - 0.024), (0.5 + s * 1.02 * w, tip_y),
                      (0.5 + s * 0.62 * w, nostril_y + 0.006), 7), dark, 0.0045)
        c.ellipse(0.5 + s * 0.42 * w, nostril_y, 0.010, 0.0055, shade(who.skin, 0.42), 12)
    c.line(bezier((0.5 - 0.3 * w, nostril_y + 0.004), (0.5, nostril_y + 0.009),
                  (0.5 + 0.3 * w, nostril_y + 0.004), 5), shade(who.skin, 0.8), 0.004)
    a9 = a["AU9"]
    if a9 > 0.05:
        col = shade(who.skin, 1 - 0.38 * a9)
        y0 = who.eye_y + 0.004
        for k in range(3):
            y = y0 + 0.011 * k
            half = 0.018 + 0.003 * k
            c.line(bezier((0.5 - half, y + 0.003), (0.5, y - 0.002), (0.5 + half, y + 0.003), 5),
                   col, 0.004)
        for s in (-1, 1):  # "bunny lines" from the inner eye corners down the nose
            x = 0.5 + s * (who.eye_dx - who.eye_w - 0.004)
            c.line([(x, who.eye_y + 0.006), (x - s * 0.010, who.eye_y + 0.034)], col, 0.004)


def draw_frown_lines(c: Canvas, who: Identity, a: Actions) -> None:
    """Draw forehead lines (AU1 centre, AU2 full width, age) and AU4's vertical glabella lines."""
    a1, a2, a4 = a["AU1"], a["AU2"], a["AU4"]
    top_brow = who.eye_y - who.brow_gap - 0.03
    strength = max(0.9 * a1, 0.9 * a2, 0.35 * who.wrinkles)
    if strength > 0.05:
        col = shade(who.skin, 1 - 0.24 * strength)
        half = 0.035 + 0.075 * max(a2, 0.5 * who.wrinkles)
        for k in range(3):
            y = top_brow - 0.02 - 0.016 * k - 0.03 * max(a1, a2)
            c.line(bezier((0.5 - half, y + 0.004), (0.5, y - 0.004 * a1), (0.5 + half, y + 0.004),
                          7), col, 0.0035)
    glabella = max(a4, 0.3 * who.wrinkles * (a4 > 0))
    if glabella > 0.05:
        col = shade(who.skin, 1 - 0.35 * glabella)
        y = who.eye_y - who.brow_gap + 0.036 * a4 * (1 - 0.75 * a1)
        for s in (-1, 1):
            c.line([(0.5 + s * 0.010, y - 0.020), (0.5 + s * 0.007, y + 0.012)], col, 0.004)


def mouth_corners(who: Identity, a: Actions) -> dict[int, Point]:
    """Return the two lip corners after AU12/14/15/16/20/23 (and unilateral R12/R14)."""
    w = who.mouth_w
    corners = {}
    for s in (-1, 1):
        a12, a14 = a.side(12, s), a.side(14, s)
        dx = w * (1 + 0.34 * a12 + 0.32 * a["AU20"] - 0.10 * a14 - 0.16 * a["AU23"]
                  + 0.06 * a["AU16"])
        dy = w * (-0.78 * a12 - 0.18 * a14 + 0.70 * a["AU15"] + 0.12 * a["AU20"]
                  + 0.05 * a["AU16"]) + 0.004 * who.sag
        corners[s] = (0.5 + s * dx, who.mouth_y + dy)
    return corners


def lip_curves(who: Identity, a: Actions) -> dict[str, list[Point]]:
    """Return the mouth's inner and outer lip contours, left corner to right, as point lists."""
    w = who.mouth_w
    corners = mouth_corners(who, a)
    a12 = 0.5 * (a.side(12, -1) + a.side(12, 1))
    raise_up = w * (0.22 * a["AU10"] + 0.30 * a["AU9"] + 0.05 * a12)
    gap = w * (0.80 * a["AU26"] + 0.16 * a["AU25"] + 0.55 * a12 + 0.34 * a["AU16"]
               + 0.10 * a["AU20"])
    thin = max(0.25, 1 - 0.6 * a["AU23"] - 0.3 * a["AU20"] - 0.15 * a12)
    square = 2 + 2.5 * a["AU16"] + 1.5 * a["AU20"] + 1.0 * a["AU9"]
    (lx, ly), (rx, ry) = corners[-1], corners[1]
    n = 13
    out: dict[str, list[Point]] = {k: [] for k in ("upper_out", "upper_in", "lower_in", "lower_out")}
    for i in range(n):
        u = -1 + 2 * i / (n - 1)
        x = lx + (rx - lx) * (u + 1) / 2
        base = ly + (ry - ly) * (u + 1) / 2
        mid = (ly + ry) / 2
        bulge = 1 - abs(u) ** 2
        y_ui = base + (who.mouth_y - raise_up - mid) * (1 - abs(u) ** 2.2)
        y_li = base + (who.mouth_y - raise_up + gap - mid) * (1 - abs(u) ** square)
        bow = 0.004 * max(0.0, 1 - abs(abs(u) - 0.22) / 0.22) - 0.002 * (abs(u) < 0.08)
        out["upper_in"].append((x, y_ui))
        out["lower_in"].append((x, y_li))
        out["upper_out"].append((x, y_ui - who.lip_upper * thin * (0.3 + 0.7 * bulge) - bow))
        out["lower_out"].append((x, y_li + who.lip_lower * thin * (0.25 + 0.75 * bulge)))
    return out


def draw_mouth(c: Canvas, who: Identity, a: Actions) -> None:
    """Draw lips, the open mouth (teeth clipped to it) and AU14 dimples."""
    lips = lip_curves(who, a)
    ui, li = lips["upper_in"], lips["lower_in"]
    c.polygon(lips["upper_out"] + ui[::-1], who.lip)
    c.polygon(lips["lower_out"][::-1] + li, shade(who.lip, 1.06))
    opening = max(li[k][1] - ui[k][1] for k in range(len(ui)))
    if opening > 0.004:
        lower_teeth = 0.010 * max(a["AU16"], a["AU20"], 0.6 * a["AU26"])

        def paint(draw, to_px, unit):
            band = [(x, y + 0.020) for x, y in ui[::-1]]
            draw.polygon(to_px(ui + band), fill=TEETH)
            if lower_teeth > 0.001:
                draw.polygon(to_px(li + [(x, y - lower_teeth) for x, y in li[::-1]]),
                             fill=shade(TEETH, 0.92))

        c.masked(ui + li[::-1], MOUTH_INSIDE, paint)
    c.line(ui, shade(who.lip, 0.55), 0.004)
    for s in (-1, 1):
        a14 = a.side(14, s)
        if a14 > 0.05:
            x, y = mouth_corners(who, a)[s]
            c.line(bezier((x + s * 0.006, y - 0.008), (x + s * 0.012, y), (x + s * 0.007, y + 0.009),
                          5), shade(who.skin, 1 - 0.35 * a14), 0.004)


def fold_strength(who: Identity, a: Actions, side: int) -> float:
    """Return how deep the nasolabial fold on `side` is (age, smile, disgust, stretch)."""
    return min(1.0, 0.15 + 0.45 * who.wrinkles + 0.85 * a.side(12, side) + 0.7 * a["AU9"]
               + 0.5 * a["AU10"] + 0.35 * a["AU20"])


def draw_folds(c: Canvas, who: Identity, a: Actions) -> None:
    """Draw the nasolabial folds and, with age or AU15, the marionette lines."""
    tip_y, _, w = nose_points(who, a)
    corners = mouth_corners(who, a)
    for s in (-1, 1):
        k = fold_strength(who, a, s)
        x, y = corners[s]
        start = (0.5 + s * (w + 0.010), tip_y - 0.012)
        end = (x + s * 0.020, y + 0.012)
        mid = ((start[0] + end[0]) / 2 + s * 0.014, (start[1] + end[1]) / 2)
        c.line(bezier(start, mid, end, 7), shade(who.skin, 1 - 0.3 * k), 0.0035 + 0.003 * k)
        m = max(0.6 * who.wrinkles * who.sag, 0.3 * a["AU15"])
        if m > 0.05:
            c.line([(x + s * 0.006, y + 0.008), (x + s * 0.014, y + 0.05)],
                   shade(who.skin, 1 - 0.25 * m), 0.003)


def soft_shading(layer: SoftLayer, who: Identity, a: Actions) -> None:
    """Paint the shadows that a blur should soften: sockets, nose side, under lips, AU6 cheeks."""
    for s in (-1, 1):
        layer.ellipse(0.5 + s * who.eye_dx, who.eye_y - 0.004, who.eye_w * 1.35, 0.032, 70)
        layer.line([(0.5 + s * 0.018, who.eye_y + 0.01), (0.5 + s * (who.nose_w + 0.004),
                    who.nose_y - 0.01)], 60 if s * who.light < 0 else 30, 0.012)
        a6 = a["AU6"]
        if a6 > 0.05:  # the raised cheek casts a crescent under its bulge
            cy = who.eye_y + 0.085 - 0.01 * a6
            layer.line(bezier((0.5 + s * (who.eye_dx - 0.04), cy + 0.03),
                              (0.5 + s * (who.eye_dx + 0.01), cy + 0.045),
                              (0.5 + s * (who.eye_dx + 0.05), cy + 0.015), 7), int(90 * a6), 0.012)
    layer.ellipse(0.5, who.nose_y + 0.012, who.nose_w * 0.9, 0.008, 70)
    lips = lip_curves(who, a)
    y = max(p[1] for p in lips["lower_out"]) + 0.014
    layer.ellipse(0.5, y, who.mouth_w * 0.6, 0.009, 60)
