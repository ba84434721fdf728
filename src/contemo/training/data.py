"""The training set of a run: labelled faces as one uint8 tensor, and what the data can teach.

Kept apart from the loop (gan.py) and the command: this is where a run decides which
emotions it can learn at all. An emotion with no images (London has neutral and happy
only) or too few to learn from is said out loud, left out of the grids and of the
BatchNorm re-estimation, and written into the release as untrained, so `generate`
refuses it instead of rendering a grey ghost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from contemo.emotions import EMOTIONS
from contemo.errors import ContemoError

BALANCE_RATIO = 3.0  # balance="auto" turns class-balanced sampling on above this imbalance


@dataclass
class TrainData:
    """The images (uint8 N,3,S,S) and labels (N,6) a run trains on, and what they are."""

    images: torch.Tensor
    labels: torch.Tensor
    description: dict[str, Any]
    trained_emotions: tuple[str, ...] = EMOTIONS  # those with enough images to learn
    preprocess: dict[str, Any] | None = None  # how faces were framed (written into the release)
    warnings: list[str] = field(default_factory=list)  # said once at the start of a run
    balanced: bool = False  # draw each emotion equally often (see BALANCE_RATIO)
    # (P, 2) indices of photos of one person under two emotions (person_pairs; pairs.py)
    pairs: torch.Tensor = field(default_factory=lambda: torch.zeros(0, 2, dtype=torch.long))
    # (N,) each image's person (-1: the layout names nobody); mismatched pairs need it
    persons: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))


def load_train_data(config: Any) -> TrainData:
    """Return the TrainData of a TrainConfig's data folder (labelled images only)."""
    from contemo.data import open_dataset
    from contemo.data.facecrop import CropSpec
    from contemo.data.images import max_pixels

    if not config.data:
        raise ContemoError("no training data: pass --data FOLDER (and --layout if not FACES)")
    max_pixels()  # a bad CONTEMO_MAX_PIXELS is one line before any image is opened
    dataset = open_dataset(config.data, config.layout, config.model.resolution,
                           skip_bad=config.skip_bad, center_crop=config.center_crop,
                           crop=CropSpec(config.crop, config.crop_scale))
    keep = dataset.labels.sum(dim=1) > 0  # records without a training emotion (e.g. surprise)
    if not keep.any():
        raise ContemoError(f"{config.data}: none of the {len(dataset)} images has a training "
                           f"label ({', '.join(EMOTIONS)})")
    labels = dataset.labels[keep]
    counts = dict(zip(EMOTIONS, torch.bincount(labels.argmax(dim=1), minlength=len(EMOTIONS))
                      .tolist(), strict=True))
    trained = tuple(e for e in EMOTIONS if counts[e] >= max(1, config.min_images))
    if not trained:
        raise ContemoError(f"{config.data}: no emotion has {config.min_images} images to learn "
                           f"from ({counts})")
    warnings = [f"{e}: no images; the model will refuse it" if counts[e] == 0 else
                f"{e}: only {counts[e]} images (< {config.min_images}); not learnt, refused"
                for e in EMOTIONS if e not in trained]
    first = dataset.records[0].path
    try:
        from PIL import Image

        with Image.open(first) as im:
            side = min(im.size)
    except OSError:
        side = config.model.resolution
    if side < config.model.resolution and config.crop == "none":
        warnings.append(f"images are {side} px on their short side ({first.name}); each is "
                        f"upscaled (bicubic) to the training size {config.model.resolution}")
    present = [counts[e] for e in trained]
    ratio = max(present) / min(present)
    balanced = config.balance is True or (config.balance == "auto" and ratio > BALANCE_RATIO)
    if balanced:
        warnings.append(f"classes differ {ratio:.1f}x: sampling each emotion equally often "
                        f"(--set balance=false to turn off)")
    description = {"path": str(Path(config.data).resolve()), "layout": config.layout,
                   "images": int(keep.sum()), "excluded_unlabelled": int((~keep).sum()),
                   "skipped_bad": len(dataset.skipped), "size": config.model.resolution,
                   "per_emotion": counts, "trained_emotions": list(trained),
                   "balanced_sampling": balanced, "crop": dataset.crop.to_dict()}
    preprocess = {"crop": dataset.crop.to_dict(), "size": config.model.resolution}
    persons = person_ids([r for r, k in zip(dataset.records, keep.tolist(), strict=True) if k])
    pairs = person_pairs(persons, labels)
    if config.pairs and len(pairs) == 0:
        raise ContemoError(
            f"pairs={config.pairs:g} needs photos of one person under two emotions; "
            f"{config.data} names no such pair (layouts with person ids: faces, london)")
    return TrainData(dataset.images_uint8[keep].contiguous(), labels.contiguous(), description,
                     trained, preprocess, warnings, balanced, pairs, persons)


def person_ids(records: list[Any]) -> torch.Tensor:
    """Return each record's person as a small integer (-1 where the layout names nobody).

    Studio layouts (FACES, London) name the person in every file; the identity-pair term
    (training/pairs.py) pairs two photos of one person under two emotions.
    """
    ids: dict[str, int] = {}
    out = [ids.setdefault(str(r.meta["person"]), len(ids)) if r.meta.get("person") else -1
           for r in records]
    return torch.tensor(out, dtype=torch.long)


def person_pairs(persons: torch.Tensor | None, labels: torch.Tensor) -> torch.Tensor:
    """Return (P, 2) indices of image pairs of one person with two different emotions.

    Each pair is ordered by emotion (the paper's order), so a pair's first face is the
    one nearer Neutral; an empty (0, 2) tensor where the data names no person twice.
    """
    if persons is None:
        return torch.zeros(0, 2, dtype=torch.long)
    cls = labels.argmax(dim=1)
    same = (persons[:, None] == persons[None, :]) & (persons[:, None] >= 0)
    ordered = cls[:, None] < cls[None, :]
    return (same & ordered).nonzero()
