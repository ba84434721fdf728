"""The judge's picture: where each face lands in VA space, and (if labelled) the confusion matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from contemo.emotions import FER2013_CLASSES, VA_ANCHORS
from contemo.figures import plot_figure, save_plot
from contemo.judge.scores import JudgeResult

# One colour per FER2013 class, stable across every judge figure.
CLASS_COLORS = dict(zip(FER2013_CLASSES, (
    "#d62728", "#8c564b", "#9467bd", "#ff7f0e", "#1f77b4", "#e377c2", "#7f7f7f",
)))


def plot_judge(result: JudgeResult, summary: dict[str, Any], path: str | Path) -> Path:
    """Return `path` after drawing the VA-proxy scatter and, for labelled sets, the confusion."""
    labelled = "confusion" in summary
    fig = plot_figure(figsize=(11 if labelled else 5.6, 5))
    axes = fig.subplots(1, 2 if labelled else 1, squeeze=False)
    _va_scatter(axes[0, 0], result)
    if labelled:
        _confusion(axes[0, 1], summary)
    title = f"judge (FER2013 mini-Xception) on {result.root.name}: {len(result.records)} images"
    if "auc_happy_vs_neutral" in summary:
        title += f", happy-vs-neutral AUC {summary['auc_happy_vs_neutral']:.3f}"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_plot(fig, path)


def _va_scatter(ax, result: JudgeResult) -> None:
    """Draw each face's VA proxy, coloured by its true class (or predicted when unlabelled)."""
    known = any(t is not None for t in result.truth)
    names = [t or "unlabelled" for t in result.truth] if known else \
        [FER2013_CLASSES[k] for k in result.probs.argmax(1)]
    for name in dict.fromkeys(names):
        mask = np.array([n == name for n in names])
        ax.scatter(result.valence[mask], result.arousal[mask], s=14, alpha=0.7,
                   color=CLASS_COLORS.get(name, "black"), label=name)
    for name in FER2013_CLASSES:
        v, a = VA_ANCHORS[name]
        ax.scatter([v], [a], marker="x", color=CLASS_COLORS[name], s=50)
        ax.annotate(name, (v, a), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set(xlim=(-1, 1), ylim=(-1, 1), xlabel="valence (proxy)", ylabel="arousal (proxy)",
           title=("true class" if known else "predicted class") + "; x = class anchors")
    ax.axhline(0, color="0.85", lw=0.8)
    ax.axvline(0, color="0.85", lw=0.8)
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="lower right")


def _confusion(ax, summary: dict[str, Any]) -> None:
    """Draw the row-normalised confusion matrix with counts (rows true, columns predicted)."""
    rows = list(summary["confusion"])
    counts = np.array([[summary["confusion"][r][c] for c in FER2013_CLASSES] for r in rows])
    share = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(rows)):
        for j in range(len(FER2013_CLASSES)):
            if counts[i, j]:
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(FER2013_CLASSES)), FER2013_CLASSES, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set(xlabel="judge's prediction", ylabel="label",
           title=f"accuracy {summary['accuracy']:.3f} on {summary['labelled']} labelled")
