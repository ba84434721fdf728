"""The judge's results as files (CSV, JSON, plot) and as a short table for the terminal."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from contemo.errors import ContemoError
from contemo.fileio import atomic_write_bytes, atomic_write_json
from contemo.judge.scores import JudgeResult, rows

CSV_NAME, JSON_NAME, PNG_NAME = "judge_scores.csv", "judge_summary.json", "judge.png"


def write_report(result: JudgeResult, report: dict[str, Any], out: str | Path,
                 plot: bool = True) -> list[Path]:
    """Return the paths written into `out`: per-image CSV, summary JSON and (if `plot`) PNG."""
    out = Path(out)
    table = rows(result)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(table[0]))
    writer.writeheader()
    writer.writerows(table)
    try:
        files = [atomic_write_bytes(out / CSV_NAME, text.getvalue().encode()),
                 atomic_write_json(out / JSON_NAME, report)]
        if plot:
            from contemo.judge.plot import plot_judge

            files.append(plot_judge(result, report, out / PNG_NAME))
    except OSError as err:
        raise ContemoError(f"{out}: cannot write results ({err.strerror or err})") from None
    return files


def format_report(report: dict[str, Any]) -> str:
    """Return the summary as a few aligned lines for the terminal."""
    head = (f"judge: {report['images']} images in {report['root']} "
            f"({report['skipped']} skipped, crop {report['judge']['crop']:g}, "
            f"{report['images_per_second']} img/s)")
    lines = [head]
    lines.append(f"  {'class':<9} {'predicted':>9} {'mean p':>7}" +
                 (f" {'recall':>7}" if "recall" in report else ""))
    for name in report["classes"]:
        recall = report.get("recall", {}).get(name)
        tail = f" {recall:7.3f}" if recall is not None else ""
        lines.append(f"  {name:<9} {report['predicted_counts'][name]:>9} "
                     f"{report['mean_probs'][name]:7.3f}{tail}")
    va = report["va_proxy"]
    lines.append(f"  VA proxy mean: valence {va['valence_mean']:+.3f}, "
                 f"arousal {va['arousal_mean']:+.3f}")
    if "accuracy" in report:
        lines.append(f"  accuracy {report['accuracy']:.3f} on {report['labelled']} labelled images")
    if "auc_happy_vs_neutral" in report:
        lines.append(f"  ROC AUC of P(happy), happy vs neutral: {report['auc_happy_vs_neutral']:.3f}")
    return "\n".join(lines)
