"""Overlay one emotion's mean valence (or arousal) curve from several sweeps, and table them.

Run: `python benchmarks/sweep_curves.py NAME=SWEEP_DIR [NAME=SWEEP_DIR ...] [--emotion happy]
[--axis valence] --out PNG [--json JSON] [--keep JSON]` (SWEEP_DIR: what `contemo evaluate sweep --out`
wrote). Prints each sweep's signed monotonicity (Spearman of step vs the mean, as
summary.json has it) and per-face monotonicity, and writes the figure and a JSON of every
curve (default: beside the PNG).

Why: a sweep's summary gives one Spearman per emotion, and two training variants with the
same figure can fail in different ways (a dip early in the path, a plateau, a fall at the
end). Comparing variants of a recipe (issue 14's Neutral -> happy dip on synth64) needs the
curves side by side, on one axis, from the sweeps' own steps.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from contemo.errors import ContemoError
from contemo.figures import plot_figure, save_plot
from contemo.fileio import atomic_write_json, read_json


def parse_pair(text: str) -> tuple[str, Path]:
    """Return (name, sweep folder) from NAME=DIR; the folder is split off at the last '='."""
    name, sep, folder = text.rpartition("=")
    if not sep or not name:
        raise ContemoError(f"{text!r}: expected NAME=SWEEP_DIR")
    return name, Path(folder)


def read_curve(folder: Path, emotion: str, axis: str) -> dict[str, Any]:
    """Return one sweep's weights, mean curve and monotonicity figures for `emotion`."""
    steps_file, summary_file = folder / "steps.json", folder / "summary.json"
    for f in (steps_file, summary_file):
        if not f.is_file():
            raise ContemoError(f"{f}: missing; expected the output folder of "
                               "`contemo evaluate sweep`")
    try:
        rows = [r for r in json.loads(steps_file.read_text()) if r["emotion"] == emotion]
        summary = json.loads(summary_file.read_text())["emotions"][emotion]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ContemoError(f"{folder}: no {emotion} sweep readable ({err})") from None
    rows.sort(key=lambda r: r["step"])
    return {"weights": [r["weight"] for r in rows], "mean": [r[f"{axis}_mean"] for r in rows],
            "monotonicity": summary["monotonicity"][axis],
            "monotonicity_per_face": summary["monotonicity_per_face"][axis]}


def kept_curves(path: Path, emotion: str, axis: str) -> dict[str, dict[str, Any]]:
    """Return the curves of an earlier JSON of this script, whose sweeps may be gone."""
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("curves"), dict):
        raise ContemoError(f"{path}: expected a JSON written by sweep_curves.py (no 'curves')")
    if (data.get("emotion"), data.get("axis")) != (emotion, axis):
        raise ContemoError(f"{path}: its curves are {data.get('emotion')} {data.get('axis')}, "
                           f"not {emotion} {axis}")
    return dict(data["curves"])


def plot(curves: dict[str, dict[str, Any]], emotion: str, axis: str, out: Path) -> Path:
    """Return `out` after drawing every curve against the interpolation weight."""
    fig = plot_figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    for name, c in curves.items():
        ax.plot(c["weights"], c["mean"], marker="o", ms=3,
                label=f"{name} (rho {c['monotonicity']:+.2f})")
    ax.set_xlabel(f"weight of {emotion} (Neutral -> {emotion})")
    ax.set_ylabel(f"mean {axis} over the sweep's faces")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_plot(fig, out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweeps", nargs="+", help="NAME=SWEEP_DIR")
    ap.add_argument("--emotion", default="happy")
    ap.add_argument("--axis", choices=("valence", "arousal"), default="valence")
    ap.add_argument("--out", type=Path, required=True, help="PNG to write")
    ap.add_argument("--json", type=Path, help="curves JSON to write (default: OUT.json)")
    ap.add_argument("--keep", type=Path, metavar="JSON",
                    help="start from the curves of an earlier JSON of this script (same "
                         "emotion and axis); the sweeps given add to them or replace "
                         "a curve of the same name")
    args = ap.parse_args(argv)
    try:
        curves = kept_curves(args.keep, args.emotion, args.axis) if args.keep else {}
        curves.update({name: read_curve(folder, args.emotion, args.axis)
                       for name, folder in map(parse_pair, args.sweeps)})
    except ContemoError as err:
        print(f"sweep_curves: {err}", file=sys.stderr)
        return 1
    print(f"{'sweep':24s} {'rho':>6s} {'per face':>8s}  mean {args.axis} by step")
    for name, c in curves.items():
        print(f"{name:24s} {c['monotonicity']:+6.2f} {c['monotonicity_per_face']:+8.2f}  "
              + " ".join(f"{m:+.2f}" for m in c["mean"]))
    plot(curves, args.emotion, args.axis, args.out)
    out_json = args.json or args.out.with_suffix(".json")
    atomic_write_json(out_json, {"emotion": args.emotion, "axis": args.axis, "curves": curves})
    print(f"wrote {args.out} and {out_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
