"""Issue 14's targets for a London generator: the strip and the real photos, one face protocol.

Run: `python benchmarks/london_targets.py GENERATOR_DIR [--real ../shared/data/london-faces]
[--seeds 200] [--truncation PSI] [--out JSON]` (GENERATOR_DIR: a release folder, `shipped`,
or a run folder's generator/). Neutral -> happy, 11 steps, the same z per row; every image seen at the
generator's size, dlib finds the face, a 10% margin crop goes grey to the FER2013 judge.
The real London photos (decoded at the same size) go through the same protocol and give
the reference figures. Prints the target table, writes the JSON and an 8-seed x 11-step
grid PNG of the strip it scored (beside the JSON) so a person can look.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contemo.errors import ContemoError
from contemo.evaluation.identity_report import identity_report
from contemo.evaluation.identity_strip import StripConfig
from contemo.fileio import atomic_write_json

DEFAULT_REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "london-faces"
# (key, label, target as text, test(gen, real) -> bool); `real` is the real side's figures.
TARGETS = [
    ("faces_found", "faces found by dlib", ">= 0.95", lambda g, r: g >= 0.95),
    ("judge_auc_end_vs_start", "judge AUC, w=1.0 vs w=0.0", ">= real",
     lambda g, r: g >= r["judge_auc_end_vs_start"]),
    ("mean_p_end_at_end", "mean P(happy) at w=1.0", ">= real",
     lambda g, r: g >= r["mean_p_end_at_end"]),
    ("spearman_p_end", "Spearman of mean P(happy), 11 steps", ">= 0.95", lambda g, r: g >= 0.95),
    ("same_person", "same z at w=0/w=1 same person (<0.6)", ">= 0.90", lambda g, r: g >= 0.90),
    ("different_below_0_6", "different z below 0.6", "<= 0.20", lambda g, r: g <= 0.20),
    ("fed_ratio", "FED (judge features) / real floor", "<= 2.0", lambda g, r: g <= 2.0),
]


def value(figs: dict, key: str) -> float | None:
    """Return one headline number of a side's figures (rates for the identity entries)."""
    entry = figs.get(key)
    return entry["rate_below"] if isinstance(entry, dict) else entry


def table(gen: dict, real: dict) -> str:
    """Return the target table: measure, generator, real photos, target, met."""
    lines = [f"{'measure':<40} {'generator':>10} {'real':>8} {'target':>9}  met"]
    for key, label, target, test in TARGETS:
        g, r = value(gen, key), value(real, key)
        ok = "n/a" if g is None else ("yes" if test(g, real) else "NO")
        lines.append(f"{label:<40} {_f(g):>10} {_f(r):>8} {target:>9}  {ok}")
    return "\n".join(lines)


def _f(x: float | None) -> str:
    """Return a figure for the table ('-' when not measured)."""
    return "-" if x is None else f"{x:.3f}"


def main(argv: list[str] | None = None) -> int:
    """Score the generator and the real set, print the table, write JSON and the grid."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generator", help="generator release folder, or 'shipped'")
    parser.add_argument("--real", default=str(DEFAULT_REAL), help="the London set's folder")
    parser.add_argument("--seeds", type=int, default=200, help="z per strip (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--out", default="london_targets.json", help="JSON to write")
    parser.add_argument("--truncation", type=float, default=1.0, metavar="PSI",
                        help="scale each seed's noise by PSI (default 1: none)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    try:
        report = run(args)
    except ContemoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(table(*headline(report)))
    fed = report["fed_judge_features"]
    print(f"FED {fed['value']:.3f}, real/real floor {fed['floor']:.3f} ({fed['half_size']} faces "
          f"a side); {report['seconds']} s")
    print(f"wrote {args.out} and {report['grid']}")
    return 0


def run(args: argparse.Namespace) -> dict:
    """Return the report (the identity report plus the targets) after writing it and the grid."""
    out = Path(args.out)
    grid = out.with_name(out.stem + "_grid.png")
    checkpoint = None if args.generator == "shipped" else args.generator
    report = identity_report(StripConfig(seeds=args.seeds, seed=args.seed,
                                         truncation=args.truncation), checkpoint,
                             real=args.real, layout="london", grid=grid,
                             progress=not args.quiet)
    gen, real = headline(report)
    report["targets"] = {key: {"target": target, "generated": value(gen, key),
                               "real": value(real, key),
                               "met": None if value(gen, key) is None
                               else bool(test(value(gen, key), real))}
                         for key, _, target, test in TARGETS}
    atomic_write_json(out, report)
    return report


def headline(report: dict) -> tuple[dict, dict]:
    """Return the generated and real sides' figures with FED's ratio among the generated ones."""
    gen = dict(report["generated"], fed_ratio=report["fed_judge_features"]["ratio"])
    return gen, report["real"]


if __name__ == "__main__":
    raise SystemExit(main())
