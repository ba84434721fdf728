"""What a layout scan yields: one FaceRecord per usable image, plus the problems it met.

Every layout (FACES, AffectNet, folder, CSV, London) produces the same record type,
so the dataset, the trainer and `contemo data check` never need to know which
layout a face came from.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from contemo.emotions import AFFECTNET_CLASSES, EMOTIONS, TO_AFFECTNET, one_hot


@dataclass(frozen=True, eq=False)  # identity equality: numpy labels make field-wise == ambiguous
class FaceRecord:
    """One face image and everything known about it (label, VA, class, crop box, metadata)."""

    path: Path  # the image file
    emotion: str | None  # training-vocabulary name; None when not a training emotion (surprise...)
    label: np.ndarray | None  # float32 (6,) conditioning vector, one-hot for categorical data
    valence: float | None  # in [-1, 1] when the source gives it
    arousal: float | None
    affectnet_class: int | None  # 0-7 in AffectNet's vocabulary, when the category is known
    bbox: tuple[int, int, int, int] | None  # face box (x, y, w, h) to crop at load time
    meta: dict[str, Any] = field(default_factory=dict)  # person, age_group, gender, picture_set...
    # Face-aware crop (contemo.data.facecrop): (left, top, right, bottom) as fractions of the
    # frame, applied instead of `bbox`; it may reach past the edges (padded, never squashed).
    crop: tuple[float, float, float, float] | None = None


@dataclass
class ScanResult:
    """Return value of a layout scan: usable records, one-line problems, and tallies."""

    records: list[FaceRecord]
    problems: list[str]
    layout: str
    root: Path | None = None
    # Rows left out on purpose (not problems), e.g. AffectNet codes 8-10: name -> count.
    dropped: dict[str, int] = field(default_factory=dict)
    # Facts about the scan worth printing, e.g. which manifest was read.
    notes: list[str] = field(default_factory=list)

    def counts(self, key: str) -> Counter:
        """Return how many records have each value of `key` ('emotion', 'class' or a meta key)."""
        if key == "emotion":
            return Counter(r.emotion or "(none)" for r in self.records)
        if key == "class":
            return Counter(
                AFFECTNET_CLASSES[r.affectnet_class]
                for r in self.records
                if r.affectnet_class is not None
            )
        return Counter(str(r.meta[key]) for r in self.records if key in r.meta)


def categorical_record(
    path: Path, category: str, meta: dict[str, Any] | None = None,
    bbox: tuple[int, int, int, int] | None = None,
) -> FaceRecord:
    """Return the record of an image labelled with one category (training or AffectNet name).

    `category` must already be canonical: a training emotion (one-hot label) or an
    AffectNet-only class such as surprise (no training label, class kept).
    """
    if category in EMOTIONS:
        return FaceRecord(
            path=path, emotion=category, label=one_hot(category), valence=None, arousal=None,
            affectnet_class=AFFECTNET_CLASSES.index(TO_AFFECTNET[category]), bbox=bbox,
            meta=dict(meta or {}),
        )
    return FaceRecord(
        path=path, emotion=None, label=None, valence=None, arousal=None,
        affectnet_class=AFFECTNET_CLASSES.index(category), bbox=bbox, meta=dict(meta or {}),
    )
