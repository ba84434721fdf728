"""Study results like the paper's Fig. 4: agreement per emotion, real (blue) vs generated (orange).

For each emotion an image is meant to show (a panel) and each emotion rated (the
x-axis), the Likert answers (1 = strongly agree ... 5 = strongly disagree) of real
and of generated images are summarised by their distribution (bubble areas), mean
and SD. Real vs generated is tested per participant (contemo.evaluation.study_stats:
Wilcoxon signed-rank on per-participant means, Holm-corrected, rank-biserial effect
sizes with bootstrap CIs); the headline per emotion is the *recognition* cell, where
the rated emotion is the shown one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from contemo.emotions import EMOTIONS
from contemo.evaluation.study_stats import DEFAULT_BOOTSTRAP, infer
from contemo.figures import plot_bytes, plot_figure
from contemo.fileio import atomic_write_bytes, atomic_write_json
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


def describe_cells(rows: list[dict], *, missing_real: list[str] | None = None
                   ) -> dict[str, Any]:
    """Return the descriptive statistics of answer rows (export.answer_rows): Fig. 4's data."""
    cells: dict[tuple[str, str, str], list[int]] = {}
    for row in rows:
        if row["source"] in SOURCES and row["image_emotion"] in EMOTIONS:
            key = (row["image_emotion"], row["rated_emotion"], row["source"])
            cells.setdefault(key, []).append(int(row["value"]))
    emotions = {}
    for shown in EMOTIONS:
        ratings = {rated: {source: describe(cells.get((shown, rated, source), []))
                           for source in SOURCES} for rated in EMOTIONS}
        emotions[shown] = {"recognition": ratings[shown], "ratings": ratings}
    participants = {row["participant"] for row in rows if row["source"] in SOURCES}
    return {
        "answers": sum(1 for row in rows if row["source"] in SOURCES),
        "participants": len(participants),
        "likert": {str(k): v for k, v in LIKERT.items()},
        "missing_real": list(missing_real or []), "emotions": emotions,
    }


def analyze(rows: list[dict], *, missing_real: list[str] | None = None,
            exclusions: dict[str, list] | None = None, n_boot: int = DEFAULT_BOOTSTRAP,
            mixed: bool = True) -> dict[str, Any]:
    """Return descriptives plus the paired, corrected tests (evaluation.study_stats.infer).

    Each (shown, rated) cell gets a "test" with the per-participant Wilcoxon result,
    Holm/BH-adjusted p, and the rank-biserial effect with its CI; `exclusions` (who
    was left out and why) is recorded as given.
    """
    stats = describe_cells(rows, missing_real=missing_real)
    inference = infer(rows, n_boot=n_boot, mixed=mixed)
    for shown, cell in stats["emotions"].items():
        for rated, described in cell["ratings"].items():
            described["test"] = inference["cells"][shown][rated]
        cell["recognition_mixedlm"] = inference["recognition_mixedlm"].get(shown)
    stats.update(method=inference["method"], alpha=inference["alpha"],
                 tests=inference["tests"], exclusions=exclusions or {})
    return stats


def apply_exclusions(rows: list[dict], *, completed_only: bool = False,
                     keep_speeders: bool = False, keep_failed_catch: bool = False
                     ) -> tuple[list[dict], dict[str, list]]:
    """Return (rows kept, participant numbers left out per reason) for the analysis.

    Left out: participants the researcher excluded (always), those who failed an
    attention check, speeders, and with `completed_only` those who did not finish. A
    participant is listed under the first reason that applies, in that order.
    """
    reasons = {"researcher": lambda r: bool(r["excluded"]),
               "failed_catch": lambda r: not keep_failed_catch and r["catch_ok"] == 0,
               "speeder": lambda r: not keep_speeders and r["speeder"] == 1,
               "incomplete": lambda r: completed_only and not r["participant_completed"]}
    left_out: dict[str, list] = {name: [] for name in reasons}
    verdict: dict[Any, str | None] = {}
    for row in rows:
        if row["participant"] not in verdict:
            verdict[row["participant"]] = next(
                (name for name, test in reasons.items() if test(row)), None)
            if verdict[row["participant"]]:
                left_out[verdict[row["participant"]]].append(row["participant"])
    return [r for r in rows if verdict[r["participant"]] is None], left_out


def recognition_verdict(stats: dict[str, Any], shown: str) -> str:
    """Return the one-line result of a recognition cell (what the plot and table print)."""
    rec = stats["emotions"][shown]["recognition"]
    if rec["real"]["n"] == 0:
        return "no real images"
    test = rec.get("test")
    if not test or test["p"] is None:
        return "recognition: test n/a"
    return (f"Δ={test['mean_diff']:+.2f}, r={test['r']:+.2f}, "
            f"p_holm={test['p_holm']:.3g}")


def plot(stats: dict[str, Any], out: str | Path, title: str = "") -> Path:
    """Return `out` after drawing the Fig. 4-style grid: one panel per shown emotion."""
    out = Path(out)
    return atomic_write_bytes(out, figure_png(stats, title))


def figure_png(stats: dict[str, Any], title: str = "") -> bytes:
    """Return the Fig. 4-style grid as PNG bytes (no pyplot state: safe in a server thread)."""
    from matplotlib.lines import Line2D

    fig = plot_figure(figsize=(13, 7.6))
    axes = fig.subplots(2, 3, sharey=True)
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
        verdict = recognition_verdict(stats, shown) if "method" in stats else (
            "no real images" if stats["emotions"][shown]["recognition"]["real"]["n"] == 0
            else "")
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
    return plot_bytes(fig, dpi=130)


def write_results(stats: dict[str, Any], out_dir: str | Path, title: str = "") -> tuple[Path, Path]:
    """Return (plot path, stats path) after writing fig4.png and stats.json into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return plot(stats, out_dir / "fig4.png", title), atomic_write_json(out_dir / "stats.json",
                                                                       stats)
