"""Analyze a study: a Fig. 4-style plot and per-emotion statistics that a reviewer accepts.

Per participant and cell, generated vs real is compared with the Wilcoxon
signed-rank test on per-participant means, Holm-corrected over all cells, with
rank-biserial effect sizes and bootstrap CIs (see contemo.evaluation.study_stats).
Participants the researcher excluded, who failed an attention check or who sped
through are left out, and the report says how many. Reads answers.sqlite read-only.
"""

from __future__ import annotations

import argparse

EXAMPLES = """\
  contemo study analyze ~/studies/pilot
  contemo study analyze ~/studies/pilot --out results/ --completed-only
  contemo study analyze ~/studies/pilot --keep-speeders --keep-failed-catch   # everyone
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", help="study folder")
    parser.add_argument("--out", default=None, help="output folder (default STUDY/analysis)")
    parser.add_argument("--completed-only", action="store_true",
                        help="use only participants who finished every image")
    parser.add_argument("--keep-speeders", action="store_true",
                        help="keep participants flagged as speeders (default: left out)")
    parser.add_argument("--keep-failed-catch", action="store_true",
                        help="keep participants who failed an attention check (default: "
                             "left out)")
    parser.add_argument("--bootstrap", type=int, default=2000,
                        help="bootstrap resamples for the effect-size CIs (default 2000)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from contemo.errors import ContemoError
    from contemo.evaluation.study_analysis import (
        analyze,
        apply_exclusions,
        recognition_verdict,
        write_results,
    )
    from contemo.serve.study.export import answer_rows
    from contemo.serve.study.folder import load_study
    from contemo.serve.study.store import open_existing

    if not 100 <= args.bootstrap <= 100_000:
        raise ContemoError(f"--bootstrap {args.bootstrap}: expected 100-100000")
    study = load_study(args.study)
    with open_existing(study.folder) as store:
        every = answer_rows(study, store)
    rows, left_out = apply_exclusions(every, completed_only=args.completed_only,
                                      keep_speeders=args.keep_speeders,
                                      keep_failed_catch=args.keep_failed_catch)
    if not any(r["source"] in ("real", "generated") for r in rows):
        raise ContemoError(f"{study.folder}: no answers to analyze after exclusions "
                           f"({_left_out_text(left_out) or 'none excluded'})")
    stats = analyze(rows, missing_real=study.data.get("missing_real", []),
                    exclusions=left_out, n_boot=args.bootstrap)
    out = Path(args.out) if args.out else study.folder / "analysis"
    figure, table = write_results(stats, out, study.title)
    print(f"{stats['participants']} participants, {stats['answers']} answers")
    print(f"left out: {_left_out_text(left_out) or 'nobody'}")
    print(f"{'shown':8s} {'real mean (SD)':>15s} {'gen. mean (SD)':>15s}  result "
          f"(Δ = generated - real; Wilcoxon on participant means, Holm over "
          f"{stats['tests']} cells)")
    for emotion, cell in stats["emotions"].items():
        rec = cell["recognition"]
        print(f"{emotion:8s} {_msd(rec['real']):>15s} {_msd(rec['generated']):>15s}  "
              f"{recognition_verdict(stats, emotion)}")
    for emotion in stats["missing_real"]:
        print(f"note: no real images of {emotion} in this study")
    print(f"wrote {figure} and {table}")
    return 0


def _left_out_text(left_out: dict[str, list]) -> str:
    """Return e.g. '2 failed an attention check, 1 speeder' (empty when nobody)."""
    words = {"researcher": "excluded by the researcher", "failed_catch":
             "failed an attention check", "speeder": "speeder(s)", "incomplete": "incomplete"}
    return ", ".join(f"{len(ids)} {words[k]} ({', '.join(map(str, ids))})"
                     for k, ids in left_out.items() if ids)


def _msd(cell: dict) -> str:
    """Return 'mean (SD)' of a described cell, or '-' when it has no answers."""
    if cell["mean"] is None:
        return "-"
    return f"{cell['mean']:.2f} ({cell['sd']:.2f})" if cell["sd"] is not None \
        else f"{cell['mean']:.2f}"
