"""The emotion space: the only place contemo's emotion facts live.

Everything that names an emotion, orders the conditioning vector, maps between
vocabularies or places a category in valence-arousal (VA) space imports it from
here, so a change of order or anchor cannot drift between modules.

Vocabularies
------------
* ``EMOTIONS`` - the 6 training emotions in the paper's order (Eq. 1): the
  index of an emotion here is its element in the conditioning vector v.
* ``AFFECTNET_CLASSES`` - AffectNet's 8 expression classes, in the order of its
  ``expression`` codes 0-7 (codes 8-10: none / uncertain / no-face, dropped).
* ``FACES_CODES`` - the emotion letters in FACES file names (``066_y_m_s_a.jpg``).
* ``FER2013_CLASSES`` - the 7 output classes of the pretrained judge (a mini-Xception
  trained on FER2013), in the order of its softmax.

Anchors
-------
VA coordinates of each category come from one published source: the
pleasure (used as valence) and arousal columns of Russell & Mehrabian (1977),
"Evidence for a three-factor theory of emotions", *Journal of Research in
Personality* 11(3), 273-294, which scaled emotion terms on [-1, 1].
Terms used: happy, sad, disgusted, afraid (fear), angry, surprised,
contemptuous (contempt); neutral is the origin, as in Russell's circumplex and
the paper (§3.3). They are theory-driven anchors: a sweep measures the anchors a
trained model actually reaches (``contemo evaluate sweep``) and every VA tool
accepts measured anchors in their place.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from contemo.errors import ContemoError

# The 6 training emotions, in the paper's order (Neutral, Sad, Disgust, Fear, Angry, Happy).
EMOTIONS: tuple[str, ...] = ("neutral", "sad", "disgust", "fear", "angry", "happy")
NUM_EMOTIONS = len(EMOTIONS)
NEUTRAL = 0  # index of Neutral in v; the paper's v1
EXTREME_EMOTIONS: tuple[str, ...] = EMOTIONS[1:]  # the paper's "extreme emotions"

# AffectNet expression codes 0..7 in order; 8-10 are None/Uncertain/No-Face and are dropped.
AFFECTNET_CLASSES: tuple[str, ...] = (
    "neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt",
)
AFFECTNET_DROPPED_CODES: frozenset[int] = frozenset({8, 9, 10})
AFFECTNET_INVALID_VA = -2.0  # AffectNet writes -2 where valence/arousal are missing

# FACES (Ebner et al., 2010) file-name emotion letters.
FACES_CODES: dict[str, str] = {
    "n": "neutral", "s": "sad", "d": "disgust", "f": "fear", "a": "angry", "h": "happy",
}
FACES_LETTER: dict[str, str] = {name: code for code, name in FACES_CODES.items()}

# Training vocabulary <-> AffectNet vocabulary. The two differ only in "angry"/"anger";
# surprise and contempt have no training emotion.
TO_AFFECTNET: dict[str, str] = {
    "neutral": "neutral", "sad": "sad", "disgust": "disgust",
    "fear": "fear", "angry": "anger", "happy": "happy",
}
FROM_AFFECTNET: dict[str, str | None] = {
    **{a: e for e, a in TO_AFFECTNET.items()}, "surprise": None, "contempt": None,
}

# FER2013's 7 classes in the order of the judge's softmax (Goodfellow et al. 2013; fer package).
FER2013_CLASSES: tuple[str, ...] = (
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
)
# FER2013 class -> training emotion (surprise has none); FER2013 has no contempt.
FROM_FER2013: dict[str, str | None] = {
    "angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy",
    "sad": "sad", "surprise": None, "neutral": "neutral",
}
# AffectNet class -> FER2013 class, for scoring the judge on AffectNet-labelled sets.
FER2013_FROM_AFFECTNET: dict[str, str | None] = {
    "neutral": "neutral", "happy": "happy", "sad": "sad", "surprise": "surprise",
    "fear": "fear", "disgust": "disgust", "anger": "angry", "contempt": None,
}

# Synonyms users type; every lookup goes through `canonical_emotion`.
_ALIASES: dict[str, str] = {
    "anger": "angry", "happiness": "happy", "joy": "happy", "sadness": "sad",
    "disgusted": "disgust", "afraid": "fear", "fearful": "fear", "scared": "fear",
    "neutrality": "neutral", "surprised": "surprise", "contemptuous": "contempt",
}

# (valence, arousal) in [-1, 1]: Russell & Mehrabian (1977), pleasure and arousal columns.
VA_ANCHORS: dict[str, tuple[float, float]] = {
    "neutral": (0.00, 0.00),
    "happy": (0.81, 0.51),
    "sad": (-0.63, -0.27),
    "disgust": (-0.60, 0.35),
    "fear": (-0.64, 0.60),
    "angry": (-0.51, 0.59),
    "surprise": (0.40, 0.67),
    "contempt": (-0.55, 0.20),
}
VA_ANCHORS["anger"] = VA_ANCHORS["angry"]  # AffectNet's spelling, same point

LABEL_SUM_TOL = 1e-6


class LabelError(ContemoError, ValueError):
    """A conditioning vector or emotion name that contemo cannot use; message is one line."""


def canonical_emotion(name: str, vocabulary: Sequence[str] = EMOTIONS) -> str:
    """Return the vocabulary's spelling of `name` (case-insensitive, common synonyms accepted)."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key == "angry" and "angry" not in vocabulary and "anger" in vocabulary:
        key = "anger"
    if key not in vocabulary:
        raise LabelError(f"unknown emotion {name!r}: expected one of {', '.join(vocabulary)}")
    return key


def emotion_index(name: str) -> int:
    """Return the position of a training emotion in the conditioning vector."""
    return EMOTIONS.index(canonical_emotion(name))


def va_anchor(name: str) -> tuple[float, float]:
    """Return the (valence, arousal) anchor of a training or AffectNet emotion."""
    vocab = tuple(VA_ANCHORS)
    return VA_ANCHORS[canonical_emotion(name, vocab)]


def anchor_matrix(anchors: dict[str, tuple[float, float]] | None = None) -> np.ndarray:
    """Return a (6, 2) array of VA anchors in EMOTIONS order (theoretical unless given)."""
    src = VA_ANCHORS if anchors is None else anchors
    return np.array([src[e] for e in EMOTIONS], dtype=np.float64)


def class_anchors(
    classes: Sequence[str], anchors: dict[str, tuple[float, float]] | None = None
) -> np.ndarray:
    """Return a (len(classes), 2) array of VA anchors for any vocabulary's class names.

    Used to turn a classifier's class probabilities into an expected VA point
    (sum_k p_k * anchor_k), e.g. the judge's FER2013 classes.
    """
    src = VA_ANCHORS if anchors is None else anchors
    missing = [c for c in classes if c not in src]
    if missing:
        raise LabelError(f"no VA anchor for {', '.join(missing)}")
    return np.array([src[c] for c in classes], dtype=np.float64)


def one_hot(name: str) -> np.ndarray:
    """Return the one-hot conditioning vector of a training emotion (Eq. 1-2)."""
    v = np.zeros(NUM_EMOTIONS, dtype=np.float32)
    v[emotion_index(name)] = 1.0
    return v


def validate_label(v: Sequence[float] | np.ndarray, where: str = "label") -> np.ndarray:
    """Return `v` as a float32 vector if it is a valid conditioning vector, else raise LabelError.

    Valid means Eq. 2-3: six elements, each in [0, 1], summing to 1 within 1e-6.
    """
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != NUM_EMOTIONS:
        raise LabelError(
            f"{where}: expected {NUM_EMOTIONS} values ({', '.join(EMOTIONS)}), got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise LabelError(f"{where}: contains NaN or infinity")
    bad = [f"{EMOTIONS[i]}={arr[i]:g}" for i in range(NUM_EMOTIONS) if not 0.0 <= arr[i] <= 1.0]
    if bad:
        raise LabelError(f"{where}: every element must be in [0, 1], got {', '.join(bad)}")
    total = float(arr.sum())
    if abs(total - 1.0) > LABEL_SUM_TOL:
        raise LabelError(f"{where}: elements must sum to 1 (within 1e-6), got {total:.6g}")
    return arr.astype(np.float32)


def check_trained(labels: np.ndarray, trained: Sequence[str]) -> None:
    """Raise a one-line error if any label row weighs an emotion outside `trained`.

    A model trained on London (neutral, happy) never saw the other four emotions:
    their rows of the label embedding are still random, so it would draw grey ghosts.
    """
    rows = np.atleast_2d(np.asarray(labels, dtype=np.float64))
    untrained = [e for i, e in enumerate(EMOTIONS)
                 if e not in trained and rows.size and bool((rows[:, i] > 0).any())]
    if untrained:
        raise ContemoError(f"this model was not trained on {', '.join(untrained)}; it was "
                           f"trained on {', '.join(trained)}")


def validate_labels(vs: np.ndarray, where: str = "labels") -> np.ndarray:
    """Return a (N, 6) batch of conditioning vectors after validating every row."""
    arr = np.asarray(vs, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None]
    return np.stack([validate_label(row, f"{where}[{i}]") for i, row in enumerate(arr)])


def parse_label(text: str) -> np.ndarray:
    """Return the vector written as '0.2,0,0,0,0,0.8' (CLI and API form), validated."""
    try:
        values = [float(x) for x in text.replace(" ", "").split(",") if x != ""]
    except ValueError:
        raise LabelError(f"label {text!r}: expected 6 comma-separated numbers") from None
    return validate_label(values, f"label {text!r}")


def label_va(v: np.ndarray, anchors: dict[str, tuple[float, float]] | None = None) -> np.ndarray:
    """Return the VA point(s) of vector(s) `v` as the blend of the anchors (ground truth for synth)."""
    return np.asarray(v, dtype=np.float64) @ anchor_matrix(anchors)
