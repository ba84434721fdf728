"""Analyze a study: a Fig. 4-style plot and per-emotion statistics (mean, SD, Mann-Whitney U).

Writes fig4.png (real in blue, generated in orange, as in the paper) and
stats.json into --out (default: STUDY/analysis), reading answers.sqlite directly.
"""

from __future__ import annotations

import argparse

EXAMPLES = """\
  contemo study analyze ~/studies/pilot
  contemo study analyze ~/studies/pilot --out results/ --completed-only
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", help="study folder")
    parser.add_argument("--out", default=None, help="output folder (default STUDY/analysis)")
    parser.add_argument("--completed-only", action="store_true",
                        help="use only participants who finished every image")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from contemo.errors import ContemoError
    from contemo.serve.study.analysis import analyze, write_results
    from contemo.serve.study.export import answer_rows
    from contemo.serve.study.folder import load_study
    from contemo.serve.study.store import open_existing

    study = load_study(args.study)
    rows = answer_rows(study, open_existing(study.folder))
    if args.completed_only:
        rows = [r for r in rows if r["participant_completed"]]
    if not rows:
        raise ContemoError(f"{study.folder}: no answers to analyze"
                           + (" from completed participants" if args.completed_only else ""))
    stats = analyze(rows, missing_real=study.data.get("missing_real", []))
    out = Path(args.out) if args.out else study.folder / "analysis"
    figure, table = write_results(stats, out, study.title)
    print(f"{stats['participants']} participants, {stats['answers']} answers")
    print(f"{'shown':8s} {'real mean (SD)':>16s} {'generated mean (SD)':>20s} {'U':>7s} {'p':>8s}")
    for emotion, cell in stats["emotions"].items():
        rec = cell["recognition"]
        test = rec["mann_whitney"]
        print(f"{emotion:8s} {_msd(rec['real']):>16s} {_msd(rec['generated']):>20s} "
              f"{_num(test['U'], '.0f'):>7s} {_num(test['p'], '.3g'):>8s}")
    for emotion in stats["missing_real"]:
        print(f"note: no real images of {emotion} in this study")
    print(f"wrote {figure} and {table}")
    return 0


def _msd(cell: dict) -> str:
    """Return 'mean (SD)' of a described cell, or '-' when it has no answers."""
    if cell["mean"] is None:
        return "-"
    return f"{cell['mean']:.2f} ({cell['sd']:.2f})" if cell["sd"] is not None \
        else f"{cell['mean']:.2f}"


def _num(value: float | None, spec: str) -> str:
    """Return a formatted number or '-'."""
    return "-" if value is None else format(value, spec)
