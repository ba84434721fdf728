"""Ask for valence-arousal points, generate faces, score them: requested vs achieved VA.

A grid of (valence, arousal) targets over [-1, 1]^2 goes through va_to_label
(unreachable targets are clipped to the nearest reachable point and counted); PER_TARGET
faces per target are generated and scored. Writes targeting.json (per target: requested,
predicted, measured VA, clipped; mean absolute errors overall and reachable-only) and
targeting.png (requested -> achieved arrows on the circumplex), with theoretical anchors
and, given --anchors-from SWEEP_DIR, with the anchors that sweep measured.
"""

from __future__ import annotations

import argparse

from contemo.commands.options import add_scoring_arguments

EXAMPLES = """
  contemo evaluate targeting --out runs/targeting
  contemo evaluate targeting --anchors-from runs/sweep --out runs/targeting   # both anchor sets
  contemo evaluate targeting --grid 9 --per-target 100 --scorer judge --out runs/targeting-judge
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the targeting check's options."""
    parser.add_argument("--out", required=True, help="folder for targeting.json and .png")
    add_scoring_arguments(parser)
    parser.add_argument("--grid", type=int, default=7,
                        help="targets per axis over [-1, 1] (default 7: 49 targets)")
    parser.add_argument("--per-target", type=int, default=50, help="faces per target (default 50)")
    parser.add_argument("--anchors-from", default=None, metavar="SWEEP_DIR",
                        help="also target with the anchors this sweep measured")


def run(args: argparse.Namespace) -> int:
    """Run the targeting check for each anchor set, print the errors; return 0."""
    from contemo.commands.options import load_models
    from contemo.evaluation.targeting import run_targeting
    from contemo.labels.calibration import load_measured_anchors

    sets = {"theoretical": None}
    if args.anchors_from:
        sets["measured"] = load_measured_anchors(args.anchors_from)
    pipeline, scorer = load_models(args)
    report = run_targeting(pipeline, scorer, args.out, grid=args.grid, per_target=args.per_target,
                           anchor_sets=sets, seed=args.seed, batch_size=args.batch_size,
                           precision=args.precision, progress=not args.quiet,
                           extra={"checkpoint": args.checkpoint or "shipped",
                                  "anchors_from": args.anchors_from})
    n = args.grid * args.grid
    for name, r in report["runs"].items():
        m = r["mae"]
        print(f"{name:12s} anchors: MAE all {m['all']:.3f}, reachable {m['reachable']:.3f} "
              f"({n - r['clipped']}/{n} targets reachable), vs predicted {m['vs_predicted']:.3f}"
              if m["reachable"] is not None else f"{name}: no reachable target")
    print(f"wrote {args.out}/targeting.json, targeting.png")
    return 0
