"""Image quality: FID and KID of generated vs real faces, in a named feature space.

The features are never the downloaded Inception-v3 weights (contemo runs offline) but one
of `quality_features.FEATURE_CHOICES`: the VA regressor's embedding (synthetic world only),
the FER2013 judge's features of dlib face crops (FED) or dlib's identity descriptor. The
numbers are on that space's own scale and every output names the space, so nobody
compares them with published FIDs. They compare contemo models with each other, per
emotion (each emotion's real images against that emotion's one-hot generated images),
and against the real/real floor.

* FID (Heusel et al. 2017): ``||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))`` over
  Gaussian fits of the two feature sets; biased upward for small sets.
* KID (Binkowski et al. 2018): the unbiased MMD^2 with the cubic polynomial kernel
  ``k(x, y) = (x.y / d + 1)^3``, averaged over random subsets (mean and std reported;
  no std when the subsets are both sets whole and so cannot differ).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from contemo.emotions import EMOTIONS, one_hot
from contemo.errors import ContemoError
from contemo.evaluation.quality_distances import frechet_distance, kernel_distance
from contemo.evaluation.quality_features import FeatureSpace


def fid_kid(real: torch.Tensor, fake: torch.Tensor, space: FeatureSpace, *,
            kid_subsets: int = 100, kid_subset_size: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Return {space.fid_name: float, space.kid_name: {mean, std, ...}, counts} of two image sets.

    Images are float (N, 3, H, W) in [-1, 1]. Images without features (dlib found no
    face) are left out and counted; each set needs at least 2 images with features.
    KID's subset size shrinks to the smaller set's size (recorded in the result).
    """
    return distances(space.features(real), space.features(fake), space, kid_subsets=kid_subsets,
                     kid_subset_size=kid_subset_size, seed=seed)


def distances(real: np.ndarray, fake: np.ndarray, space: FeatureSpace, *, kid_subsets: int = 100,
              kid_subset_size: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Return fid_kid's result for ready (N, F) feature arrays (NaN rows: no face)."""
    has_r, has_f = np.isfinite(real).all(1), np.isfinite(fake).all(1)
    if has_r.sum() < 2 or has_f.sum() < 2:
        raise ContemoError(f"FID/KID need at least 2 real and 2 generated images"
                           f"{' with a face' if space.key == 'dlib' else ''}, got "
                           f"{int(has_r.sum())} and {int(has_f.sum())}")
    out: dict[str, Any] = {
        space.fid_name: frechet_distance(real[has_r], fake[has_f]),
        space.kid_name: kernel_distance(real[has_r], fake[has_f], subsets=kid_subsets,
                                        subset_size=kid_subset_size, seed=seed),
        "real_images": len(real), "generated_images": len(fake),
    }
    if not (has_r.all() and has_f.all()):
        out["left_out_without_face"] = {"real": int((~has_r).sum()),
                                        "generated": int((~has_f).sum())}
    return out


def generate_like(pipeline: Any, emotions: Sequence[str], counts: Sequence[int],
                  seed_start: int = 0, batch_size: int = 256) -> dict[str, torch.Tensor]:
    """Return {emotion: one-hot generated images}, counts[i] for emotions[i], distinct seeds."""
    out, seed = {}, seed_start
    for emotion, count in zip(emotions, counts):
        labels = np.repeat(one_hot(emotion)[None], count, axis=0)
        out[emotion] = pipeline.generate(labels, seeds=list(range(seed, seed + count)),
                                         batch_size=batch_size)
        seed += count
    return out


def quality_report(real: torch.Tensor, real_emotions: Sequence[str | None], pipeline: Any,
                   space: FeatureSpace, *, max_per_class: int | None = None, seed_start: int = 0,
                   kid_subsets: int = 100, kid_subset_size: int = 1000, seed: int = 0,
                   reference: bool = True) -> dict[str, Any]:
    """Return quality.json's content: FID/KID overall and per emotion, named by feature space.

    `real` holds float images in [-1, 1]; `real_emotions[i]` is image i's training emotion
    (None: not one of the six, e.g. AffectNet's surprise, left out and counted). Each
    emotion present gets as many one-hot generated images as it has real ones (capped by
    `max_per_class`, real images then drawn by `seed`), so overall compares like with like.
    With `reference`, 'real_vs_real' scores one random half of those real images against
    the other: the floor a perfect generator would reach at this sample size.
    """
    emotions = np.asarray([e if e is not None else "" for e in real_emotions])
    if len(emotions) != len(real):
        raise ContemoError(f"{len(real)} real images but {len(emotions)} emotion labels")
    rng = np.random.default_rng(seed)
    picked: dict[str, np.ndarray] = {}
    for emotion in EMOTIONS:
        idx = np.flatnonzero(emotions == emotion)
        if max_per_class is not None and len(idx) > max_per_class:
            idx = np.sort(rng.choice(idx, max_per_class, replace=False))
        if len(idx):
            picked[emotion] = idx
    if not picked:
        raise ContemoError("no real image has one of the training emotions "
                           f"({', '.join(EMOTIONS)}); quality needs labelled real images")
    fakes = generate_like(pipeline, list(picked), [len(i) for i in picked.values()], seed_start)
    real_features = space.features(real)
    fake_features = {e: space.features(images) for e, images in fakes.items()}
    settings = {"kid_subsets": kid_subsets, "kid_subset_size": kid_subset_size, "seed": seed}
    real_all = np.concatenate([real_features[i] for i in picked.values()])
    fake_all = np.concatenate(list(fake_features.values()))
    per_class: dict[str, Any] = {}
    for emotion in EMOTIONS:
        if emotion not in picked:
            per_class[emotion] = {"skipped": "no real images of this emotion"}
        elif len(picked[emotion]) < 2:
            per_class[emotion] = {"skipped": "fewer than 2 real images of this emotion",
                                  "real_images": len(picked[emotion])}
        else:
            try:
                per_class[emotion] = distances(real_features[picked[emotion]],
                                               fake_features[emotion], space, **settings)
            except ContemoError as err:  # e.g. dlib found too few faces of this emotion
                per_class[emotion] = {"skipped": str(err),
                                      "real_images": len(picked[emotion])}
    floor = None
    if reference and len(real_all) >= 4:
        halves = np.random.default_rng(seed + 1).permutation(len(real_all))
        half = len(halves) // 2
        floor = distances(real_all[halves[:half]], real_all[halves[half:2 * half]], space,
                          **settings)
    return {
        "metrics": [space.fid_name, space.kid_name],
        "note": space.note,
        "features": space.key,
        "feature_dim": space.dim,
        "settings": {**settings, "max_per_class": max_per_class, "seed_start": seed_start},
        "real_left_out": int(np.sum(emotions == "")),
        "overall": distances(real_all, fake_all, space, **settings),
        "per_class": per_class,
        "real_vs_real": floor,
    }


def format_report(report: dict[str, Any]) -> str:
    """Return the report as a table (one row per set), headed by what the features are."""
    fid_name, kid_name = report["metrics"]
    lines = [f"{'set':<10} {'real':>6} {'gen':>6} {'FID*':>10} {'KID* mean':>11} {'KID* std':>9}"]
    rows = [("overall", report["overall"]), *report["per_class"].items()]
    if report.get("real_vs_real"):
        rows.append(("real/real", report["real_vs_real"]))
    for name, entry in rows:
        if "skipped" in entry:
            lines.append(f"{name:<10} skipped: {entry['skipped']}")
            continue
        kid = entry[kid_name]
        std = "n/a" if kid["std"] is None else f"{kid['std']:.5f}"
        lines.append(f"{name:<10} {entry['real_images']:>6} {entry['generated_images']:>6} "
                     f"{entry[fid_name]:>10.4f} {kid['mean']:>11.5f} {std:>9}")
    lines.append(f"* {fid_name}; {kid_name}: not comparable with published FIDs.")
    if any("skipped" not in e and e[kid_name]["std"] is None for _, e in rows):
        lines.append("  KID std n/a: the subsets were both sets whole, so they cannot differ.")
    if report.get("real_vs_real"):
        lines.append("  real/real: two random halves of the real images (the floor at this size)")
    return "\n".join(lines)
