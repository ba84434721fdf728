"""Generate-job throughput and demo time: what writing files costs on top of sampling.

Run: `python benchmarks/bench_generate.py [--checkpoint DIR] [--images 1100]`. Prints a
table and writes benchmarks/results/generate.json. The baseline, measured in the same
run, is bare sampling (`EmotionPipeline.generate`, no files); the job adds uint8
conversion, one PNG per image, the manifest and the grid. The demo row is the whole of
`contemo demo` after Python has started (model load, 4 figures, GIF, 220-image set).
Without --checkpoint a randomly initialised synth64-shaped generator is used: speed
does not depend on the weights.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from harness import print_table, timed, write_result

from contemo.generation.demo_figures import write_demo
from contemo.generation.job import generate_job
from contemo.generation.pipeline import EmotionPipeline
from contemo.labels.paths import neutral_to
from contemo.labels.sets import pair_set
from contemo.models import MODEL_PRESETS, Generator, save_pretrained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="release folder (default: random synth64 shape)")
    parser.add_argument("--images", type=int, default=1100, help="images per measurement")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = args.checkpoint
        if ckpt is None:
            torch.manual_seed(0)
            ckpt = save_pretrained(Generator(MODEL_PRESETS["synth64"]), Path(tmp) / "g")
        pipe = EmotionPipeline.from_pretrained(ckpt, "cpu")
        seeds = list(range(max(1, args.images // 11)))
        n = len(seeds) * 11
        labels = torch.as_tensor(neutral_to("happy", 11)).repeat(len(seeds), 1)
        z = pipe.noise(seeds).repeat_interleave(11, dim=0)
        bare = timed(lambda: pipe.generate(labels, z=z, batch_size=args.batch_size), repeat=2)
        label_set = pair_set("neutral", "happy", 11)

        def job() -> None:
            generate_job(pipe, seeds, label_set, Path(tmp) / "job", batch_size=args.batch_size,
                         progress=False)

        with_files = timed(job, repeat=2)

        def demo() -> None:
            demo_pipe = EmotionPipeline.from_pretrained(ckpt, "cpu")
            write_demo(demo_pipe, Path(tmp) / "demo", batch_size=args.batch_size)

        start = time.perf_counter()
        demo()  # cold: the first run is what a user waits for
        demo_cold = time.perf_counter() - start
        demo_warm = timed(demo, warmup=0, repeat=2)
    rows = [
        {"what": "baseline: bare sampling", "images": n, "seconds": bare, "images_per_s": n / bare},
        {"what": "generate job (PNGs + manifest + grid)", "images": n, "seconds": with_files,
         "images_per_s": n / with_files, "vs_baseline": bare / with_files},
        {"what": "demo, first run", "images": 220, "seconds": demo_cold},
        {"what": "demo, warm", "images": 220, "seconds": demo_warm},
    ]
    print(f"resolution {pipe.resolution}, batch {args.batch_size}, "
          f"{torch.get_num_threads()} torch threads")
    print_table(rows, ["what", "images", "seconds", "images_per_s", "vs_baseline"])
    path = write_result("generate", {"checkpoint": str(args.checkpoint or "random synth64"),
                                     "resolution": pipe.resolution, "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
