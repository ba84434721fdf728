"""VA regressor speed: training steps (memory layout, threads) and scoring throughput.

Run: `python benchmarks/bench_regressor.py [--regressor DIR] [--batch 32]`. Prints a
table and writes benchmarks/results/regressor.json. The baseline, measured in the same
run, is a training step in torch's default (contiguous) layout with torch's default
thread count; rows give images/s and the ratio to it. Scoring is `VARegressor.score`
on 64 px images (what a sweep or FID/KID pays per image). Without --regressor a
randomly initialised model of the synth preset's shape is used: speed does not depend
on the weights.
"""

from __future__ import annotations

import argparse

import torch
from harness import matmul_peak, print_table, timed, write_result

from contemo.models.regressor import VARegressor
from contemo.training.regressor import losses
from contemo.training.regressor_config import PRESETS


def train_step_rate(model: VARegressor, batch: int, channels_last: bool, threads: int) -> float:
    """Return training images/s of Adam steps on random 64 px faces in the given layout."""
    torch.set_num_threads(threads)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    size = model.config.input_size
    x = torch.randn(batch, 3, size, size).contiguous(memory_format=fmt)
    va, cls = torch.rand(batch, 2) * 2 - 1, torch.randint(0, 8, (batch,))

    def step() -> None:
        parts = losses(model, x, va, cls)
        opt.zero_grad()
        (parts["va_mse"] + parts["va_ccc_loss"] + parts["class_ce"]).backward()
        opt.step()

    return batch * 3 / timed(lambda: [step() for _ in range(3)], warmup=1, repeat=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regressor", help="regressor folder (default: random synth shape)")
    parser.add_argument("--batch", type=int, default=32, help="training batch (synth preset: 32)")
    parser.add_argument("--score-images", type=int, default=512)
    args = parser.parse_args()
    default_threads = torch.get_num_threads()
    torch.manual_seed(0)
    model = (VARegressor.from_pretrained(args.regressor) if args.regressor
             else VARegressor(PRESETS["synth"].model_config()))
    rows = []
    for channels_last, threads in ((False, default_threads), (True, default_threads),
                                   (False, 1), (True, 1)):
        rate = train_step_rate(model, args.batch, channels_last, threads)
        rows.append({"what": "train step", "layout": "channels_last" if channels_last
                     else "contiguous", "threads": threads, "images_per_s": rate})
    torch.set_num_threads(default_threads)
    model = model.to(memory_format=torch.contiguous_format).eval()
    images = torch.rand(args.score_images, 3, 64, 64) * 2 - 1
    score_s = timed(lambda: model.score(images), warmup=1, repeat=2)
    rows.append({"what": "score (64 px)", "layout": "contiguous", "threads": default_threads,
                 "images_per_s": args.score_images / score_s})
    base = rows[0]["images_per_s"]
    for row in rows:
        row["vs_baseline"] = row["images_per_s"] / base if row["what"] == "train step" else None
    print_table(rows, ["what", "layout", "threads", "images_per_s", "vs_baseline"])
    path = write_result("regressor", {
        "baseline": "train step, contiguous layout, default threads",
        "batch": args.batch, "input_size": model.config.input_size,
        "width_mult": model.config.width_mult, "rows": rows, **matmul_peak(),
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
