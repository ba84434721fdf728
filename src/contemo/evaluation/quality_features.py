"""The feature spaces FID/KID can be measured in, each named so its numbers are never mixed up.

* ``regressor``: contemo's VA regressor's penultimate embedding. It was trained on
  contemo's synthetic faces, so it is meaningful for the synthetic world only.
* ``judge``: the FER2013 judge's penultimate features of each face found by dlib (the
  identity protocol's crop): GANmut's "FED", a space trained on real expressions.
* ``dlib``: dlib's 128-d face-recognition descriptor: a space of real identities.
  Images where dlib finds no face have no descriptor; they are left out and counted.

None of these is Inception-v3: numbers compare only with runs in the same space.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from contemo.errors import ContemoError

if TYPE_CHECKING:
    from contemo.judge.model import Judge
    from contemo.models.face_id import FaceID

FEATURE_CHOICES = ("regressor", "judge", "dlib")
BATCH = 256


@dataclass(frozen=True)
class FeatureSpace:
    """A named feature extractor: images in [-1, 1] -> (N, F) float rows (NaN: no face)."""

    key: str  # regressor | judge | dlib
    fid_name: str  # how the Fréchet distance in this space is named in every output
    kid_name: str
    note: str  # what the space is, and what its numbers may be compared with
    extract: Callable[[torch.Tensor], np.ndarray]
    dim: int

    def features(self, images: torch.Tensor) -> np.ndarray:
        """Return the features of float (N, 3, H, W) images, in batches."""
        return np.concatenate([self.extract(images[i:i + BATCH])
                               for i in range(0, len(images), BATCH)])


def regressor_space(regressor: Any) -> FeatureSpace:
    """Return the VA regressor's embedding as a feature space (synthetic faces only)."""
    return FeatureSpace(
        key="regressor",
        fid_name="FID (contemo regressor features, not Inception)",
        kid_name="KID (contemo regressor features, not Inception)",
        note=("Features are the contemo VA regressor's penultimate embedding, not Inception-v3; "
              "the regressor knows contemo's synthetic faces only, so use this space for the "
              "synthetic world and --features judge or dlib for photographs. Compare these "
              "numbers only with other contemo quality runs using the same regressor."),
        extract=lambda x: regressor.score(x)["features"].float().cpu().numpy(),
        dim=int(regressor.config.feature_dim),
    )


def judge_space(judge: Judge, face_id: FaceID) -> FeatureSpace:
    """Return the judge's features of dlib face crops (FED's space) as a feature space."""
    from contemo.evaluation.identity import score_faces

    return FeatureSpace(
        key="judge",
        fid_name="FED (FER2013 judge features of dlib face crops, not Inception)",
        kid_name="KID (FER2013 judge features of dlib face crops, not Inception)",
        note=("Features are the FER2013 judge's penultimate layer (GANmut's FED) on the face "
              "dlib finds, widened by 10% (the whole image where none is found): a space "
              "trained on real expressions. Read each value against its real/real floor."),
        extract=lambda x: score_faces(x, face_id, judge, describe=False).features,
        dim=128,
    )


def dlib_space(face_id: FaceID) -> FeatureSpace:
    """Return dlib's identity descriptor as a feature space (faces not found: NaN rows)."""
    return FeatureSpace(
        key="dlib",
        fid_name="FD (dlib face descriptors, not Inception)",
        kid_name="KID (dlib face descriptors, not Inception)",
        note=("Features are dlib's 128-d face-recognition descriptors: a space of real "
              "identities (variety of people). Images without a detected face are left out "
              "and counted. Read each value against its real/real floor."),
        extract=lambda x: face_id.describe(x)[1],
        dim=128,
    )


def load_space(name: str, *, regressor: str | Path | None = None,
               device: str = "cpu") -> FeatureSpace:
    """Return the feature space called `name` with its models loaded (one-line errors)."""
    if name == "regressor":
        from contemo.models.regressor import VARegressor

        return regressor_space(VARegressor.from_pretrained(regressor, class_head=False,
                                                           device=device))
    from contemo.models.face_id import shared_face_id

    if name == "dlib":
        return dlib_space(shared_face_id())
    if name == "judge":
        from contemo.judge.model import Judge

        return judge_space(Judge.from_file(device=device), shared_face_id())
    raise ContemoError(f"--features {name!r}: expected one of {', '.join(FEATURE_CHOICES)}")
