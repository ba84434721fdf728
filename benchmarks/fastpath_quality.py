"""Does a fast-path training run reach the same evaluation figures as the fp32 NCHW one?

Scores released generators (run folders' generator/ or release folders) with the two
evaluations issue 6 names: regressor-feature FID against the real training set
(`contemo evaluate quality`) and sweep monotonicity (`contemo evaluate sweep`, the
paper's protocol at --noises per emotion). "Within noise" is a number here: pass two
runs of the *same* settings with different seeds as --noise-pair, and the fast-vs-fp32
gap is printed next to the seed-to-seed gap.

    python benchmarks/fastpath_quality.py --real /tmp/synth171 \
        --fp32 RUN_A/generator --fast RUN_B/generator --noise-pair RUN_B/generator RUN_C/generator

Writes benchmarks/results/fastpath_quality.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness import print_table, write_result


def evaluate(generator: Path, real: Path, noises: int, work: Path) -> dict[str, Any]:
    """Return FID overall/per emotion and sweep monotonicity of one generator (via the CLI)."""
    work.mkdir(parents=True, exist_ok=True)
    cli = [sys.executable, "-m", "contemo.cli"]
    quality = work / "quality.json"
    subprocess.run([*cli, "evaluate", "quality", "--real", str(real), "--checkpoint",
                    str(generator), "--out", str(quality)], check=True,
                   stdout=subprocess.DEVNULL)
    sweep = work / "sweep"
    subprocess.run([*cli, "evaluate", "sweep", "--checkpoint", str(generator), "--noises",
                    str(noises), "--out", str(sweep), "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    q = json.loads(quality.read_text())
    s = json.loads((sweep / "summary.json").read_text())
    mono = {e: v["monotonicity"] for e, v in s["emotions"].items()}
    fid = next(k for k in q["overall"] if k.lower().startswith("fid"))
    return {"generator": str(generator), "fid": q["overall"][fid], "fid_metric": fid,
            "fid_real_vs_real": q["real_vs_real"][fid] if q.get("real_vs_real") else None,
            "fid_per_emotion": {e: v[fid] for e, v in q["per_class"].items()},
            "monotonicity": mono,
            "mean_monotonicity": sum(m["valence"] + m["arousal"] for m in mono.values())
            / (2 * len(mono))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", required=True, type=Path, help="the real training set")
    parser.add_argument("--fp32", required=True, type=Path, help="generator of the fp32 run")
    parser.add_argument("--fast", required=True, type=Path, help="generator of the fast run")
    parser.add_argument("--noise-pair", nargs=2, type=Path, metavar="GEN",
                        help="two generators of identical settings, different seeds")
    parser.add_argument("--noises", type=int, default=200, help="sweep noises per emotion")
    args = parser.parse_args()
    named = {"fp32": args.fp32, "fast": args.fast}
    if args.noise_pair:
        named.update({"seed A": args.noise_pair[0], "seed B": args.noise_pair[1]})
    with tempfile.TemporaryDirectory() as tmp:
        results = {name: evaluate(path, args.real, args.noises, Path(tmp) / name.replace(" ", ""))
                   for name, path in named.items()}
    rows = [{"run": name, "fid": r["fid"], "mean_monotonicity": r["mean_monotonicity"],
             **{f"{e}_V/A": f"{m['valence']:+.2f}/{m['arousal']:+.2f}"
                for e, m in r["monotonicity"].items()}} for name, r in results.items()]
    print_table(rows, list(rows[0]))
    gaps = {"fast_vs_fp32": {
        "fid": abs(results["fast"]["fid"] - results["fp32"]["fid"]),
        "mean_monotonicity": abs(results["fast"]["mean_monotonicity"]
                                 - results["fp32"]["mean_monotonicity"])}}
    if args.noise_pair:
        gaps["seed_to_seed"] = {
            "fid": abs(results["seed A"]["fid"] - results["seed B"]["fid"]),
            "mean_monotonicity": abs(results["seed A"]["mean_monotonicity"]
                                     - results["seed B"]["mean_monotonicity"])}
    for name, gap in gaps.items():
        print(f"{name}: |FID gap| {gap['fid']:.1f}, |mean monotonicity gap| "
              f"{gap['mean_monotonicity']:.3f}")
    path = write_result("fastpath_quality", {"real": str(args.real), "noises": args.noises,
                                             "results": results, "gaps": gaps})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
