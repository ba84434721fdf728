"""Scoring a regressor on a held-out split: the metrics AffectNet papers report, and a scatter plot.

metrics.json carries CCC, RMSE, PCC and SAGR for valence and arousal, class accuracy
and macro F1, each with the number of images it counts (images without VA or class
annotations are left out of that metric, never scored as errors).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from contemo.emotions import AFFECTNET_CLASSES
from contemo.evaluation.metrics import class_report, va_report
from contemo.figures import plot_figure, save_plot
from contemo.fileio import atomic_write
from contemo.models.regressor import VARegressor


def predict(model: VARegressor, split: Any, batch_size: int = 256
            ) -> tuple[np.ndarray, np.ndarray]:
    """Return (predicted VA (N, 2), class probabilities (N, K)) of a split's uint8 images."""
    vas, probs = [], []
    for i in range(0, len(split), batch_size):
        x = split.images[i:i + batch_size].float().div_(127.5).sub_(1.0)
        out = model.score(x, batch_size=batch_size)
        vas.append(torch.stack([out["valence"], out["arousal"]], 1).numpy())
        probs.append(out["probs"].numpy())
    k = len(model.classes)
    if not vas:
        return np.empty((0, 2)), np.empty((0, k))
    return np.concatenate(vas), np.concatenate(probs)


def evaluate(model: VARegressor, split: Any, plot: Path | None = None,
             title: str = "held-out") -> dict[str, Any]:
    """Return {'valence', 'arousal', 'classes'} metrics of a split; draw the scatter plot too."""
    pred_va, probs = predict(model, split)
    true_va, classes = split.va.numpy(), split.classes.numpy()
    report: dict[str, Any] = va_report(pred_va, true_va)
    report["classes"] = class_report(probs, classes)
    if probs.shape[1]:
        predicted = probs.argmax(1)
        report["classes"]["per_class_accuracy"] = {
            name: (float(np.mean(predicted[classes == c] == c)) if np.any(classes == c) else None)
            for c, name in enumerate(AFFECTNET_CLASSES)
        }
    if plot is not None:
        scatter_plot(pred_va, true_va, plot, report, title)
    return report


def scatter_plot(pred: np.ndarray, true: np.ndarray, path: Path, report: dict[str, Any],
                 title: str) -> Path:
    """Return `path` after drawing predicted vs true valence and arousal side by side (PNG)."""
    fig = plot_figure(figsize=(9, 4.4))
    axes = fig.subplots(1, 2)
    for i, (ax, dim) in enumerate(zip(axes, ("valence", "arousal"))):
        keep = np.isfinite(pred[:, i]) & np.isfinite(true[:, i])
        ax.scatter(true[keep, i], pred[keep, i], s=6, alpha=0.35, color=("#c0392b", "#27ae60")[i],
                   edgecolors="none")
        ax.plot([-1, 1], [-1, 1], color="#333", lw=0.8, ls="--", label="perfect")
        m = report[dim]
        ax.set_title(f"{dim}: CCC {m['ccc']:.3f}  RMSE {m['rmse']:.3f}\n"
                     f"PCC {m['pcc']:.3f}  SAGR {m['sagr']:.3f}  (n={m['n']})", fontsize=9)
        ax.set_xlabel(f"true {dim}")
        ax.set_ylabel(f"predicted {dim}")
        ax.set_xlim(-1.05, 1.05)
        ax.set_ylim(-1.05, 1.05)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(f"VA regressor, {title}", fontsize=10)
    fig.tight_layout()
    return save_plot(fig, path)


def write_model_card(path: Path, run_dir: Path, config: Any, data: dict[str, Any],
                     report: dict[str, Any], command: str, *, name: str, device: str,
                     last_call_seconds: float) -> Path:
    """Return `path` after writing the release's MODEL_CARD.md from the run's own records."""
    import json
    import os
    import platform

    stats = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()
             if line.strip()]
    train_seconds = sum(s["seconds"] for s in stats)
    rows = "\n".join(
        f"| {dim} | {report[dim]['ccc']:.4f} | {report[dim]['rmse']:.4f} | "
        f"{report[dim]['pcc']:.4f} | {report[dim]['sagr']:.4f} | {report[dim]['n']} |"
        for dim in ("valence", "arousal")
    )
    cls = report["classes"]
    make_data = _synth_command(Path(data["root"]))
    text = f"""# {name}: contemo valence-arousal regressor

MobileNetV2 (torchvision, width {config.width_mult}, random init: no ImageNet weights) at
{config.input_size} px, a {config.feature_dim}-d shared embedding (the scorer's `features`), a
valence/arousal head (tanh, [-1, 1]) and an 8-class AffectNet head, trained together (paper §4.3).

## Data
- source: `{data['root']}` (AffectNet layout), {data['images']} images
- split by {data['split']}: {data['train']} train / {data['held_out']} held out

## Training
- preset `{config.preset}`: {config.epochs} epochs, Adam lr {config.lr} ({config.lr_schedule}),
  batch {config.batch_size}, class weight {config.class_weight}, augmentation
  {'flip + shift ' + str(config.shift) + ' px' if config.augment else 'off'}, seed {config.seed}
- training time: {train_seconds / 60:.1f} min over {len(stats)} epochs (sum of stats.jsonl
  `seconds`; the last invocation took {last_call_seconds / 60:.1f} min including held-out scoring)
- machine: {platform.platform()}, {os.cpu_count()} CPU cores, torch threads
  {__import__('torch').get_num_threads()}, device {device}

## Held-out metrics (these released weights)
| | CCC | RMSE | PCC | SAGR | n |
|---|---|---|---|---|---|
{rows}

Class accuracy {cls['accuracy']:.4f}, macro F1 {cls['macro_f1']:.4f} (n={cls['n']}).

## Reproduce
```
{make_data}{command}
```
"""
    atomic_write(path, lambda tmp: tmp.write_text(text))
    return path


def _synth_command(root: Path) -> str:
    """Return the `contemo data synth` line that regenerates a synthetic set (+ newline), or ''."""
    import json
    import shlex

    try:
        info = json.loads((root / "synth.json").read_text())
    except (OSError, ValueError):
        return ""
    if info.get("kind") != "continuous":
        return ""
    return shlex.join(["contemo", "data", "synth", "--continuous", str(info["images"]),
                       "--size", str(info["size"]), "--seed", str(info["seed"]),
                       "--out", str(root)]) + "\n"
