"""Render one synthetic face photo: studio background, grey top, head, hair, then the features.

`render(identity, aus, size, jitter)` returns a PIL RGB image. Everyone gets the
same plain background, the same grey top and the same frontal framing (as in
FACES); `Jitter` is what differs between two photos of one pose: a small shift,
roll and scale, a little more or less of the expression, and the light.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
from PIL import Image

from contemo.data.synth import features as ft
from contemo.data.synth.canvas import Canvas, Point, bezier, shade
from contemo.data.synth.identity import Identity

BACKGROUND = (202, 203, 205)  # FACES-like plain light grey
TOP = (118, 120, 124)  # the grey top everyone wears
HEAD_Y = 0.43  # head centre; with face_h ~0.3 the chin sits near 0.73
ZOOM = 1.1  # framing: the head fills a little more of the picture than in FACES, for 64 px


@dataclasses.dataclass(frozen=True)
class Jitter:
    """What differs between two photos of the same expression (picture sets a and b)."""

    dx: float = 0.0  # shift, fraction of the image
    dy: float = 0.0
    angle: float = 0.0  # head roll, degrees
    scale: float = 1.0
    intensity: float = 1.0  # expression strength factor
    brightness: float = 1.0
    warmth: float = 0.0  # colour balance: + warmer, - cooler
    light: float = 0.0  # shift of the key light's side

    def row(self) -> dict[str, float]:
        """Return the jitter as a flat dict for the ground-truth CSV."""
        return {f"jitter_{k}": round(v, 5) for k, v in dataclasses.asdict(self).items()}


def sample_jitter(rng: np.random.Generator) -> Jitter:
    """Return a random small photo-to-photo difference."""
    u = rng.uniform
    return Jitter(dx=u(-0.01, 0.01), dy=u(-0.008, 0.008), angle=u(-2.0, 2.0),
                  scale=u(0.98, 1.02), intensity=u(0.85, 1.0), brightness=u(0.98, 1.02),
                  warmth=u(-0.01, 0.01), light=u(-0.2, 0.2))


def head_outline(who: Identity, jaw_drop: float, n: int = 44) -> list[Point]:
    """Return the head's outline: rounded skull, tapering jaw, chin lowered by the open jaw."""
    pts = []
    low_h = who.face_h + 0.008 * who.chin + jaw_drop
    k = 0.34 - 0.16 * who.jaw
    for i in range(n):
        t = 2 * math.pi * i / n
        c, s = math.cos(t), math.sin(t)
        if s < 0:
            pts.append((0.5 + who.face_w * c, HEAD_Y + who.face_h * s))
        else:
            jowl = 0.03 * who.sag * math.exp(-(((s - 0.7) / 0.18) ** 2))
            sq = math.copysign(abs(c) ** (1 - 0.25 * who.jaw), c)
            pts.append((0.5 + who.face_w * sq * (1 - k * s * s + jowl), HEAD_Y + low_h * s))
    return pts


def _hair_cap(who: Identity) -> list[Point]:
    """Return the front hair polygon: over the skull, down the sides, hairline inside."""
    vol, w, h = who.hair_volume, who.face_w, who.face_h
    long = who.hair_style in ("long", "bob")
    side_y = who.eye_y + (0.07 if long else 0.012)
    outer = [(0.5 + (w + vol) * math.cos(t), HEAD_Y + (h + vol) * math.sin(t))
             for t in np.linspace(math.pi, 2 * math.pi, 17)]
    outer = [(outer[0][0], side_y)] + outer + [(outer[-1][0], side_y)]
    hl_y = HEAD_Y - h + who.hairline * h
    inner_x = w - (0.014 if long else 0.004)
    temple = HEAD_Y - 0.05 - (0.05 if who.hair_style == "receding" else 0.0)
    part = 0.04 if who.gender == "f" else 0.0  # a side parting sweeps the fringe
    right = bezier((0.5 + inner_x, temple), (0.5 + 0.6 * w, hl_y + 0.02 - part * 0.5),
                   (0.5 + part, hl_y), 8)
    left = bezier((0.5 + part, hl_y), (0.5 - 0.62 * w, hl_y + 0.015 + part),
                  (0.5 - inner_x, temple), 8)
    inner = [(0.5 + inner_x, side_y)] + right + left[1:] + [(0.5 - inner_x, side_y)]
    return outer + inner


def _hair_back(c: Canvas, who: Identity, color) -> None:
    """Draw hair that falls behind the head: long hair to the shoulders, a bob, a bun."""
    w, h, vol = who.face_w, who.face_h, who.hair_volume
    if who.hair_style in ("long", "bob"):
        bottom = 0.86 if who.hair_style == "long" else HEAD_Y + 0.2
        spread = 0.06 if who.hair_style == "long" else 0.035
        top = [(0.5 + (w + vol + 0.01) * math.cos(t), HEAD_Y + (h + vol + 0.01) * math.sin(t))
               for t in np.linspace(math.pi, 2 * math.pi, 13)]
        c.polygon(top + [(0.5 + w + spread, bottom), (0.5 - w - spread, bottom)], color)
    elif who.hair_style == "updo":
        c.ellipse(0.5, HEAD_Y - h - 0.035, 0.075, 0.06, color)


def _body(c: Canvas, who: Identity) -> None:
    """Draw the neck and the grey top (identical shape for everyone)."""
    neck = shade(who.skin, 0.8)
    nw = who.face_w * 0.55
    c.polygon([(0.5 - nw, HEAD_Y + 0.16), (0.5 + nw, HEAD_Y + 0.16),
               (0.5 + nw * 1.08, 0.93), (0.5 - nw * 1.08, 0.93)], neck)
    top = bezier((-0.05, 0.93), (0.12, 0.845), (0.37, 0.812), 9)
    collar = bezier((0.37, 0.812), (0.5, 0.868), (0.63, 0.812), 9)
    rest = [(1 - x, y) for x, y in top[::-1]]
    c.polygon(top + collar[1:] + rest[1:] + [(1.05, 1.05), (-0.05, 1.05)], TOP)
    c.line(collar, shade(TOP, 0.82), 0.012)


def _ears(c: Canvas, who: Identity) -> None:
    """Draw the ears behind the head outline."""
    for s in (-1, 1):
        x = 0.5 + s * (who.face_w - 0.002)
        c.ellipse(x, who.eye_y + 0.05, 0.024 * who.ear, 0.046 * who.ear, shade(who.skin, 0.9), 14)
        c.ellipse(x + s * 0.006, who.eye_y + 0.05, 0.011 * who.ear, 0.03 * who.ear,
                  shade(who.skin, 0.74), 12)


def render(who: Identity, aus: Mapping[str, float], size: int,
           jitter: Jitter = Jitter()) -> Image.Image:
    """Return a `size` x `size` RGB photo of `who` making the expression `aus` (AU -> [0, 1])."""
    scaled = {k: v * jitter.intensity for k, v in aus.items()}
    a = ft.Actions(scaled)
    c = Canvas(size, BACKGROUND, jitter.dx, jitter.dy, jitter.angle, jitter.scale * ZOOM)
    hair = who.hair
    _hair_back(c, who, shade(hair, 0.85))
    _body(c, who)
    jaw_drop = who.mouth_w * (0.80 * a["AU26"] + 0.16 * a["AU25"])
    head = head_outline(who, jaw_drop)
    _ears(c, who)
    c.polygon(head, who.skin)

    light = max(-1.0, min(1.0, who.light + jitter.light))
    layer = c.soft_layer()
    layer.polygon(head, 150)  # rim shadow: the head turns away from the light at its edges
    lit = [(0.5 + 0.03 * light + (x - 0.5) * 0.84, HEAD_Y - 0.02 + (y - HEAD_Y) * 0.86)
           for x, y in head]
    layer.polygon(lit, 0)
    ft.soft_shading(layer, who, a)
    if who.stubble > 0:
        lower = [(x, y) for x, y in head if y > who.nose_y + 0.01]
        layer.polygon(lower + [(0.5 + who.mouth_w * 1.3, who.nose_y + 0.02),
                               (0.5 - who.mouth_w * 1.3, who.nose_y + 0.02)],
                      int(140 * who.stubble))
    c.apply(layer, shade(who.skin, 0.72), radius=0.03, clip=head)

    c.polygon(_hair_cap(who), hair)
    ft.draw_frown_lines(c, who, a)
    ft.draw_folds(c, who, a)
    for s in (-1, 1):
        ft.draw_eye(c, who, a, s)
        ft.draw_eye_wrinkles(c, who, a, s)
        ft.draw_brow(c, who, a, s)
    ft.draw_nose(c, who, a)
    ft.draw_mouth(c, who, a)
    return c.finish(jitter.brightness, jitter.warmth)

