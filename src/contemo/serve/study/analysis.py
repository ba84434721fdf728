"""Study results like the paper's Fig. 4: agreement per emotion, real (blue) vs generated (orange).

For each emotion an image is meant to show (a panel) and each emotion rated (the
x-axis), the Likert answers (1 = strongly agree ... 5 = strongly disagree) of real
and of generated images are summarised by their distribution (bubble areas), mean
and SD. Real vs generated is tested with a two-sided Mann-Whitney U test (scipy),
which suits ordinal Likert data; the headline per emotion is the *recognition*
cell, where the rated emotion is the shown one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from contemo.emotions import EMOTIONS
from contemo.fileio import atomic_write, atomic_write_json
from contemo.serve.study.folder import LIKERT, SOURCES

REAL_COLOR, GENERATED_COLOR = "#1f77b4", "#ff7f0e"  # the paper's blue and orange
COLORS = {"real": REAL_COLOR, "generated": GENERATED_COLOR}


def describe(values: list[int]) -> dict[str, Any]:
    """Return n, mean, SD (ddof=1) and the count of each Likert level of some answers."""
    arr = np.asarray(values, dtype=np.float64)
    counts = [int((arr == level).sum()) for level in LIKERT]
    if arr.size == 0:
        return {"n": 0, "mean": None, "sd": None, "counts": counts}
    sd = float(arr.std(ddof=1)) if arr.size > 1 else None
    return {"n": int(arr.size), "mean": round(float(arr.mean()), 4),
            "sd": None if sd is None else round(sd, 4), "counts": counts}


def mann_whitney(real: list[int], generated: list[int]) -> dict[str, Any]:
    """Return the two-sided Mann-Whitney U test of real vs generated (or why it was not run)."""
    from scipy.stats import mannwhitneyu

    if not real or not generated:
        return {"U": None, "p": None, "reason": "no real answers" if not real
                else "no generated answers"}
    result = mannwhitneyu(real, generated, alternative="two-sided")
    p = float(result.pvalue)
    return {"U": float(result.statistic), "p": None if np.isnan(p) else round(p, 6),
            "alternative": "two-sided"}


def analyze(rows: list[dict], *, missing_real: list[str] | None = None) -> dict[str, Any]:
    """Return per-emotion statistics of exported answer rows (see export.answer_rows)."""
    cells: dict[tuple[str, str, str], list[int]] = {}
    for row in rows:
        if row["source"] in SOURCES and row["image_emotion"] in EMOTIONS:
            key = (row["image_emotion"], row["rated_emotion"], row["source"])
            cells.setdefault(key, []).append(int(row["value"]))
    emotions = {}
    for shown in EMOTIONS:
        ratings = {}
        for rated in EMOTIONS:
            real = cells.get((shown, rated, "real"), [])
            generated = cells.get((shown, rated, "generated"), [])
            ratings[rated] = {"real": describe(real), "generated": describe(generated),
                              "mann_whitney": mann_whitney(real, generated)}
        emotions[shown] = {"recognition": ratings[shown], "ratings": ratings}
    participants = {row["participant"] for row in rows}
    completed = {row["participant"] for row in rows if row.get("participant_completed")}
    return {
        "answers": len(rows), "participants": len(participants), "completed": len(completed),
        "likert": {str(k): v for k, v in LIKERT.items()},
        "missing_real": list(missing_real or []),
        "test": "Mann-Whitney U, two-sided, real vs generated, per (shown, rated) emotion",
        "emotions": emotions,
    }


def plot(stats: dict[str, Any], out: str | Path, title: str = "") -> Path:
    """Return `out` after drawing the Fig. 4-style grid: one panel per shown emotion."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(2, 3, figsize=(13, 7.6), sharey=True)
    x = np.arange(len(EMOTIONS))
    levels = np.array(list(LIKERT))
    for ax, shown in zip(axes.flat, EMOTIONS):
        ratings = stats["emotions"][shown]["ratings"]
        for source, dx in (("real", -0.17), ("generated", 0.17)):
            means = []
            for i, rated in enumerate(EMOTIONS):
                cell = ratings[rated][source]
                means.append(np.nan if cell["mean"] is None else cell["mean"])
                if cell["n"]:
                    share = np.asarray(cell["counts"]) / cell["n"]
                    ax.scatter(np.full(len(levels), i + dx), levels, s=share * 260,
                               color=COLORS[source], alpha=0.35, linewidths=0)
            ax.plot(x + dx, means, "-o", color=COLORS[source], lw=1.8, ms=4.5)
        rec = stats["emotions"][shown]["recognition"]
        test = rec["mann_whitney"]
        verdict = "no real images" if rec["real"]["n"] == 0 else (
            f"recognition U={test['U']:.0f}, p={test['p']:.3g}" if test["p"] is not None
            else "recognition: test n/a")
        ax.set_title(f"shown: {shown}", fontsize=12, fontweight="bold", loc="left")
        ax.text(0.99, 1.02, verdict, transform=ax.transAxes, ha="right", va="bottom",
                fontsize=8.5, color="#555")
        ax.axvspan(EMOTIONS.index(shown) - 0.45, EMOTIONS.index(shown) + 0.45,
                   color="#e8ecf5", zorder=0)
        ax.set_xticks(x, EMOTIONS, rotation=30, fontsize=9)
        ax.set_xlim(-0.6, len(EMOTIONS) - 0.4)
        ax.grid(axis="y", color="#e5e5e5", lw=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    for ax in axes[:, 0]:
        ax.set_yticks(levels, [f"{k} {v}" if k in (1, 5) else str(k) for k, v in LIKERT.items()],
                      fontsize=9)
        ax.set_ylabel("agreement (Likert)")
    axes[0, 0].set_ylim(5.5, 0.5)  # 1 = strongly agree at the top
    handles = [Line2D([], [], color=REAL_COLOR, marker="o", label="real images"),
               Line2D([], [], color=GENERATED_COLOR, marker="o", label="generated (one-hot)")]
    n = f"{stats['participants']} participants, {stats['answers']} answers"
    fig.suptitle(f"{title + ': ' if title else ''}perceived emotion by shown emotion ({n})",
                 fontsize=13)
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False, fontsize=10,
               title="line: mean; bubble area: share of answers at each level",
               title_fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    out = Path(out)
    atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=130))
    plt.close(fig)
    return out


def write_results(stats: dict[str, Any], out_dir: str | Path, title: str = "") -> tuple[Path, Path]:
    """Return (plot path, stats path) after writing fig4.png and stats.json into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return plot(stats, out_dir / "fig4.png", title), atomic_write_json(out_dir / "stats.json",
                                                                       stats)
