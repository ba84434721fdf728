"""Who a synthetic person is: face shape, colouring, hair, features and age cues, sampled per seed.

An `Identity` is drawn from `numpy.random.default_rng([seed, stream, index])`, so
person 7 of seed 0 is the same person whatever else is generated, and every one
of their 12 FACES images shares it (only expression and photo jitter change).
Lengths are fractions of the image side; the face is centred at x = 0.5.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

AGE_GROUPS: tuple[str, ...] = ("y", "m", "o")  # FACES letters: young, middle-aged, old
GENDERS: tuple[str, ...] = ("m", "f")
FACES_AGE_COUNTS: dict[str, int] = {"y": 58, "m": 56, "o": 57}  # FACES: 171 people (Ebner 2010)

AGE_RANGES = {"y": (19, 31), "m": (39, 55), "o": (69, 80)}  # FACES' age ranges, years

# Skin tones from light to dark (sRGB), interpolated; FACES is mostly light-skinned,
# the sampler still covers the range so a model trained on it sees variety.
_SKIN = np.array([(244, 222, 206), (232, 198, 176), (218, 176, 148),
                  (190, 140, 108), (142, 98, 72), (100, 70, 52)], dtype=np.float64)
_HAIR = np.array([(28, 22, 20), (58, 38, 26), (96, 64, 40), (140, 100, 62),
                  (196, 160, 104), (128, 60, 30)], dtype=np.float64)
_IRIS = np.array([(92, 58, 34), (60, 40, 26), (84, 120, 150), (96, 118, 80),
                  (120, 100, 62), (110, 120, 126)], dtype=np.float64)
_GREY = np.array((206, 204, 200), dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class Identity:
    """One synthetic person: every field is fixed for all of that person's images."""

    age_group: str  # y / m / o (FACES letters)
    gender: str  # m / f
    age: int  # years, inside the FACES range of the age group
    face_w: float  # half width of the head
    face_h: float  # half height of the head
    jaw: float  # 0 round ... 1 square lower face
    chin: float  # how far the chin juts below the jaw line
    skin: tuple[int, int, int]
    lip: tuple[int, int, int]
    hair: tuple[int, int, int]
    brow_color: tuple[int, int, int]
    iris: tuple[int, int, int]
    hair_style: str
    hairline: float  # how far below the top of the head the hairline sits (fraction of face_h)
    hair_volume: float  # how far hair stands off the skull
    eye_y: float
    eye_dx: float  # centre of each eye from the midline
    eye_w: float  # half width of an eye
    eye_open: float  # upper-lid height above the eye's centre line at rest
    iris_r: float
    brow_gap: float  # brow height above the eye centre
    brow_thick: float
    brow_arch: float
    nose_y: float  # nose tip
    nose_w: float
    mouth_y: float
    mouth_w: float  # half width of the mouth
    lip_upper: float
    lip_lower: float
    ear: float
    wrinkles: float  # 0 young smooth ... 1 deeply lined
    sag: float  # lower-face and lid sag with age
    stubble: float  # men: beard shadow strength
    lash: float  # darkness of the upper lash line (women a little darker)
    light: float  # -1 light from the viewer's left ... 1 from the right (studio, small)

    def row(self) -> dict[str, object]:
        """Return the identity as a flat dict (colours as #rrggbb) for a ground-truth CSV."""
        out: dict[str, object] = {}
        for key, value in dataclasses.asdict(self).items():
            if isinstance(value, tuple):
                value = "#" + "".join(f"{int(c):02x}" for c in value)
            elif isinstance(value, float):
                value = round(value, 5)
            out[key] = value
        return out


def _rgb(values: np.ndarray) -> tuple[int, int, int]:
    """Return a colour array clipped to 0-255 as an int triple."""
    r, g, b = (round(float(c)) for c in np.clip(values, 0, 255))
    return (r, g, b)


def _palette(palette: np.ndarray, t: float) -> np.ndarray:
    """Return the colour at position t in [0, 1] along a palette (linear interpolation)."""
    x = t * (len(palette) - 1)
    i = min(int(x), len(palette) - 2)
    return palette[i] + (x - i) * (palette[i + 1] - palette[i])


def sample_identity(rng: np.random.Generator, age_group: str, gender: str) -> Identity:
    """Return a random person of the given FACES age group and gender, drawn from `rng`."""
    if age_group not in AGE_GROUPS or gender not in GENDERS:
        raise ValueError(f"age group {age_group!r} / gender {gender!r} not in {AGE_GROUPS}/{GENDERS}")
    male = gender == "m"
    u = rng.uniform
    lo, hi = AGE_RANGES[age_group]
    age = int(rng.integers(lo, hi + 1))
    years = (age - 19) / 61.0  # 0 at 19 ... 1 at 80

    skin = _palette(_SKIN, float(rng.beta(1.4, 3.0)))
    if age_group == "o":
        skin = skin * 0.96 + 4.0  # a little less saturated
    lip_base = skin * np.array([0.86, 0.62, 0.62]) + np.array([14, 0, 4])
    if not male:
        lip_base = lip_base * np.array([1.02, 0.86, 0.9]) + np.array([12, 0, 6])
    hair = _palette(_HAIR, float(rng.uniform()) ** 1.3)
    grey = {"y": 0.0, "m": u(0.0, 0.45), "o": u(0.55, 1.0)}[age_group]
    hair_now = hair + grey * (_GREY - hair)
    brow = (hair + 0.6 * grey * (_GREY - hair)) * 0.85
    # Brows stay clearly darker than the skin (as they are in photos), whatever the hair.
    brow = brow * min(1.0, 0.55 * float(skin.mean()) / max(1.0, float(brow.mean())))
    if male:
        style = "receding" if rng.uniform() < {"y": 0.05, "m": 0.3, "o": 0.55}[age_group] \
            else "short"
    else:
        style = str(rng.choice(("long", "long", "bob", "updo", "short")))

    face_w = u(0.222, 0.242) + (0.010 if male else 0.0)
    return Identity(
        age_group=age_group, gender=gender, age=age,
        face_w=face_w, face_h=u(0.292, 0.31) + (0.008 if male else 0.0),
        jaw=float(np.clip(u(0.15, 0.55) + (0.3 if male else 0.0), 0, 1)),
        chin=u(0.0, 1.0),
        skin=_rgb(skin), lip=_rgb(lip_base), hair=_rgb(hair_now), brow_color=_rgb(brow),
        iris=_rgb(_IRIS[int(rng.integers(len(_IRIS)))] * u(0.85, 1.1)),
        hair_style=style,
        hairline=u(0.06, 0.14) if style == "receding" else u(0.26, 0.34),
        hair_volume=u(0.012, 0.03) if style != "receding" else u(0.006, 0.014),
        eye_y=u(0.405, 0.42), eye_dx=u(0.092, 0.102), eye_w=u(0.047, 0.054),
        eye_open=u(0.019, 0.023) - 0.003 * years, iris_r=u(0.0175, 0.0195),
        brow_gap=u(0.050, 0.058) - (0.005 if male else 0.0),
        brow_thick=u(0.014, 0.018) + (0.005 if male else 0.0) - 0.002 * years,
        brow_arch=u(0.2, 1.0) * (0.6 if male else 1.0),
        nose_y=u(0.525, 0.545) + 0.006 * years, nose_w=u(0.036, 0.044) + (0.004 if male else 0),
        mouth_y=u(0.618, 0.632) + 0.006 * years, mouth_w=u(0.080, 0.090),
        lip_upper=(u(0.013, 0.017) + (0.0 if male else 0.003)) * (1 - 0.3 * years),
        lip_lower=(u(0.018, 0.023) + (0.0 if male else 0.004)) * (1 - 0.3 * years),
        ear=u(0.8, 1.15),
        wrinkles=float(np.clip(years ** 1.3 + u(-0.1, 0.1), 0, 1)),
        sag=float(np.clip(years ** 1.5 + u(-0.08, 0.08), 0, 1)),
        stubble=u(0.0, 0.35) if male and rng.uniform() < 0.5 else 0.0,
        lash=u(0.6, 0.85) if male else u(0.85, 1.0),
        light=u(-0.4, 0.4),
    )


def faces_roster(people: int, seed: int) -> list[tuple[str, str]]:
    """Return (age group, gender) for persons 1..people, spread in FACES' proportions.

    Age groups get FACES' 58:56:57 shares (largest remainder, so 171 people give
    exactly 58/56/57); men and women alternate through the groups. The order of
    people is shuffled by `seed` so ids do not reveal the group.
    """
    total = sum(FACES_AGE_COUNTS.values())
    shares = {g: people * n / total for g, n in FACES_AGE_COUNTS.items()}
    counts = {g: math.floor(s) for g, s in shares.items()}
    left = people - sum(counts.values())
    for g in sorted(shares, key=lambda g: (counts[g] - shares[g], AGE_GROUPS.index(g)))[:left]:
        counts[g] += 1
    groups = [g for g in AGE_GROUPS for _ in range(counts[g])]
    roster = [(g, GENDERS[i % 2]) for i, g in enumerate(groups)]
    order = np.random.default_rng([seed, 0xFACE5]).permutation(len(roster))
    return [roster[i] for i in order]
