"""Sweep throughput (generate + score, images/s): a plain fp32 batch-64 loop vs `run_sweep`.

Run: `python benchmarks/bench_sweep.py [--checkpoint DIR] [--regressor DIR] [--noises 100]
[--full]`. Prints a table and writes benchmarks/results/sweep.json. The baseline is measured
in the same run: fp32, batch 64, a plain Python loop generating then scoring each batch
under torch.no_grad. Every variant does the paper's work per image (one generator and one
scorer forward). `--full` also times the whole paper protocol (5 x 1,000 x 11 = 55,000
images) through run_sweep, files included. The bf16 rows report how far bf16 scores are
from fp32 ones on the same faces, against the spread of scores between faces (SD), so
"within noise" is a number.

Models: the shipped generator and regressor when they exist, else random-init models of
the real sizes (ModelConfig preset synth64; contemo's VARegressor architecture, or a
MobileNetV2 stand-in of the same shape when that module is absent); the JSON says which.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time

import numpy as np
import torch
from harness import print_table, write_result

from contemo.emotions import EXTREME_EMOTIONS
from contemo.errors import ContemoError
from contemo.evaluation.sweep import SweepConfig, run_sweep
from contemo.generation.pipeline import EmotionPipeline
from contemo.hardware import auto_precision, autocast, native_bf16
from contemo.labels.paths import neutral_to
from contemo.models import MODEL_PRESETS, Generator, from_pretrained

PAPER_IMAGES = 5 * 1000 * 11


class MobileNetStandIn(torch.nn.Module):
    """A random-init MobileNetV2 (width 0.5, 64 px) with VA, 8-class and 256-d feature heads."""

    name = "mobilenet_v2-standin"
    classes = ("c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7")

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models import mobilenet_v2

        self.backbone = mobilenet_v2(weights=None, width_mult=0.5).features
        self.embed = torch.nn.Linear(1280, 256)
        self.va = torch.nn.Linear(256, 2)
        self.cls = torch.nn.Linear(256, 8)

    @torch.inference_mode()
    def score(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.embed(self.backbone(images.float()).mean(dim=(2, 3)))
        va = torch.tanh(self.va(torch.relu(f))).float()
        return {"valence": va[:, 0], "arousal": va[:, 1],
                "probs": self.cls(torch.relu(f)).float().softmax(1), "features": f.float()}


def load_models(checkpoint: str | None, regressor: str | None) -> tuple:
    """Return (generator, generator source, scorer, scorer source)."""
    try:
        generator, _ = from_pretrained(checkpoint)
        g_source = checkpoint or "shipped generator-synth64"
    except ContemoError:
        torch.manual_seed(0)
        generator, g_source = Generator(MODEL_PRESETS["synth64"]).eval(), "random-init synth64"
    try:
        from contemo.models.regressor import VARegressor
    except ModuleNotFoundError:
        torch.manual_seed(0)
        return generator, g_source, MobileNetStandIn().eval(), \
            "random-init torchvision mobilenet_v2(weights=None, width_mult=0.5) stand-in, 64 px"
    try:
        return generator, g_source, VARegressor.from_pretrained(regressor), \
            regressor or "shipped regressor-synth"
    except ContemoError:
        torch.manual_seed(0)
        scorer = VARegressor().eval()
        return generator, g_source, scorer, f"random-init VARegressor {scorer.config.to_dict()}"


def fast_models(generator: torch.nn.Module, scorer, precision: str, channels_last: bool):
    """Return (pipeline, scorer) set up as `contemo evaluate sweep` sets them up."""
    from contemo.evaluation.scorers import prepare_scorer

    pipe = EmotionPipeline(copy.deepcopy(generator), precision=precision,
                           channels_last=channels_last)
    return pipe, prepare_scorer(copy.deepcopy(scorer), channels_last)


def baseline(generator: torch.nn.Module, scorer, z: torch.Tensor, v: torch.Tensor) -> None:
    """Generate and score every row the plain way: fp32, batch 64, a Python loop."""
    with torch.no_grad():
        for i in range(0, len(z), 64):
            scorer.score(generator(z[i:i + 64], v[i:i + 64]).clamp(-1, 1))


def bf16_error(generator: torch.nn.Module, scorer, z: torch.Tensor, v: torch.Tensor) -> dict:
    """Return |bf16 - fp32| of VA on the same faces, and the between-face SD it competes with."""
    out = {}
    with torch.inference_mode():
        images32 = generator(z, v).clamp(-1, 1)
        ref = scorer.score(images32)
        with autocast("bf16", z.device):
            images16 = generator(z, v).float().clamp(-1, 1)
            low = scorer.score(images16)
    out["image_max_abs_diff"] = float((images16 - images32).abs().max())
    for axis in ("valence", "arousal"):
        diff = (low[axis].float() - ref[axis].float()).abs()
        sd = float(ref[axis].float().std())
        out[axis] = {"mean_abs_diff": float(diff.mean()), "max_abs_diff": float(diff.max()),
                     "between_face_sd": sd, "mean_diff_over_sd": float(diff.mean()) / max(sd, 1e-12)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="generator folder (default: shipped)")
    parser.add_argument("--regressor", default=None, help="regressor folder (default: shipped)")
    parser.add_argument("--noises", type=int, default=100, help="noises per emotion per variant")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per variant (best kept)")
    parser.add_argument("--full", action="store_true", help="also time the 55,000-image protocol")
    args = parser.parse_args()
    generator, g_source, scorer, s_source = load_models(args.checkpoint, args.regressor)
    native = native_bf16("cpu")
    cli_precision = auto_precision("cpu")  # what --precision auto picks here
    n = len(EXTREME_EMOTIONS) * args.noises * 11
    labels = np.concatenate([np.repeat(neutral_to(e, 11), args.noises, 0) for e in EXTREME_EMOTIONS])
    v = torch.tensor(labels)
    z = torch.randn(n, generator.config.z_dim, generator=torch.Generator().manual_seed(0))
    baseline(generator, scorer, z[:128], v[:128])  # warm-up
    # Variants are interleaved and each timed `--repeat` times (best kept): on a shared
    # machine the load changes from minute to minute, and interleaving spreads it evenly.
    variants = {"baseline fp32 b64 plain loop": None, "run_sweep fp32 b550": ("fp32", False),
                "run_sweep fp32 b550 channels_last": ("fp32", True)}
    if native:  # emulated bf16 (AVX2-only CPUs) is many times slower than fp32: not offered
        variants.update({"run_sweep bf16 b550": ("bf16", False),
                         "run_sweep bf16 b550 channels_last": ("bf16", True)})
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(args.repeat):
        for name, spec in variants.items():
            if spec is None:
                start = time.perf_counter()
                baseline(generator, scorer, z, v)
                best[name] = min(best[name], time.perf_counter() - start)
                continue
            pipe, sc = fast_models(generator, scorer, *spec)
            config = SweepConfig(noises=args.noises, precision=spec[0], batch_size=550)
            with tempfile.TemporaryDirectory() as tmp:
                s = run_sweep(pipe, sc, config, tmp, progress=False)
            best[name] = min(best[name], s["timing"]["seconds"])
    rows = [{"variant": name, "images": n, "seconds": sec} for name, sec in best.items()]
    if args.full:  # what `contemo evaluate sweep` does with its defaults
        pipe, sc = fast_models(generator, scorer, cli_precision, True)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run_sweep(pipe, sc, SweepConfig(precision=cli_precision), tmp, progress=True)
            seconds = time.perf_counter() - start  # files and plot included
        rows.append({"variant": f"paper protocol, CLI defaults ({cli_precision} channels_last "
                                "b550)",
                     "images": PAPER_IMAGES, "seconds": seconds})
    base = rows[0]["images"] / rows[0]["seconds"]
    for r in rows:
        r["images_per_s"] = r["images"] / r["seconds"]
        r["ratio_vs_baseline"] = r["images_per_s"] / base
        r["paper_protocol_s"] = PAPER_IMAGES / r["images_per_s"]
    error = bf16_error(generator, scorer, z[:500], v[:500]) if native else None
    print(f"generator: {g_source}; scorer: {s_source}; native bf16: {native}")
    print_table(rows, ["variant", "images", "seconds", "images_per_s", "ratio_vs_baseline",
                       "paper_protocol_s"])
    if error:
        print(f"bf16 vs fp32 on the same 500 faces: valence mean |diff| "
              f"{error['valence']['mean_abs_diff']:.4f} (between-face SD "
              f"{error['valence']['between_face_sd']:.4f}), arousal "
              f"{error['arousal']['mean_abs_diff']:.4f} "
              f"(SD {error['arousal']['between_face_sd']:.4f})")
    path = write_result("sweep", {
        "generator": g_source, "scorer": s_source, "resolution": generator.config.resolution,
        "noises_per_emotion": args.noises, "steps": 11, "repeat": args.repeat, "rows": rows,
        "bf16_vs_fp32": error, "native_bf16": native,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
