"""Evaluation pictures: Fig. 6-style sweep curves, calibration before/after, targeting arrows.

Matplotlib with the Agg backend (no display needed); every figure is written
atomically as PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from contemo.emotions import EMOTIONS, va_anchor
from contemo.figures import plot_figure, save_plot

VALENCE, AROUSAL = "#d62728", "#2ca02c"  # the paper's Fig. 6: valence red, arousal green
EMOTION_COLOURS = {"neutral": "#7f7f7f", "sad": "#1f77b4", "disgust": "#8c564b",
                   "fear": "#9467bd", "angry": "#d62728", "happy": "#ff7f0e"}


def _circumplex(ax: Any, title: str) -> None:
    """Draw the unit VA circle, axes and theoretical anchors on `ax`."""
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(t), np.sin(t), color="#bbbbbb", lw=0.8)
    ax.axhline(0, color="#dddddd", lw=0.8)
    ax.axvline(0, color="#dddddd", lw=0.8)
    for e in EMOTIONS:
        v, a = va_anchor(e)
        ax.plot(v, a, marker="x", color=EMOTION_COLOURS[e], ms=7, mew=2)
        ax.annotate(e, (v, a), textcoords="offset points", xytext=(4, 4), fontsize=7,
                    color=EMOTION_COLOURS[e])
    ax.set_xlim(-1.1, 1.1)
    ax.set_ylim(-1.1, 1.1)
    ax.set_aspect("equal")
    ax.set_xlabel("valence")
    ax.set_ylabel("arousal")
    ax.set_title(title, fontsize=9)


def plot_sweep(steps: Sequence[dict[str, Any]], file: Path, title: str = "",
               anchors: dict[str, Any] | None = None) -> Path:
    """Return `file` after drawing one V/A-vs-step panel per emotion plus the VA-plane paths."""
    emotions = list(dict.fromkeys(row["emotion"] for row in steps))
    cols = 3
    panels = len(emotions) + 1
    rows_n = (panels + cols - 1) // cols
    fig = plot_figure(figsize=(4.0 * cols, 3.2 * rows_n))
    axes = fig.subplots(rows_n, cols, squeeze=False)
    flat = axes.ravel()
    plane = flat[len(emotions)]
    _circumplex(plane, "mean path in VA (x = theoretical anchor, o = measured)")
    for ax, emotion in zip(flat, emotions, strict=False):
        rows = [r for r in steps if r["emotion"] == emotion]
        x = np.array([r["step"] for r in rows])
        for axis, colour in (("valence", VALENCE), ("arousal", AROUSAL)):
            m = np.array([r[f"{axis}_mean"] for r in rows], dtype=float)
            sd = np.array([r[f"{axis}_sd"] for r in rows], dtype=float)
            ax.fill_between(x, m - sd, m + sd, color=colour, alpha=0.18, lw=0)
            ax.plot(x, m, color=colour, marker="o", ms=3, label=f"{axis} (mean ± SD)")
        ax.set_title(f"neutral -> {emotion}", fontsize=10)
        ax.set_xlabel("interpolation step")
        ax.set_ylim(-1.05, 1.05)
        ax.axhline(0, color="#cccccc", lw=0.8)
        ax.set_xticks(x)
        ax.tick_params(labelsize=7)
        if len(x) < 12:
            weights = [r["weight"] for r in rows]
            ax.set_xticklabels([f"{i}\n{w:.2f}" for i, w in zip(x, weights, strict=True)],
                               fontsize=6)
        v = [r["valence_mean"] for r in rows]
        a = [r["arousal_mean"] for r in rows]
        plane.plot(v, a, "-", color=EMOTION_COLOURS[emotion], lw=1.5)
        plane.plot(v[-1], a[-1], "o", color=EMOTION_COLOURS[emotion], ms=5)
    flat[0].legend(fontsize=7, loc="lower left")
    for ax in flat[panels:]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_plot(fig, file)


def plot_calibration(comparison: dict[str, Any], file: Path) -> Path:
    """Return `file` after drawing each emotion's VA progress vs step, before and after."""
    emotions = list(comparison["emotions"])
    fig = plot_figure(figsize=(3.2 * len(emotions), 3.2))
    axes = fig.subplots(1, len(emotions), squeeze=False)
    for ax, emotion in zip(axes[0], emotions, strict=True):
        c = comparison["emotions"][emotion]
        for key, colour, label in (("before", "#7f7f7f", "uniform steps"),
                                   ("after", "#1f77b4", "calibrated steps")):
            prog = np.array([np.nan if p is None else p for p in c[key]["progress"]], float)
            x = np.arange(len(prog))
            r2 = c[key]["linearity_r2"]["progress"]
            ax.plot(x, prog, marker="o", ms=3, color=colour,
                    label=f"{label} (R²={'n/a' if r2 is None else f'{r2:.3f}'})")
        ax.plot([0, len(prog) - 1], [0, 1], ":", color="#333333", lw=0.8, label="ideal line")
        ax.set_title(f"neutral -> {emotion}", fontsize=10)
        ax.set_xlabel("interpolation step")
        ax.set_ylabel("VA progress (0 = start, 1 = end)")
        ax.legend(fontsize=6, loc="upper left")
    fig.suptitle("calibrated interpolation: equal steps, equal VA change?", fontsize=10)
    fig.tight_layout()
    return save_plot(fig, file)


def plot_targeting(runs: dict[str, Any], file: Path) -> Path:
    """Return `file` after drawing requested -> achieved arrows on the circumplex, per anchor set."""
    fig = plot_figure(figsize=(5.2 * len(runs), 5.2))
    axes = fig.subplots(1, len(runs), squeeze=False)
    for ax, (name, run) in zip(axes[0], runs.items(), strict=True):
        mae = run["mae"]["reachable"]
        _circumplex(ax, f"{name} anchors: requested -> achieved\n"
                        f"MAE reachable {mae:.3f}, all {run['mae']['all']:.3f}")
        for t in run["targets"]:
            (rv, ra), (mv, ma) = t["requested"], t["measured"]
            colour = "#d62728" if t["clipped"] else "#1f77b4"
            ax.annotate("", xy=(mv, ma), xytext=(rv, ra),
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 0.9})
            ax.plot(rv, ra, ".", color=colour, ms=3)
        anchors = run.get("anchors") or {}
        for e, (v, a) in anchors.items():
            ax.plot(v, a, "o", mfc="none", color=EMOTION_COLOURS.get(e, "k"), ms=8)
        ax.plot([], [], color="#1f77b4", label="reachable target")
        ax.plot([], [], color="#d62728", label="clipped to reachable region")
        ax.plot([], [], "o", mfc="none", color="k", label="anchors used")
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return save_plot(fig, file)
