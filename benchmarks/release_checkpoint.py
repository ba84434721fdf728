"""Release one training checkpoint's generator, the EMA or the raw G, for scoring.

Run: `python benchmarks/release_checkpoint.py RUN_DIR [--step N] [--weights ema|raw] --out DIR`
then score DIR like any release (`python benchmarks/london_targets.py DIR --seeds 200`).

Why: a run releases only its last EMA generator. Two questions in the London recipe work
need others: does the EMA, rather than G itself, blur identity (score the raw G of the
same step), and how does a run score at an earlier step it checkpointed (a shorter run
with the same seed takes the very same steps, so this is that run without retraining).
The copy gets the release's treatment: eval mode with BatchNorm statistics re-estimated
from the same fixed noise the trainer uses (training.gan.BN_SEED). The emotions and the
face crop come from the run's own release (RUN_DIR/generator/config.json), so the run
must have finished once.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from contemo.emotions import EMOTIONS
from contemo.errors import ContemoError
from contemo.models import Generator, save_pretrained
from contemo.training import checkpoint as ckpt
from contemo.training.config import load_file
from contemo.training.ema import sampling_copy
from contemo.training.gan import BN_SEED

PREFIXES = {"ema": "EMA", "raw": "G"}


def release(run_dir: Path, step: int | None, weights: str, out: Path) -> Path:
    """Return `out` after writing the generator of `run_dir`'s checkpoint at `step` into it."""
    found = ckpt.list_checkpoints(run_dir / "checkpoints")
    if step is not None:
        found = [p for p in found if p.name == f"checkpoint-{step:06d}.json"]
    if not found:
        raise ContemoError(f"{run_dir}: no checkpoint{f' at step {step}' if step else ''} "
                           "in checkpoints/")
    tensors, meta = ckpt.load(found[-1])
    released = run_dir / "generator" / "config.json"
    if not released.is_file():
        raise ContemoError(f"{released}: missing; the run must have released its generator "
                           "once (it names the trained emotions and the face crop)")
    info = json.loads(released.read_text())
    config = load_file(run_dir / "config.json")  # the run's own shape and BN re-estimation
    g = Generator(config.model)
    ckpt.load_module(PREFIXES[weights], g, tensors, found[-1])
    ids = [EMOTIONS.index(e) for e in info["trained_emotions"]]
    sampler = sampling_copy(g, config.bn_batches, config.bn_batch_size, BN_SEED,
                            torch.device("cpu"), ids)
    training = {**info.get("training", {}), "steps": meta["step"],
                "wall_time_s": round(meta["wall_time_s"], 1),
                "released_from": f"{found[-1].name} ({weights})"}
    return save_pretrained(sampler, out, training=training,
                           trained_emotions=info["trained_emotions"],
                           preprocess=info.get("preprocess"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path, help="a training run folder (NNNNN-preset)")
    ap.add_argument("--step", type=int, help="checkpoint step (default: the newest)")
    ap.add_argument("--weights", choices=sorted(PREFIXES), default="ema",
                    help="ema: the averaged G the trainer releases; raw: G itself")
    ap.add_argument("--out", type=Path, required=True, help="release folder to write")
    args = ap.parse_args(argv)
    try:
        out = release(args.run_dir, args.step, args.weights, args.out)
    except ContemoError as err:
        print(f"release_checkpoint: {err}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
