"""Training-step speed of `contemo train` per fast path (fp32 baseline measured in the same run).

Runs the real GANTrainer step (D step + G step + EMA) on random uint8 images for each
setting and prints img/s; writes the table as JSON. Usage:

    PYTHONPATH=src python benchmarks/train_speed.py --preset synth64 --steps 20 \
        --out benchmarks/results/train_speed.json
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState

from contemo.training.config import get_preset
from contemo.training.gan import GANTrainer, TrainData

SETTINGS = [  # (name, mixed_precision, channels_last)
    ("fp32", "no", False),
    ("bf16 autocast", "bf16", False),
    ("fp32 channels_last", "no", True),
    ("bf16 channels_last", "bf16", True),
]


def measure(preset: str, precision: str, channels_last: bool, steps: int, warmup: int,
            batch_size: int | None) -> float:
    """Return the training img/s of one setting (after `warmup` untimed steps)."""
    cfg = get_preset(preset)
    cfg = replace(cfg, mixed_precision=precision, channels_last=channels_last,
                  batch_size=batch_size or cfg.batch_size)
    AcceleratorState._reset_state(reset_partial_state=False)
    acc = Accelerator(mixed_precision=precision, cpu=not torch.cuda.is_available())
    n, size = 512, cfg.model.resolution
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=gen)
    labels = torch.eye(6)[torch.arange(n) % 6]
    with tempfile.TemporaryDirectory() as tmp:
        trainer = GANTrainer(cfg, acc, Path(tmp), TrainData(images, labels, {}))
        for _ in range(warmup):
            trainer._train_step()
        if acc.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            trainer._train_step()
        trainer._sums.tolist()  # wait for the device
        seconds = time.perf_counter() - start
    return steps * cfg.batch_size / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="synth64")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--out", default="benchmarks/results/train_speed.json")
    args = parser.parse_args()
    rows = []
    for name, precision, channels_last in SETTINGS:
        ips = measure(args.preset, precision, channels_last, args.steps, args.warmup,
                      args.batch_size)
        rows.append({"setting": name, "mixed_precision": precision,
                     "channels_last": channels_last, "img_per_s": round(ips, 1)})
        print(f"{name:22s} {ips:8.1f} img/s", flush=True)
    base = rows[0]["img_per_s"]
    for row in rows:
        row["speedup_vs_fp32"] = round(row["img_per_s"] / base, 2)
    result = {"preset": args.preset, "steps": args.steps, "torch": torch.__version__,
              "threads": torch.get_num_threads(), "machine": platform.processor() or
              platform.machine(), "device": "cuda" if torch.cuda.is_available() else "cpu",
              "rows": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
