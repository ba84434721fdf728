"""Training the VA regressor (§4.3): VA regression and 8-class recognition, learnt together.

Data is any AffectNet-layout folder (real AffectNet or contemo's synthetic continuous
set). Unknown valence/arousal (NaN) rows are masked out of the VA loss and unknown
classes (-1) out of the cross-entropy, so every annotated signal is used. A seeded
held-out split keeps whole identities apart when the manifest names them.

A run folder holds config.json (resolved settings + data), stats.jsonl (one line per
epoch), checkpoint.safetensors (model + Adam state, written atomically after every
epoch; `resume=True` continues from it), and at the end model/ (the release folder),
metrics.json and scatter.png for the held-out split, scored by the released weights.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from contemo import __version__
from contemo.errors import ContemoError
from contemo.fileio import atomic_write, atomic_write_json
from contemo.models.regressor import VARegressor
from contemo.training.regressor_config import RegressorTrainConfig

CHECKPOINT = "checkpoint.safetensors"
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


def save_checkpoint(path: Path, model: VARegressor, opt: torch.optim.Optimizer, epoch: int
                    ) -> None:
    """Write model and Adam state after `epoch` epochs as one safetensors file, atomically."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    state = opt.state_dict()
    scalars: dict[str, dict[str, float]] = {}
    for pid, slots in state["state"].items():
        for key, value in slots.items():
            if torch.is_tensor(value) and value.ndim > 0:
                tensors[f"optim.{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = float(value)
    groups = [{k: v for k, v in g.items() if k != "params"} for g in state["param_groups"]]
    meta = {"epoch": str(epoch), "optim_scalars": json.dumps(scalars),
            "param_groups": json.dumps(groups), "contemo_version": __version__}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), meta))


def load_checkpoint(path: Path, model: VARegressor, opt: torch.optim.Optimizer) -> int:
    """Return the epochs done after restoring model and Adam state from `path`."""
    from safetensors import safe_open

    try:
        tensors = load_file(str(path))
        with safe_open(str(path), "pt") as fh:
            meta = fh.metadata() or {}
        epoch = int(meta["epoch"])
        scalars = json.loads(meta["optim_scalars"])
        groups = json.loads(meta["param_groups"])
    except (SafetensorError, OSError, ValueError, KeyError) as err:
        raise ContemoError(f"{path}: not a contemo regressor checkpoint ({err})".splitlines()[0]
                           ) from None
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(model_state, strict=True)
    except RuntimeError:
        raise ContemoError(f"{path}: checkpoint does not fit this run's model config") from None
    current = opt.state_dict()
    slots: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            slots.setdefault(int(pid), {})[name] = value
    for pid, values in scalars.items():
        for name, value in values.items():
            slots.setdefault(int(pid), {})[name] = torch.tensor(value)
    for group, saved in zip(current["param_groups"], groups):
        group.update(saved)
    opt.load_state_dict({"state": slots, "param_groups": current["param_groups"]})
    return epoch


def train(run_dir: Path, config: RegressorTrainConfig, train_set: Split, held_out: Split, *,
          device: torch.device, resume: bool = False, name: str = "contemo-regressor"
          ) -> VARegressor:
    """Return the trained regressor after running (or resuming) the epochs of `config`."""
    from contemo.training.regressor_report import evaluate

    torch.manual_seed(config.seed)
    # channels_last: MobileNetV2's depthwise convs train ~1.6x faster on CPU in this layout.
    model = VARegressor(config.model_config(), name=name).to(device,
                                                             memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    start = load_checkpoint(run_dir / CHECKPOINT, model, opt) if resume else 0
    _keep_stats(run_dir / "stats.jsonl", start)
    steps_per_epoch = math.ceil(len(train_set) / config.batch_size)
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
            "epoch": epoch + 1, "lr": opt.param_groups[0]["lr"],
            **{f"train_{k}": v / len(train_set) for k, v in sums.items()},
            "held_out_ccc_valence": report["valence"]["ccc"],
            "held_out_ccc_arousal": report["arousal"]["ccc"],
            "held_out_rmse_valence": report["valence"]["rmse"],
            "held_out_rmse_arousal": report["arousal"]["rmse"],
            "held_out_accuracy": report["classes"]["accuracy"],
            "seconds": round(seconds, 2), "images_per_second": round(len(train_set) / seconds, 1),
        }
        with open(run_dir / "stats.jsonl", "a") as fh:  # before the checkpoint: resume cuts extras
            fh.write(json.dumps(stats) + "\n")
        save_checkpoint(run_dir / CHECKPOINT, model, opt, epoch + 1)
        tqdm.write(
            f"epoch {epoch + 1}/{config.epochs}: va_mse {stats['train_va_mse']:.4f} "
            f"ce {stats['train_class_ce']:.3f} | held-out CCC V {stats['held_out_ccc_valence']:.3f}"
            f" A {stats['held_out_ccc_arousal']:.3f} acc {stats['held_out_accuracy']:.3f}"
            f" | {stats['images_per_second']:.0f} img/s"
        )
    return model.eval()


def _keep_stats(path: Path, epochs: int) -> None:
    """Cut stats.jsonl back to the `epochs` whose checkpoint exists (a crash may leave more)."""
    if not path.exists():
        return
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    kept = [ln for ln in lines if json.loads(ln).get("epoch", 0) <= epochs]
    atomic_write(path, lambda tmp: tmp.write_text("".join(ln + "\n" for ln in kept)))


def write_run_config(run_dir: Path, config: RegressorTrainConfig, data: dict[str, Any],
                     name: str) -> None:
    """Write the run's resolved settings, data description and model name as config.json."""
    atomic_write_json(run_dir / "config.json", {
        "format": RUN_FORMAT, "contemo_version": __version__, "name": name,
        "config": config.to_dict(), "data": data,
    })
