"""Faces scored as photographs: dlib finds the face, the judge reads it, dlib says who it is.

One protocol for generated and real faces alike, so their figures compare:

1. see the image at the generator's size (real photos are decoded at that size);
2. find the face with dlib's HOG detector (upscaled for dlib, see models/face_id.py);
3. crop the box with a `margin` (10% of its side on every side), grey, resized by the
   judge's one resize to 64x64, and give it to the FER2013 judge: class probabilities
   and the penultimate features (the space FED is measured in);
4. where descriptors are asked for, dlib's 128-d identity descriptor of the face.

An image where dlib finds no face is counted (the detection rate) and the judge sees
the whole image instead, so every image keeps a score and nothing is silently dropped;
its descriptor is NaN and it takes no part in the identity figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from contemo.errors import ContemoError
from contemo.judge.model import Judge, resize_to_input, to_grey
from contemo.models.face_id import SAME_PERSON, FaceBox, FaceID

MARGIN = 0.1  # the crop around dlib's box, as a fraction of the box's side


@dataclass
class FaceScores:
    """What the protocol gives for N images (arrays row-aligned with the images)."""

    found: np.ndarray  # (N,) bool: dlib found a face
    probs: np.ndarray  # (N, 7) judge probabilities, FER2013 class order
    features: np.ndarray  # (N, F) judge penultimate features (FED's space)
    descriptors: np.ndarray | None  # (N, 128) dlib identity descriptors, NaN where no face


def judge_crops(images: torch.Tensor, boxes: Sequence[FaceBox | None],
                margin: float = MARGIN) -> torch.Tensor:
    """Return (N, 1, 64, 64) judge input: each face box widened by `margin`, grey, resized.

    `images` are float in [-1, 1]; an image without a box is given whole.
    """
    if len(boxes) != len(images):
        raise ContemoError(f"{len(boxes)} face boxes for {len(images)} images")
    grey = to_grey(images)
    h, w = grey.shape[-2:]
    out = []
    for i, box in enumerate(boxes):
        if box is None:
            out.append(resize_to_input(grey[i:i + 1]))
            continue
        left, top, right, bottom = box.widened(margin).pixels(w, h)
        out.append(resize_to_input(grey[i:i + 1, :, top:bottom, left:right]))
    return torch.cat(out)


def score_faces(images: torch.Tensor, face_id: FaceID, judge: Judge, *, describe: bool = True,
                margin: float = MARGIN) -> FaceScores:
    """Return the protocol's scores of float images in [-1, 1] (see the module docstring)."""
    if len(images) == 0:
        raise ContemoError("no images to score")
    if images.dtype == torch.uint8:
        images = images.float() / 127.5 - 1.0
    if describe:
        boxes, descriptors = face_id.describe(images)
    else:
        boxes, descriptors = face_id.detect(images), None
    scores = judge.score_input(judge_crops(images, boxes, margin))
    return FaceScores(
        found=np.array([b is not None for b in boxes]),
        probs=scores["probs"].float().cpu().numpy(),
        features=scores["features"].float().cpu().numpy(),
        descriptors=descriptors,
    )


def _rate_and_median(distances: np.ndarray, pairs_key: str) -> dict[str, Any]:
    """Return {below_0.6 rate, median, count} of finite distances (None when there are none)."""
    d = np.asarray(distances, dtype=np.float64)
    d = d[np.isfinite(d)]
    if not len(d):
        return {"rate_below": None, "median": None, pairs_key: 0}
    return {"rate_below": float(np.mean(d < SAME_PERSON)), "median": float(np.median(d)),
            pairs_key: len(d)}


def same_person(first: np.ndarray, second: np.ndarray) -> dict[str, Any]:
    """Return how often row i of `first` and row i of `second` are one person (dlib < 0.6).

    Rows are descriptors of the same z (or the same real person) at the path's two
    ends; pairs where either face was not found are left out and counted as missing.
    """
    d = np.linalg.norm(np.asarray(first) - np.asarray(second), axis=1)
    out = _rate_and_median(d, "pairs")
    out["missing"] = int(len(d) - out["pairs"])
    return out


def different_people(groups: Sequence[np.ndarray]) -> dict[str, Any]:
    """Return how often two DIFFERENT z (people) fall below 0.6, over all pairs within each group.

    Each group is an (N, 128) descriptor array of distinct identities seen alike (e.g.
    every z at w=0, and every z at w=1); pairs are never taken across groups, so an
    expression change is never mistaken for a change of person.
    """
    distances = []
    for desc in groups:
        desc = np.asarray(desc, dtype=np.float64)
        desc = desc[np.isfinite(desc).all(axis=1)]
        if len(desc) < 2:
            continue
        sq = (desc * desc).sum(1)
        d2 = sq[:, None] + sq[None, :] - 2.0 * desc @ desc.T
        upper = np.triu_indices(len(desc), k=1)
        distances.append(np.sqrt(np.clip(d2[upper], 0.0, None)))
    return _rate_and_median(np.concatenate(distances) if distances else np.array([]), "pairs")
