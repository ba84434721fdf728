"""The paper's computational evaluation (§4.3, Fig. 6): Neutral->emotion sweeps, scored.

For every extreme emotion, N noise vectors are walked along S label steps from
one-hot Neutral to one-hot emotion (the same z at every step, so only the emotion
should move) and every image is scored by a scorer (the VA regressor or the judge).
Images are streamed: one batch of faces at one step is generated, scored and thrown
away; only the scores, and the features of the previous step (for identity drift),
are kept. Finished emotions are saved under ``parts/`` so an interrupted sweep
resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from contemo.emotions import EMOTIONS, EXTREME_EMOTIONS, NEUTRAL, canonical_emotion
from contemo.errors import ContemoError
from contemo.evaluation.scorers import Scorer, check_scores
from contemo.evaluation.stats import between_distance, pair_distance
from contemo.fileio import atomic_write, atomic_write_json
from contemo.hardware import PRECISIONS, autocast
from contemo.labels.paths import path, step_weights

PARTS = "parts"  # finished emotions, for resume
PARTS_FORMAT = 2  # 2: parts hold the scorer's class probabilities; older parts are not resumed
CONFIG_FILE = "sweep_config.json"


@dataclass(frozen=True)
class SweepConfig:
    """What a sweep measures; saved with its results and compared on resume."""

    noises: int = 1000  # noise vectors per emotion (paper: 1,000)
    steps: int = 11  # label steps Neutral -> emotion, ends included (paper: 11, i.e. 0.0..1.0)
    emotions: tuple[str, ...] = EXTREME_EMOTIONS  # the paper's five extreme emotions
    seed: int = 0  # noise i of the k-th emotion is seed + k * noises + i (distinct z per emotion)
    batch_size: int = 550  # faces generated and scored at once: batch_size // steps noises x
    # every step, so identity drift is measured inside one batch (memory ~ batch x image)
    precision: str = "bf16"  # scorer autocast (the pipeline has its own); bench_sweep.py checks it
    # Emotion -> label weights per step (calibrated sweeps); None: uniform 0, 1/(S-1), ..., 1.
    weights: dict[str, tuple[float, ...]] | None = field(default=None)

    def __post_init__(self) -> None:
        if self.noises < 1:
            raise ContemoError(f"--noises must be at least 1, got {self.noises}")
        if self.steps < 2:
            raise ContemoError(f"--steps must be at least 2, got {self.steps}")
        if self.batch_size < 1:
            raise ContemoError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.precision not in PRECISIONS:
            raise ContemoError(f"--precision {self.precision!r}: expected one of "
                               f"{', '.join(PRECISIONS)}")
        if not self.emotions:
            raise ContemoError("--emotions: give at least one emotion")
        names = tuple(canonical_emotion(e) for e in self.emotions)
        if EMOTIONS[NEUTRAL] in names:
            raise ContemoError("--emotions: neutral is every sweep's start, not an end")
        object.__setattr__(self, "emotions", names)

    def step_weights(self, emotion: str) -> np.ndarray:
        """Return the emotion's label weight at each step (0 = Neutral, 1 = the emotion)."""
        return step_weights(self.steps, (self.weights or {}).get(emotion),
                            f"weights for {emotion}")

    def to_dict(self) -> dict[str, Any]:
        """Return the config as JSON-ready data."""
        data = asdict(self)
        data["emotions"] = list(self.emotions)
        if self.weights is not None:
            data["weights"] = {e: list(map(float, w)) for e, w in self.weights.items()}
        return data


@dataclass
class EmotionScores:
    """Scores of one emotion's sweep: (N, S) arrays, row = noise, column = step."""

    emotion: str
    seeds: np.ndarray  # (N,) int64
    weights: np.ndarray  # (S,) emotion weight per step
    valence: np.ndarray  # (N, S)
    arousal: np.ndarray  # (N, S)
    top: np.ndarray  # (N, S) index into the scorer's classes (-1: the scorer has none)
    probs: np.ndarray  # (N, S, K) the scorer's class probabilities (K = 0: it has no classes)
    drift: np.ndarray  # (N, S) feature distance to the same z's previous step; NaN at step 0
    between: np.ndarray  # (S,) mean feature distance between different z's at that step

    def save(self, file: Path) -> None:
        """Write the arrays atomically as .npz (no pickles)."""
        buf = io.BytesIO()
        np.savez(buf, **{k: v for k, v in asdict(self).items() if k != "emotion"})
        atomic_write(file, lambda tmp: tmp.write_bytes(buf.getvalue()))

    @classmethod
    def load(cls, file: Path, emotion: str) -> EmotionScores:
        """Return the scores saved by `save`."""
        with np.load(file, allow_pickle=False) as data:
            return cls(emotion=emotion, **{k: data[k] for k in data.files})


def fingerprint(config: SweepConfig, scorer: Scorer, checkpoint: str,
                truncation: float = 1.0) -> str:
    """Return a short hash of everything that makes two sweeps' parts interchangeable.

    The pipeline's truncation changes every face, so it is part of the key; it enters
    only when it is not 1, so sweeps written before it existed still resume.
    """
    parts = [config.to_dict(), scorer.name, checkpoint, PARTS_FORMAT]
    if truncation != 1.0:
        parts.append({"truncation": truncation})
    blob = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def sweep_emotion(pipeline: Any, scorer: Scorer, config: SweepConfig, k: int,
                  bar: tqdm | None = None) -> EmotionScores:
    """Return the scores of the k-th emotion's sweep, generating and scoring batch by batch."""
    emotion = config.emotions[k]
    weights = config.step_weights(emotion)
    labels = torch.from_numpy(path(EMOTIONS[NEUTRAL], emotion, weights=weights))
    n, s = config.noises, config.steps
    seeds = np.arange(n, dtype=np.int64) + config.seed + k * n
    z_all = pipeline.noise(seeds.tolist())
    out = {key: np.full((n, s), np.nan) for key in ("valence", "arousal", "drift")}
    top = np.zeros((n, s), dtype=np.int64)
    probs_all = np.zeros((n, s, len(scorer.classes)), dtype=np.float32)
    between_sum, between_n = np.zeros(s), np.zeros(s)
    chunk = max(1, config.batch_size // s)  # noises per batch: every step of each in one go
    with torch.inference_mode():
        for lo in range(0, n, chunk):
            z = z_all[lo:lo + chunk]
            m = len(z)
            rows = slice(lo, lo + m)
            # Step-major rows: (step 0: noises lo..lo+m), (step 1: ...), ...
            images = next(iter(pipeline.iter_batches(
                z.repeat(s, 1), labels.repeat_interleave(m, dim=0), m * s)))
            with autocast(config.precision, images.device):
                scores = scorer.score(images)
            check_scores(scores, m * s, f"{emotion} noises {lo}-{lo + m - 1}")
            for key in ("valence", "arousal"):
                out[key][rows] = scores[key].float().cpu().numpy().reshape(s, m).T
            probs = scores["probs"].float().cpu().numpy()
            if probs.shape[1]:
                if probs.shape[1] != probs_all.shape[2]:
                    raise ContemoError(f"{emotion}: scorer gave {probs.shape[1]} class "
                                       f"probabilities for {probs_all.shape[2]} classes")
                top[rows] = probs.argmax(axis=1).reshape(s, m).T
                probs_all[rows] = probs.reshape(s, m, -1).transpose(1, 0, 2)
            else:
                top[rows] = -1
            features = scores["features"].float().cpu().numpy().reshape(s, m, -1)
            for step in range(s):
                if step:
                    out["drift"][rows, step] = pair_distance(features[step], features[step - 1])
                total, count = between_distance(features[step])
                between_sum[step] += total
                between_n[step] += count
            if bar is not None:
                bar.update(m * s)
    with np.errstate(invalid="ignore", divide="ignore"):
        between = np.where(between_n > 0, between_sum / np.maximum(between_n, 1), np.nan)
    if not scores["probs"].shape[1]:
        probs_all = probs_all[:, :, :0]  # a scorer without class head: no columns
    return EmotionScores(emotion, seeds, weights, out["valence"], out["arousal"], top, probs_all,
                         out["drift"], between)


def run_sweep(pipeline: Any, scorer: Scorer, config: SweepConfig, out_dir: str | Path, *,
              checkpoint: str = "", resume: bool = False, progress: bool = True,
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the summary of a sweep after writing every result file into `out_dir`.

    `pipeline` is an EmotionPipeline (anything with .noise, .iter_batches, .device);
    `resume` reuses emotions already finished in `out_dir` by the same sweep.
    """
    from contemo.evaluation.sweep_report import write_report

    out = Path(out_dir)
    truncation = float(getattr(pipeline, "truncation", 1.0))
    print_key = fingerprint(config, scorer, checkpoint, truncation)
    _claim_folder(out, config, print_key, resume)
    results: list[EmotionScores] = []
    total = config.noises * config.steps * len(config.emotions)
    start = time.perf_counter()
    todo = []
    for k, emotion in enumerate(config.emotions):
        part = out / PARTS / f"{emotion}.npz"
        if resume and part.is_file():
            results.append(EmotionScores.load(part, emotion))
        else:
            results.append(None)  # type: ignore[arg-type]
            todo.append(k)
    done_images = (len(config.emotions) - len(todo)) * config.noises * config.steps
    with tqdm(total=total, initial=done_images, unit="img", desc="sweep",
              disable=not progress, dynamic_ncols=True) as bar:
        for k in todo:
            emotion = config.emotions[k]
            bar.set_postfix_str(emotion)
            results[k] = sweep_emotion(pipeline, scorer, config, k, bar)
            results[k].save(out / PARTS / f"{emotion}.npz")
    seconds = time.perf_counter() - start
    timing = {"seconds": round(seconds, 3), "images": total - done_images,
              "images_per_second": round((total - done_images) / max(seconds, 1e-9), 1)}
    meta = {"scorer": scorer.name, "checkpoint": checkpoint, "truncation": truncation,
            "fingerprint": print_key, "config": config.to_dict(), "timing": timing,
            **(extra or {})}
    return write_report(out, results, tuple(scorer.classes), meta)


def _claim_folder(out: Path, config: SweepConfig, key: str, resume: bool) -> None:
    """Write the sweep's config into `out`; refuse to mix parts of two different sweeps."""
    cfg_file = out / CONFIG_FILE
    if resume and cfg_file.is_file():
        try:
            old = json.loads(cfg_file.read_text()).get("fingerprint")
        except (json.JSONDecodeError, AttributeError):
            old = None
        if old != key:
            raise ContemoError(f"{cfg_file}: --resume needs the same sweep options, truncation, "
                               "scorer and checkpoint as the run that wrote it (or a new --out)")
    elif (out / PARTS).is_dir():
        for stale in (out / PARTS).glob("*.npz"):
            stale.unlink()
    atomic_write_json(cfg_file, {"fingerprint": key, "config": config.to_dict()})

