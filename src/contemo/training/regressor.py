"""Training the VA regressor (§4.3): VA regression and 8-class recognition, learnt together.

Data is any AffectNet-layout folder (real AffectNet or contemo's synthetic continuous
set). Unknown valence/arousal (NaN) rows are masked out of the VA loss and unknown
classes (-1) out of the cross-entropy, so every annotated signal is used. A seeded
held-out split keeps whole identities apart when the manifest names them.

A run folder (contemo.training.runs, like a GAN run's) holds config.json (resolved
settings + data), log.txt, stats.jsonl (one line per epoch), checkpoints/ (model, Adam
and RNG states after every epoch, in the training-state format every contemo trainer
writes; `resume` continues from one bit-exactly), and at the end model/ (the release
folder), metrics.json and scatter.png for the held-out split, scored by the released
weights.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from contemo import __version__
from contemo.errors import ContemoError
from contemo.fileio import atomic_write_json
from contemo.models.regressor import VARegressor
from contemo.training import checkpoint as ckpt
from contemo.training.regressor_config import RegressorTrainConfig
from contemo.training.rng import get_rng_state, set_rng_state
from contemo.training.runs import CHECKPOINTS, RunLog, truncate_stats

KEEP_CHECKPOINTS = 2  # the newest two: one to fall back to when the newest is damaged
# The run config.json tag, named `format` like every other contemo file (was "kind").
RUN_FORMAT = "contemo-regressor-run/1"
IDENTITY_COLUMNS = ("identity", "person", "person_id", "subject", "subject_id")


@dataclass
class Split:
    """A data set's images (uint8), VA (NaN unknown) and classes (-1 unknown), by split."""

    images: torch.Tensor  # (N, 3, S, S) uint8
    va: torch.Tensor  # (N, 2) float32
    classes: torch.Tensor  # (N,) int64

    def __len__(self) -> int:
        return len(self.images)

    def take(self, index: np.ndarray) -> Split:
        """Return the rows at `index`."""
        idx = torch.as_tensor(index, dtype=torch.int64)
        return Split(self.images[idx], self.va[idx], self.classes[idx])


def identity_groups(dataset: Any, root: Path, manifest: Path | None) -> tuple[np.ndarray, str]:
    """Return (a group key per image, what it is): the manifest's identity column, else the row.

    The AffectNet layout reads only AffectNet's columns, so an identity column that a
    synthetic set adds is read here, matched to records by their manifest line.
    """
    from contemo.data.affectnet import find_manifest
    from contemo.data.manifest import read_header, rows

    csv_path = manifest or find_manifest(root)
    column = next((c for c in IDENTITY_COLUMNS if c in read_header(csv_path)), None)
    lines = [r.meta.get("row", i) for i, r in enumerate(dataset.records)]
    if column is None:
        return np.asarray([f"row{line}" for line in lines]), "image"
    by_line = {line: row[column] for line, row in rows(csv_path)}
    return np.asarray([by_line.get(line, f"row{line}") for line in lines]), f"identity ({column})"


def split_groups(groups: np.ndarray, val_fraction: float, seed: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Return (train, held-out) indices: whole groups, shuffled by `seed`, ~val_fraction held out."""
    unique = np.unique(groups)
    if len(unique) < 2:
        raise ContemoError(f"cannot hold out a split: the data has {len(unique)} image/identity "
                           "(need at least 2)")
    order = np.random.default_rng(seed).permutation(unique)
    target = max(1, round(val_fraction * len(groups)))
    counts = {g: c for g, c in zip(*np.unique(groups, return_counts=True))}
    held, n = [], 0
    for g in order[:-1]:  # the last group always trains
        if n >= target:
            break
        held.append(g)
        n += counts[g]
    is_val = np.isin(groups, held)
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def load_split(root: Path, config: RegressorTrainConfig, manifest: Path | None = None
               ) -> tuple[Split, Any]:
    """Return (all usable images of an AffectNet-layout folder, the FaceDataset they came from)."""
    from contemo.data import open_dataset

    dataset = open_dataset(root, "affectnet", config.input_size, manifest=manifest)
    has_va = ~dataset.va.isnan().any(1)
    if not bool(has_va.any()) and not bool((dataset.classes >= 0).any()):
        raise ContemoError(f"{root}: no image has valence/arousal or a class to learn from")
    return Split(dataset.images_uint8, dataset.va, dataset.classes), dataset


def augment(x: torch.Tensor, gen: torch.Generator, shift: int) -> torch.Tensor:
    """Return a batch randomly flipped left-right and shifted by up to `shift` px (edge-padded)."""
    flip = torch.rand(len(x), generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if shift <= 0:
        return x
    size = x.shape[-1]
    padded = F.pad(x, (shift,) * 4, mode="replicate")
    offsets = torch.randint(0, 2 * shift + 1, (len(x), 2), generator=gen)
    rows = (offsets[:, 0, None] + torch.arange(size))[:, None, :, None]
    cols = (offsets[:, 1, None] + torch.arange(size))[:, None, None, :]
    batch = torch.arange(len(x))[:, None, None, None]
    chans = torch.arange(x.shape[1])[None, :, None, None]
    return padded[batch, chans, rows, cols]


def losses(model: VARegressor, x: torch.Tensor, va: torch.Tensor, cls: torch.Tensor
           ) -> dict[str, torch.Tensor]:
    """Return {va_mse, va_ccc_loss, class_ce}: masked to annotated rows, 0 where there are none.

    ``va_ccc_loss`` is the mean over valence and arousal of 1 - CCC on the batch, the
    loss many AffectNet regressors add to MSE: it rewards matching the spread of the
    targets, which MSE alone undershoots (predictions shrink toward the mean).
    """
    pred, logits, _ = model(x)
    zero = pred.sum() * 0
    known_va = ~va.isnan().any(1)
    out = {"va_mse": zero, "va_ccc_loss": zero, "class_ce": zero}
    if known_va.any():
        p, t = pred[known_va], va[known_va]
        out["va_mse"] = F.mse_loss(p, t)
        if len(p) > 1:
            pm, tm = p.mean(0), t.mean(0)
            cov = ((p - pm) * (t - tm)).mean(0)
            denom = p.var(0, unbiased=False) + t.var(0, unbiased=False) + (pm - tm) ** 2
            out["va_ccc_loss"] = (1 - 2 * cov / denom.clamp_min(1e-8)).mean()
    known = cls >= 0
    if logits is not None and known.any():
        out["class_ce"] = F.cross_entropy(logits[known], cls[known])
    return out


def lr_at(config: RegressorTrainConfig, step: int, total: int) -> float:
    """Return the learning rate at optimizer step `step` of `total` (resumable: no state)."""
    if config.lr_schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * min(step, total) / max(total, 1)))
    return config.lr


def save_checkpoint(folder: Path, model: VARegressor, opt: torch.optim.Optimizer, epoch: int,
                    step: int, config: RegressorTrainConfig) -> Path:
    """Return the checkpoint written after `epoch` epochs (`step` optimizer steps) into `folder`.

    The training-state format of every contemo trainer (contemo.training.checkpoint):
    model, Adam moments and every RNG state as safetensors, the rest as a checksummed
    JSON sidecar; the newest KEEP_CHECKPOINTS are kept.
    """
    opt_tensors, opt_meta = ckpt.flatten_optimizer("opt", opt.state_dict())
    rng_tensors, rng_meta = get_rng_state()
    tensors = {**ckpt.module_tensors("model", model), **opt_tensors, **rng_tensors}
    meta = {"trainer": "regressor", "epoch": epoch, "opt": opt_meta, "rng": rng_meta,
            "config": config.to_dict(), "contemo_version": __version__}
    path = ckpt.save(folder, step, tensors, meta)
    ckpt.prune(folder, KEEP_CHECKPOINTS)
    return path


def load_checkpoint(sidecar: Path, model: VARegressor, opt: torch.optim.Optimizer) -> int:
    """Return the epochs done after restoring model, Adam and RNG states from a checkpoint.

    The RNG states matter: dropout draws from torch's global generator, so a resumed run
    repeats the straight run's draws only when that generator continues where it was.
    """
    tensors, meta = ckpt.load(sidecar, ckpt.RegressorSidecar)
    ckpt.load_module("model", model, tensors, sidecar)
    try:
        opt.load_state_dict(ckpt.unflatten_optimizer("opt", tensors, meta["opt"],
                                                     opt.state_dict()))
    except (KeyError, ValueError, RuntimeError) as err:
        raise ContemoError(f"{sidecar}: optimizer state opt unusable ({err})".splitlines()[0]
                           ) from None
    set_rng_state(tensors, meta["rng"])
    return int(meta["epoch"])


def train(run_dir: Path, config: RegressorTrainConfig, train_set: Split, held_out: Split, *,
          device: torch.device, resume: Path | None = None, name: str = "contemo-regressor"
          ) -> VARegressor:
    """Return the trained regressor after running the epochs of `config` in `run_dir`.

    `resume` is the checkpoint to continue from (contemo.training.runs.resume_point);
    the run goes on exactly as if it had never stopped.
    """
    from contemo.training.regressor_report import evaluate

    torch.manual_seed(config.seed)
    # channels_last: MobileNetV2's depthwise convs train ~1.6x faster on CPU in this layout.
    model = VARegressor(config.model_config(), name=name).to(device,
                                                             memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    log = RunLog(run_dir)
    start = load_checkpoint(resume, model, opt) if resume is not None else 0
    steps_per_epoch = math.ceil(len(train_set) / config.batch_size)
    truncate_stats(run_dir, start * steps_per_epoch)  # a crash may have logged more epochs
    log.line(f"resumed from {resume.name} (epoch {start})" if resume else "new run")
    total = steps_per_epoch * config.epochs
    for epoch in range(start, config.epochs):
        gen = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        order = torch.randperm(len(train_set), generator=gen)
        model.train()
        sums = {"va_mse": 0.0, "va_ccc_loss": 0.0, "class_ce": 0.0}
        t0 = time.perf_counter()
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{config.epochs}",
                   unit="batch", disable=None, leave=False)
        for i in bar:
            idx = order[i * config.batch_size:(i + 1) * config.batch_size]
            x = train_set.images[idx].float().div_(127.5).sub_(1.0)
            if config.augment:
                x = augment(x, gen, config.shift)
            x = model.prepare(x.to(device)).contiguous(memory_format=torch.channels_last)
            for group in opt.param_groups:
                group["lr"] = lr_at(config, epoch * steps_per_epoch + i, total)
            parts = losses(model, x, train_set.va[idx].to(device),
                           train_set.classes[idx].to(device))
            loss = (parts["va_mse"] + config.ccc_weight * parts["va_ccc_loss"]
                    + config.class_weight * parts["class_ce"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            for key, value in parts.items():
                sums[key] += value.item() * len(idx)
            bar.set_postfix(va_mse=f"{parts['va_mse'].item():.4f}",
                            ce=f"{parts['class_ce'].item():.3f}")
        seconds = time.perf_counter() - t0
        report = evaluate(model, held_out)
        stats = {
            "epoch": epoch + 1, "step": (epoch + 1) * steps_per_epoch,
            "lr": opt.param_groups[0]["lr"],
            **{f"train_{k}": v / len(train_set) for k, v in sums.items()},
            "held_out_ccc_valence": report["valence"]["ccc"],
            "held_out_ccc_arousal": report["arousal"]["ccc"],
            "held_out_rmse_valence": report["valence"]["rmse"],
            "held_out_rmse_arousal": report["arousal"]["rmse"],
            "held_out_accuracy": report["classes"]["accuracy"],
            "seconds": round(seconds, 2), "images_per_second": round(len(train_set) / seconds, 1),
        }
        log.stats(stats)  # before the checkpoint: a resume cuts what it did not save
        path = save_checkpoint(run_dir / CHECKPOINTS, model, opt, epoch + 1,
                               (epoch + 1) * steps_per_epoch, config)
        log.line(f"checkpoint {path.name} (epoch {epoch + 1})")
        tqdm.write(
            f"epoch {epoch + 1}/{config.epochs}: va_mse {stats['train_va_mse']:.4f} "
            f"ce {stats['train_class_ce']:.3f} | held-out CCC V {stats['held_out_ccc_valence']:.3f}"
            f" A {stats['held_out_ccc_arousal']:.3f} acc {stats['held_out_accuracy']:.3f}"
            f" | {stats['images_per_second']:.0f} img/s"
        )
    return model.eval()


def write_run_config(run_dir: Path, config: RegressorTrainConfig, data: dict[str, Any],
                     name: str) -> None:
    """Write the run's resolved settings, data description and model name as config.json."""
    atomic_write_json(run_dir / "config.json", {
        "format": RUN_FORMAT, "contemo_version": __version__, "name": name,
        "config": config.to_dict(), "data": data,
    })
