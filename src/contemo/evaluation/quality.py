"""Image quality: FID and KID of generated vs real faces, on the VA regressor's features.

Both metrics come from torchmetrics with an INJECTED feature extractor: the
penultimate embedding of contemo's VA regressor (``VARegressor.score()['features']``),
never the downloaded Inception-v3 weights (contemo runs offline). The numbers are
therefore on a different scale from published FIDs; every output names them
"FID (contemo regressor features, not Inception)" so nobody compares the two.
They are useful for comparing contemo models with each other, and per emotion:
each emotion's real images against that emotion's one-hot generated images.

* FID (Heusel et al. 2017): ``||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))`` over
  Gaussian fits of the two feature sets; biased upward for small sets.
* KID (Binkowski et al. 2018): the unbiased MMD^2 with the cubic polynomial kernel
  ``k(x, y) = (x.y / d + 1)^3``, averaged over random subsets (mean and std reported);
  unbiased, so it is the one to trust for a few hundred images.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from contemo.emotions import EMOTIONS, one_hot
from contemo.errors import ContemoError

FID_NAME = "FID (contemo regressor features, not Inception)"
KID_NAME = "KID (contemo regressor features, not Inception)"
NOTE = ("Features are the contemo VA regressor's penultimate embedding, not Inception-v3: "
        "compare these numbers only with other contemo quality runs using the same regressor, "
        "never with published (Inception) FID/KID.")
UPDATE_BATCH = 256


class RegressorFeatures(nn.Module):
    """Return the regressor's penultimate features of RGB images in [-1, 1] (the injected net)."""

    def __init__(self, regressor: Any) -> None:
        super().__init__()
        self.regressor = regressor
        self.num_features = int(regressor.config.feature_dim)  # torchmetrics reads this
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return (N, F) float features; images are float (N, 3, H, W) in [-1, 1], any size.

        FID and KID are fed the same batch object one after the other, so the features
        of the last batch are reused when the very same tensor comes again.
        """
        if self._last is not None and self._last[0] is images:
            return self._last[1].clone()
        features = self.regressor.score(images)["features"].clone()
        self._last = (images, features)
        return features.clone()

    def forget(self) -> None:
        """Drop the cached batch (call once a set is fed)."""
        self._last = None


def fid_kid(real: torch.Tensor, fake: torch.Tensor, extractor: nn.Module, *,
            kid_subsets: int = 100, kid_subset_size: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Return {FID_NAME: float, KID_NAME: {mean, std, subset_size, subsets}} of two image sets.

    Images are float (N, 3, H, W) in [-1, 1]. Each set needs at least 2 images; KID's
    subset size shrinks to the smaller set's size when that is below `kid_subset_size`
    (recorded in the result), as torchmetrics refuses subsets larger than a set.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    n = min(len(real), len(fake))
    if n < 2:
        raise ContemoError(f"FID/KID need at least 2 real and 2 generated images, got "
                           f"{len(real)} and {len(fake)}")
    subset = min(kid_subset_size, n)
    fid = FrechetInceptionDistance(feature=extractor, normalize=True)
    with warnings.catch_warnings():  # "KID keeps all features": a few MB at our feature size
        warnings.simplefilter("ignore", UserWarning)
        kid = KernelInceptionDistance(feature=extractor, normalize=True, subsets=kid_subsets,
                                      subset_size=subset)
    for images, is_real in ((real, True), (fake, False)):
        for i in range(0, len(images), UPDATE_BATCH):
            batch = images[i:i + UPDATE_BATCH].float()
            fid.update(batch, real=is_real)
            kid.update(batch, real=is_real)
    if isinstance(extractor, RegressorFeatures):
        extractor.forget()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # KID's subsets are torch.randperm draws
        kid_mean, kid_std = kid.compute()
    return {
        FID_NAME: float(fid.compute()),
        KID_NAME: {"mean": float(kid_mean), "std": float(kid_std), "subset_size": subset,
                   "subsets": kid_subsets},
        "real_images": len(real), "generated_images": len(fake),
    }


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
                   regressor: Any, *, max_per_class: int | None = None, seed_start: int = 0,
                   kid_subsets: int = 100, kid_subset_size: int = 1000, seed: int = 0,
                   reference: bool = True) -> dict[str, Any]:
    """Return quality.json's content: FID/KID overall and per emotion, named as regressor-based.

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
    extractor = RegressorFeatures(regressor)
    settings = {"kid_subsets": kid_subsets, "kid_subset_size": kid_subset_size, "seed": seed}
    real_all = torch.cat([real[torch.as_tensor(i)] for i in picked.values()])
    fake_all = torch.cat(list(fakes.values()))
    per_class: dict[str, Any] = {}
    for emotion in EMOTIONS:
        if emotion not in picked:
            per_class[emotion] = {"skipped": "no real images of this emotion"}
        elif len(picked[emotion]) < 2:
            per_class[emotion] = {"skipped": "fewer than 2 real images of this emotion",
                                  "real_images": len(picked[emotion])}
        else:
            per_class[emotion] = fid_kid(real[torch.as_tensor(picked[emotion])], fakes[emotion],
                                         extractor, **settings)
    floor = None
    if reference and len(real_all) >= 4:
        halves = np.random.default_rng(seed + 1).permutation(len(real_all))
        half = len(halves) // 2
        floor = fid_kid(real_all[torch.as_tensor(halves[:half])],
                        real_all[torch.as_tensor(halves[half:2 * half])], extractor, **settings)
    return {
        "metrics": [FID_NAME, KID_NAME],
        "note": NOTE,
        "feature_extractor": {"regressor": getattr(regressor, "name", "?"),
                              "features": extractor.num_features,
                              "input_size": int(regressor.config.input_size)},
        "settings": {**settings, "max_per_class": max_per_class, "seed_start": seed_start},
        "real_left_out": int(np.sum(emotions == "")),
        "overall": fid_kid(real_all, fake_all, extractor, **settings),
        "per_class": per_class,
        "real_vs_real": floor,
    }


def format_report(report: dict[str, Any]) -> str:
    """Return the report as a table (one row per set), headed by what the features are."""
    lines = [f"{'set':<10} {'real':>6} {'gen':>6} {'FID*':>10} {'KID* mean':>11} {'KID* std':>9}"]
    rows = [("overall", report["overall"]), *report["per_class"].items()]
    if report.get("real_vs_real"):
        rows.append(("real/real", report["real_vs_real"]))
    for name, entry in rows:
        if "skipped" in entry:
            lines.append(f"{name:<10} skipped: {entry['skipped']}")
            continue
        kid = entry[KID_NAME]
        lines.append(f"{name:<10} {entry['real_images']:>6} {entry['generated_images']:>6} "
                     f"{entry[FID_NAME]:>10.4f} {kid['mean']:>11.5f} {kid['std']:>9.5f}")
    lines.append(f"* FID/KID on {report['feature_extractor']['regressor']} features "
                 "(contemo regressor, not Inception): not comparable with published FIDs.")
    if report.get("real_vs_real"):
        lines.append("  real/real: two random halves of the real images (the floor at this size)")
    return "\n".join(lines)
