"""A generator's emotion strip and a real set's photos, scored by the same face protocol.

The strip: N seeds walked along `steps` label weights from one emotion to another
(the same z in every step, so only the expression should move). The real reference:
the photos of the same two emotions (London: each person neutral and smiling).
Both give the same figures (`figures`): faces found, the judge's AUC and mean P(end)
at the end, the Spearman of the mean P(end) along the path (strip only), same person
at both ends and different identities falling below dlib's 0.6.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from contemo.emotions import FER2013_CLASSES, canonical_emotion
from contemo.errors import ContemoError
from contemo.evaluation.identity import MARGIN, different_people, same_person, score_faces
from contemo.evaluation.stats import spearman
from contemo.generation.pipeline import check_truncation
from contemo.judge.model import Judge
from contemo.judge.scores import rank_auc
from contemo.labels.paths import path
from contemo.models.face_id import FaceID


@dataclass(frozen=True)
class StripConfig:
    """Which path to walk and how many faces; written into every result."""

    start: str = "neutral"  # the w=0 emotion
    end: str = "happy"  # the w=1 emotion (its FER2013 class is the judge's column)
    seeds: int = 200  # z per strip; seed i is `seed + i`
    steps: int = 11  # label weights 0, 1/(steps-1), ..., 1
    seed: int = 0
    margin: float = MARGIN  # crop around dlib's box, fraction of its side
    batch_size: int = 50  # z generated and scored together, per step
    grid_rows: int = 8  # seeds kept as images for the grid PNG
    truncation: float = 1.0  # psi scaling every seed's noise (EmotionPipeline); 1: none

    def __post_init__(self) -> None:
        for name, low in (("seeds", 2), ("steps", 2), ("batch_size", 1)):
            if getattr(self, name) < low:
                raise ContemoError(f"--{name.replace('_', '-')} must be at least {low}, "
                                   f"got {getattr(self, name)}")
        object.__setattr__(self, "truncation", check_truncation(self.truncation))
        start, end = canonical_emotion(self.start), canonical_emotion(self.end)
        if start == end:
            raise ContemoError(f"--from and --to are both {start}: a path needs two emotions")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def end_class(self) -> int:
        """Return the judge's column of the end emotion."""
        return FER2013_CLASSES.index(self.end)


@dataclass
class Scored:
    """One side's raw scores: generated (N seeds x S steps) or real (N people x 2 ends)."""

    found: np.ndarray  # (N, S) bool
    p_end: np.ndarray  # (N, S) the judge's P(end emotion)
    features: np.ndarray  # (N, 2, F) judge features at the two ends (FED)
    descriptors: np.ndarray  # (N, 2, 128) dlib descriptors at the two ends, NaN: no face
    grid: torch.Tensor | None = None  # (rows, S, 3, H, W) images of the first seeds


def score_strip(pipeline: Any, face_id: FaceID, judge: Judge, config: StripConfig,
                progress: bool = True) -> Scored:
    """Return the scores of `config.seeds` z walked from config.start to config.end."""
    labels = torch.from_numpy(path(config.start, config.end, config.steps))
    n, s = config.seeds, config.steps
    seeds = list(range(config.seed, config.seed + n))
    found = np.zeros((n, s), dtype=bool)
    p_end = np.zeros((n, s))
    features: list[np.ndarray] = []
    descriptors: list[np.ndarray] = []
    kept: list[torch.Tensor] = []
    with tqdm(total=n * s, unit="face", desc=f"{config.start}->{config.end}",
              disable=not progress, leave=False) as bar:
        for lo in range(0, n, config.batch_size):
            z = pipeline.noise(seeds[lo:lo + config.batch_size])
            m = len(z)
            ends_f, ends_d, steps_img = [], [], []
            for step in range(s):
                images = pipeline.generate(labels[step:step + 1], z=z, batch_size=m)
                at_end = step in (0, s - 1)
                scores = score_faces(images, face_id, judge, describe=at_end, margin=config.margin)
                found[lo:lo + m, step] = scores.found
                p_end[lo:lo + m, step] = scores.probs[:, config.end_class]
                if at_end:
                    ends_f.append(scores.features)
                    ends_d.append(scores.descriptors)
                if lo < config.grid_rows:
                    steps_img.append(images[:config.grid_rows - lo])
                bar.update(m)
            features.append(np.stack(ends_f, axis=1))
            descriptors.append(np.stack(ends_d, axis=1))
            if steps_img:
                kept.append(torch.stack(steps_img, dim=1))
    return Scored(found, p_end, np.concatenate(features), np.concatenate(descriptors),
                  torch.cat(kept) if kept else None)


def score_real(images: torch.Tensor, emotions: list[str | None], people: list[str | None],
               face_id: FaceID, judge: Judge, config: StripConfig) -> tuple[Scored, dict[str, Any]]:
    """Return (scores, notes) of real photos of config.start and config.end, paired by person.

    A person with photos of both emotions is one row (first photo of each); photos of
    people without a pair, or without a person id, are left out and counted in notes.
    """
    if not (len(images) == len(emotions) == len(people)):
        raise ContemoError(f"{len(images)} images, {len(emotions)} emotions, {len(people)} ids")
    first: dict[str, dict[str, int]] = {}
    for i, (emotion, person) in enumerate(zip(emotions, people)):
        if person is not None and emotion in (config.start, config.end):
            first.setdefault(person, {}).setdefault(emotion, i)
    pairs = [(v[config.start], v[config.end]) for v in first.values() if len(v) == 2]
    if len(pairs) < 2:
        raise ContemoError(f"the real set needs at least 2 people photographed {config.start} "
                           f"and {config.end} (a person id per photo, as the London layout "
                           f"gives); found {len(pairs)}")
    order = torch.as_tensor([i for pair in pairs for i in pair])
    scores = score_faces(images[order], face_id, judge, describe=True, margin=config.margin)
    shape = (len(pairs), 2)
    notes = {"people_paired": len(pairs),
             "photos_left_out": int(len(images) - 2 * len(pairs))}
    return Scored(
        found=scores.found.reshape(shape),
        p_end=scores.probs[:, config.end_class].reshape(shape),
        features=scores.features.reshape(*shape, -1),
        descriptors=scores.descriptors.reshape(*shape, -1),
    ), notes


def figures(scored: Scored) -> dict[str, Any]:
    """Return the protocol's figures of one side (generated strip or real pairs)."""
    n = len(scored.p_end)
    p0, p1 = scored.p_end[:, 0], scored.p_end[:, -1]
    curve = scored.p_end.mean(axis=0)
    out: dict[str, Any] = {
        "faces_found": float(scored.found.mean()),
        "judge_auc_end_vs_start": rank_auc(np.concatenate([p1, p0]),
                                           np.r_[np.ones(n, bool), np.zeros(n, bool)]),
        "mean_p_end_at_end": float(p1.mean()),
        "mean_p_end_at_start": float(p0.mean()),
        "same_person": same_person(scored.descriptors[:, 0], scored.descriptors[:, -1]),
        "different_below_0_6": different_people([scored.descriptors[:, 0],
                                                 scored.descriptors[:, -1]]),
    }
    if scored.p_end.shape[1] > 2:
        out["faces_found_by_step"] = [float(x) for x in scored.found.mean(axis=0)]
        out["p_end_by_step"] = [float(x) for x in curve]
        out["spearman_p_end"] = spearman(np.arange(len(curve), dtype=np.float64), curve)
    return out


def end_features(scored: Scored) -> np.ndarray:
    """Return the judge features of both ends as one (2N, F) array (FED's sample)."""
    return scored.features.reshape(-1, scored.features.shape[-1])


def save_grid(grid: torch.Tensor, file: Any, scale: int = 2) -> None:
    """Write (rows, S, 3, H, W) images in [-1, 1] as one PNG: a row per seed, a column per step."""
    from contemo.figures import save_png, tensor_grid

    rows = grid.shape[0]
    save_png(tensor_grid(grid.reshape(-1, *grid.shape[2:]), rows, scale=scale), file)
