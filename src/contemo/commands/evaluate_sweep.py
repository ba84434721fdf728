"""Sweep Neutral->emotion label paths and score every face (the paper's §4.3, Fig. 6).

For each extreme emotion, NOISES faces (fixed z) are generated at STEPS label weights
from one-hot Neutral to one-hot emotion and scored; writes images.csv, steps.csv/json,
summary.json (monotonicity, range, linearity, identity drift, measured anchors),
calibration.json and sweep.png. With --calibrated, the steps come from an earlier
sweep's curves and calibration_comparison.json/png show linearity before and after.
"""

from __future__ import annotations

import argparse

from contemo.commands.options import add_scoring_arguments

EXAMPLES = """
  contemo evaluate sweep --out runs/sweep                      # paper protocol: 5 x 1000 x 11
  contemo evaluate sweep --noises 100 --scorer judge --out runs/sweep-judge
  contemo evaluate sweep --calibrated runs/sweep --seed 1000000 --out runs/sweep-cal
  contemo evaluate sweep --out runs/sweep --resume              # continue an interrupted sweep
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the sweep's options."""
    parser.add_argument("--out", required=True, help="folder for the results")
    add_scoring_arguments(parser)
    parser.add_argument("--noises", type=int, default=1000, help="noise vectors per emotion "
                        "(paper: 1000)")
    parser.add_argument("--steps", type=int, default=11, help="label steps incl. both ends "
                        "(paper: 11, weights 0.0, 0.1, ..., 1.0)")
    parser.add_argument("--emotions", default=None,
                        help="comma-separated extreme emotions (default: those of sad, disgust, "
                             "fear, angry, happy the model was trained on)")
    parser.add_argument("--calibrated", default=None, metavar="SWEEP_DIR",
                        help="walk calibrated weights from that sweep's calibration.json and "
                             "compare linearity with it")
    parser.add_argument("--resume", action="store_true",
                        help="reuse emotions already finished in --out by the same sweep")


def run(args: argparse.Namespace) -> int:
    """Run the sweep, print the summary table; return 0."""
    from contemo.commands.options import load_models
    from contemo.emotions import EXTREME_EMOTIONS
    from contemo.evaluation.calibration_report import compare_calibration
    from contemo.evaluation.sweep import SweepConfig, run_sweep
    from contemo.labels.calibration import calibrated_weights

    pipeline, scorer = load_models(args)
    # Default: the paper's five, or those of them the model was trained on (London: happy).
    default = ",".join(e for e in EXTREME_EMOTIONS if e in pipeline.trained)
    emotions = tuple(e for e in (args.emotions or default).split(",") if e)
    base = SweepConfig(noises=args.noises, steps=args.steps, emotions=emotions, seed=args.seed,
                       batch_size=args.batch_size, precision=args.precision)
    config = base
    if args.calibrated:
        weights = {e: tuple(calibrated_weights(args.calibrated, e, args.steps).tolist())
                   for e in base.emotions}
        config = SweepConfig(**{**base.__dict__, "weights": weights})
    summary = run_sweep(pipeline, scorer, config, args.out,
                        checkpoint=args.checkpoint or "shipped", resume=args.resume,
                        progress=not args.quiet,
                        extra={"calibrated_from": args.calibrated})
    print_summary(summary)
    if args.calibrated:
        comparison = compare_calibration(args.calibrated, args.out)
        for emotion, c in comparison["emotions"].items():
            print(f"{emotion:8s} linearity R^2 (VA progress vs step): "
                  f"{_f(c['before']['linearity_r2']['progress'])} -> "
                  f"{_f(c['after']['linearity_r2']['progress'])}")
    print(f"wrote {args.out}/summary.json, images.csv, steps.csv, sweep.png")
    return 0


def _f(x: float | None) -> str:
    """Return a number for the table, 'n/a' for None."""
    return "n/a" if x is None else f"{x:+.3f}"


def print_summary(summary: dict) -> None:
    """Print one line per emotion: monotonicity, range, linearity, drift."""
    t = summary["timing"]
    print(f"{t['images']} images in {t['seconds']:.1f} s ({t['images_per_second']:.0f} images/s), "
          f"scorer {summary['scorer']}")
    print("emotion   mono V  mono A  range V range A  R2 V    R2 A    drift/between")
    for emotion, s in summary["emotions"].items():
        print(f"{emotion:8s}  {_f(s['monotonicity']['valence'])}  {_f(s['monotonicity']['arousal'])}"
              f"  {_f(s['range']['valence'])}  {_f(s['range']['arousal'])}"
              f"  {_f(s['linearity_r2']['valence'])}  {_f(s['linearity_r2']['arousal'])}"
              f"  {_f(s['identity_drift']['normalised'])}")
