"""Issue 14's targets for a London generator: the strip and the real photos, one face protocol.

Run: `python benchmarks/london_targets.py GENERATOR_DIR [--real ../shared/data/london-faces]
[--seeds 200] [--out JSON]` (GENERATOR_DIR: a release folder, `shipped`, or a run folder's
generator/). Neutral -> happy, 11 steps, the same z per row; every image seen at the
generator's size, dlib finds the face, a 10% margin crop goes grey to the FER2013 judge.
The real London photos (decoded at the same size) go through the same protocol and give
the reference figures. Prints the target table, writes the JSON and an 8-seed x 11-step
grid PNG of the strip it scored (beside the JSON) so a person can look.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from contemo.data import open_dataset
from contemo.errors import ContemoError
from contemo.evaluation.identity_strip import (
    StripConfig,
    end_features,
    figures,
    save_grid,
    score_real,
    score_strip,
)
from contemo.evaluation.quality_distances import frechet_with_floor
from contemo.fileio import atomic_write_json
from contemo.generation.pipeline import EmotionPipeline
from contemo.models.face_id import FaceID
from contemo.models.judge import Judge

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
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    try:
        report = run(args)
    except ContemoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(table(report["generator_figures"], report["real_figures"]))
    print(f"wrote {args.out} and {report['grid']}")
    return 0


def run(args: argparse.Namespace) -> dict:
    """Return the report after writing it and the grid PNG."""
    start = time.perf_counter()
    checkpoint = None if args.generator == "shipped" else args.generator
    pipeline = EmotionPipeline.from_pretrained(checkpoint)
    config = StripConfig(seeds=args.seeds, seed=args.seed)
    face_id, judge = FaceID(), Judge.from_file()
    strip = score_strip(pipeline, face_id, judge, config, progress=not args.quiet)
    data = open_dataset(args.real, "london", pipeline.resolution)
    real, notes = score_real(data.images_uint8.float() / 127.5 - 1.0,
                             [r.emotion for r in data.records],
                             [r.meta.get("person") for r in data.records], face_id, judge, config)
    gen_figs, real_figs = figures(strip), figures(real)
    fed = frechet_with_floor(end_features(real), end_features(strip), seed=args.seed)
    gen_figs["fed_ratio"] = fed["ratio"]
    out = Path(args.out)
    grid = out.with_name(out.stem + "_grid.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    save_grid(strip.grid, grid)
    report = {
        "generator": args.generator, "real": str(args.real), "config": config.__dict__,
        "protocol": "image at generator size; dlib HOG face (upscaled for dlib); box + 10% "
                    "margin, grey, bilinear to 64x64; FER2013 judge; dlib ResNet descriptor",
        "generator_figures": gen_figs, "real_figures": real_figs, "real_notes": notes,
        "fed_judge_features": fed,
        "targets": {key: {"target": target, "met": None if value(gen_figs, key) is None
                          else bool(test(value(gen_figs, key), real_figs))}
                    for key, _, target, test in TARGETS},
        "grid": str(grid), "seconds": round(time.perf_counter() - start, 1),
    }
    atomic_write_json(out, report)
    return report


if __name__ == "__main__":
    raise SystemExit(main())
