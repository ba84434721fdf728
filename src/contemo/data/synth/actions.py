"""Facial action units (FACS) and the EMFACS prototype of every emotion, as AU intensities.

An expression is a dict AU name -> intensity in [0, 1]. Bilateral AUs are named
``AU<n>``; a unilateral one is ``R<n>`` (the subject's right side, which is the
viewer's left in a frontal photo). FACS intensity letters map to numbers as
A trace 0.2, B slight 0.4, C marked 0.6, D severe 0.8, E maximum 1.0; an AU the
prototype gives without a letter is taken at 1.0.

The prototypes are the EMFACS ones (Friesen & Ekman, 1983) as listed in the
contemo issue; keys are contemo.emotions names (the 6 training emotions plus
AffectNet's surprise and contempt), so nothing here restates the emotion list.
"""

from __future__ import annotations

from collections.abc import Mapping

from contemo.emotions import VA_ANCHORS, canonical_emotion

# AU -> what the renderer moves for it (docs and ground-truth column order).
ACTION_UNITS: dict[str, str] = {
    "AU1": "inner brow raiser",
    "AU2": "outer brow raiser",
    "AU4": "brow lowerer",
    "AU5": "upper lid raiser",
    "AU6": "cheek raiser",
    "AU7": "lid tightener",
    "AU9": "nose wrinkler",
    "AU10": "upper lip raiser",
    "AU12": "lip corner puller",
    "AU14": "dimpler",
    "AU15": "lip corner depressor",
    "AU16": "lower lip depressor",
    "AU20": "lip stretcher",
    "AU23": "lip tightener",
    "AU25": "lips part",
    "AU26": "jaw drop",
    "R12": "lip corner puller, subject's right side only",
    "R14": "dimpler, subject's right side only",
}
AU_NAMES: tuple[str, ...] = tuple(ACTION_UNITS)

FACS_LETTERS: dict[str, float] = {"A": 0.2, "B": 0.4, "C": 0.6, "D": 0.8, "E": 1.0}

# EMFACS prototypes in FACS notation ('+'-joined AUs, optional intensity letter).
PROTOTYPE_CODES: dict[str, str] = {
    "neutral": "",
    "happy": "AU6+AU12",
    "sad": "AU1+AU4+AU15",
    "surprise": "AU1+AU2+AU5B+AU26",
    "fear": "AU1+AU2+AU4+AU5+AU7+AU20+AU26",
    "angry": "AU4+AU5+AU7+AU23",
    "disgust": "AU9+AU15+AU16",
    "contempt": "R12A+R14A",
}


def parse_code(code: str) -> dict[str, float]:
    """Return the AU intensities of a FACS code such as 'AU1+AU2+AU5B+AU26' or 'R12A+R14A'."""
    aus: dict[str, float] = {}
    for part in filter(None, code.replace(" ", "").split("+")):
        letter = part[-1] if part[-1] in FACS_LETTERS else ""
        name = part[: -1] if letter else part
        if name not in ACTION_UNITS:
            raise ValueError(f"unknown action unit {name!r} in {code!r}")
        aus[name] = FACS_LETTERS[letter] if letter else 1.0
    return aus


PROTOTYPES: dict[str, dict[str, float]] = {e: parse_code(c) for e, c in PROTOTYPE_CODES.items()}


def prototype(emotion: str) -> dict[str, float]:
    """Return the AU intensities of an emotion (training or AffectNet spelling) at full strength."""
    return dict(PROTOTYPES[canonical_emotion(emotion, tuple(VA_ANCHORS))])


def blend(weights: Mapping[str, float]) -> dict[str, float]:
    """Return the AUs of a blend: the weighted sum of prototypes, each AU clipped to [0, 1].

    Neutral has no AUs, so its weight only dilutes the others: a blend
    {neutral: 0.6, happy: 0.4} is happy at 40% intensity.
    """
    total: dict[str, float] = {}
    for emotion, w in weights.items():
        for au, value in prototype(emotion).items():
            total[au] = total.get(au, 0.0) + float(w) * value
    return {au: min(1.0, max(0.0, v)) for au, v in total.items() if v > 0.0}


def scaled(aus: Mapping[str, float], factor: float) -> dict[str, float]:
    """Return `aus` with every intensity multiplied by `factor` and clipped to [0, 1]."""
    return {au: min(1.0, max(0.0, v * factor)) for au, v in aus.items()}

