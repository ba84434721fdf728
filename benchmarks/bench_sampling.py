"""Sampling throughput: the plain way (fp32, NCHW, batch 64, autograd on) vs contemo's fast paths.

Run: `python benchmarks/bench_sampling.py [--checkpoint DIR] [--images 2048]`. Prints a table and
writes benchmarks/results/sampling.json. Every figure is measured in this one run; the
baseline is what the DCGAN reference example does when it samples.
"""

from __future__ import annotations

import argparse
import time

import torch
from harness import matmul_peak, peak_text, print_table, write_result

from contemo.generation.pipeline import EmotionPipeline
from contemo.hardware import native_bf16
from contemo.labels.paths import neutral_to
from contemo.models import MODEL_PRESETS, Generator
from contemo.models.pretrained import from_pretrained


def generator_flops(generator: Generator) -> float:
    """Return forward FLOPs of one image (2 x MACs of every conv and linear layer)."""
    flops = 0.0

    def hook(module, inputs, output):
        nonlocal flops
        if isinstance(module, torch.nn.ConvTranspose2d):
            flops += 2 * inputs[0][0].numel() * module.out_channels * module.kernel_size[0] ** 2
        elif isinstance(module, torch.nn.Linear):
            flops += 2 * module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in generator.modules()]
    with torch.no_grad():
        generator.eval()(torch.zeros(1, generator.config.z_dim), torch.eye(6)[:1])
    for h in handles:
        h.remove()
    return flops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="release folder (default: shipped)")
    parser.add_argument("--images", type=int, default=2048)
    args = parser.parse_args()
    try:
        generator, _ = from_pretrained(args.checkpoint)
        source = args.checkpoint or "shipped synth64"
    except Exception:  # noqa: BLE001 - no shipped checkpoint yet: same architecture, random weights
        generator, source = Generator(MODEL_PRESETS["synth64"]).eval(), "random-init synth64"
    labels = torch.tensor(neutral_to("happy", 11)).repeat(args.images // 11 + 1, 1)[:args.images]
    z = torch.randn(args.images, generator.config.z_dim)

    def baseline() -> None:  # the reference example: fp32, NCHW, batch 64, autograd recording
        for i in range(0, args.images, 64):
            generator(z[i:i + 64], labels[i:i + 64]).detach()

    variants = {
        "baseline fp32 b64": (None, baseline),
    }
    settings = [("fp32", False, 512), ("fp32", True, 512)]
    if native_bf16("cpu"):  # emulated bf16 (AVX2-only CPUs) is many times slower: not offered
        settings += [("bf16", False, 512), ("bf16", True, 512)]
    for precision, channels_last, batch in settings:
        pipe = EmotionPipeline(generator, precision=precision, channels_last=channels_last)
        name = f"contemo {precision}{' channels_last' if channels_last else ''} b{batch}"
        variants[name] = (pipe, lambda p=pipe, b=batch: list(p.iter_batches(z, labels, b)))
    flops = generator_flops(generator)
    peak = matmul_peak()
    rows = []
    for name, (_, fn) in variants.items():
        fn()  # warm-up
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
        rows.append({"variant": name, "images_per_s": args.images / seconds,
                     "gflops": flops * args.images / seconds / 1e9})
    base = rows[0]["images_per_s"]
    top = peak["matmul_bf16_gflops"] or peak["matmul_fp32_gflops"]  # the fastest native dtype
    for r in rows:
        r["ratio_vs_baseline"] = r["images_per_s"] / base
        r["pct_of_matmul_peak"] = 100 * r["gflops"] / top
    print(f"generator: {source}, {generator.config.resolution}px, "
          f"{flops / 1e6:.1f} MFLOP/image; {peak_text(peak)}")
    print_table(rows, ["variant", "images_per_s", "ratio_vs_baseline", "gflops",
                       "pct_of_matmul_peak"])
    path = write_result("sampling", {"generator": source, "images": args.images,
                                     "mflop_per_image": flops / 1e6, **peak, "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
