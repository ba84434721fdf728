"""Training throughput at 64 and 256 px: the DCGAN reference way vs `contemo train`'s fast paths.

The baseline is what the PyTorch DCGAN example does, with contemo's own G and D (so the
architecture is identical): image files decoded by a DataLoader every epoch (PIL, Resize,
ToTensor, Normalize, 2 workers), fp32, NCHW, no compile, plain Adam, one D step (real,
then fake) and one G step. The fast paths are the real `GANTrainer` step (uint8 cache
in memory, EMA update included) under each switch. All figures come from this one run,
with a dense-matmul peak measured in the same process, so the ratios are what matters.

    python benchmarks/bench_train.py                       # 64 and 256 px, ~5 min on 2 cores
    python benchmarks/bench_train.py --resolutions 64 --steps 30

Prints a table per resolution and writes benchmarks/results/train.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from harness import matmul_peak, peak_text, print_table, write_result
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode
from torchvision import transforms

from contemo.data import open_dataset
from contemo.data.faces import scan_faces
from contemo.data.synth.sets import make_faces_set
from contemo.emotions import EMOTIONS
from contemo.hardware import accelerate_precision, native_bf16, resolve_precision
from contemo.models import Discriminator, Generator
from contemo.training.config import TrainConfig, get_preset
from contemo.training.gan import GANTrainer, TrainData

PRESET_OF = {64: "synth64", 256: "paper256"}


class FileFaces(Dataset):
    """Image files + one-hot labels, decoded and transformed per item (the reference way)."""

    def __init__(self, folder: Path, size: int) -> None:
        records = scan_faces(folder).records
        self.paths = [r.path for r in records]
        self.labels = [EMOTIONS.index(r.emotion) for r in records]
        self.transform = transforms.Compose([
            transforms.Resize(size), transforms.CenterCrop(size), transforms.ToTensor(),
            transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.transform(Image.open(self.paths[i]).convert("RGB"))
        return image, F.one_hot(torch.tensor(self.labels[i]), len(EMOTIONS)).float()


def endless(loader: DataLoader) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield batches forever, epoch after epoch (the loader reshuffles each epoch)."""
    while True:
        yield from loader


def baseline_step_fn(cfg: TrainConfig, folder: Path, workers: int) -> Callable[[], None]:
    """Return one training step of the DCGAN reference loop (fp32, NCHW, DataLoader)."""
    torch.manual_seed(cfg.seed)
    g, d = Generator(cfg.model), Discriminator(cfg.model)
    opt_g = torch.optim.Adam(g.parameters(), cfg.lr, betas=cfg.betas)
    opt_d = torch.optim.Adam(d.parameters(), cfg.lr, betas=cfg.betas)
    loader = DataLoader(FileFaces(folder, cfg.model.resolution), batch_size=cfg.batch_size,
                        shuffle=True, num_workers=workers, drop_last=True,
                        persistent_workers=workers > 0)
    batches = endless(loader)

    def step() -> None:
        real, labels = next(batches)
        z = torch.randn(real.shape[0], cfg.model.z_dim)
        fake = g(z, labels)
        opt_d.zero_grad()
        loss_d = F.softplus(-d(real, labels)).mean() + F.softplus(d(fake.detach(), labels)).mean()
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = F.softplus(-d(fake, labels)).mean()
        loss_g.backward()
        opt_g.step()
        loss_g.item()

    return step


def trainer_step_fn(cfg: TrainConfig, data: TrainData, run_dir: Path) -> Callable[[], None]:
    """Return one real `GANTrainer` step under `cfg`'s fast paths."""
    AcceleratorState._reset_state(reset_partial_state=False)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    precision = resolve_precision(cfg.mixed_precision, device, training=True)
    acc = Accelerator(mixed_precision=accelerate_precision(precision), cpu=device == "cpu")
    trainer = GANTrainer(replace(cfg, mixed_precision=precision), acc, run_dir, data)

    def step() -> None:
        trainer._train_step()
        trainer._sums.tolist()  # wait for the device

    return step


def step_flops(cfg: TrainConfig, data: TrainData, run_dir: Path) -> float:
    """Return the FLOPs of one training step (convolutions and matmuls, forward + backward)."""
    step = trainer_step_fn(replace(cfg, mixed_precision="no", compile=False), data, run_dir)
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return float(counter.get_total_flops())


def time_steps(step: Callable[[], None], steps: int, warmup: int) -> tuple[float, float]:
    """Return (seconds per step over `steps` timed steps, seconds of the `warmup` steps)."""
    start = time.perf_counter()
    for _ in range(warmup):
        step()
    warm = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps, warm


def variants(compile_too: bool) -> list[tuple[str, dict[str, Any]]]:
    """Return the fast-path settings to measure: (name, TrainConfig changes)."""
    out: list[tuple[str, dict[str, Any]]] = [
        ("contemo auto", {}),
        ("contemo fp32 NCHW", {"mixed_precision": "no", "channels_last": False}),
        ("contemo fp32 channels_last", {"mixed_precision": "no", "channels_last": True}),
        ("contemo bf16 autocast", {"mixed_precision": "bf16", "channels_last": False}),
    ]
    if compile_too:
        out.append(("contemo auto + compile", {"compile": True}))
        out.append(("contemo fp32 NCHW + compile", {"compile": True, "mixed_precision": "no",
                                                    "channels_last": False}))
    return out


def bench_resolution(size: int, args: argparse.Namespace, tmp: Path, device: str
                     ) -> dict[str, Any]:
    """Return the rows of one resolution after measuring the baseline and every variant."""
    cfg = get_preset(PRESET_OF[size])
    batch = args.batch_size or (64 if size <= 64 else 16)
    # The baseline is one D step and one G step of a single-face cGAN, so the fast paths are
    # timed on that same work: the identity-pair D (synth64 has pairs=1) is switched off.
    cfg = replace(cfg, batch_size=batch, grid_every=0, checkpoint_every=0, pairs=0.0, mix=0.0)
    folder = tmp / f"faces{size}"
    if not folder.exists():
        make_faces_set(folder, people=args.people, size=size, seed=0)
    steps = args.steps if size <= 64 else max(2, args.steps // 4)
    dataset = open_dataset(folder, "faces", size)
    data = TrainData(dataset.images_uint8, dataset.labels, {})
    flops = step_flops(cfg, data, tmp / "flops")
    rows = []
    sec, _ = time_steps(baseline_step_fn(cfg, folder, args.workers), steps, args.warmup)
    rows.append({"variant": f"baseline (reference, {args.workers} workers)", "sec_per_step": sec})
    print(f"  {size} px {rows[-1]['variant']}: {batch / sec:.1f} img/s", flush=True)
    for name, changes in variants(args.compile):
        if changes.get("mixed_precision") == "bf16" and not native_bf16(device):
            rows.append({"variant": name, "skipped": "no native bf16 on this device "
                         "(emulated bf16 is many times slower than fp32)"})
            print(f"  {name}: skipped, no native bf16 here", flush=True)
            continue
        step = trainer_step_fn(replace(cfg, **changes), data, tmp / name.replace(" ", "_"))
        warmup = args.warmup + (3 if changes.get("compile") else 0)
        sec, warm = time_steps(step, steps, warmup)
        rows.append({"variant": name, "sec_per_step": sec, "warmup_s": round(warm, 1)})
        print(f"  {size} px {name}: {batch / sec:.1f} img/s (warm-up {warm:.0f} s)", flush=True)
    base = rows[0]["sec_per_step"]
    for row in rows:
        if "sec_per_step" not in row:
            continue
        row["img_per_s"] = batch / row["sec_per_step"]
        row["ratio_vs_baseline"] = base / row["sec_per_step"]
        row["gflops"] = flops / row["sec_per_step"] / 1e9
    return {"resolution": size, "preset": cfg.preset, "batch_size": batch, "steps": steps,
            "gflop_per_step": flops / 1e9, "mflop_per_image": flops / batch / 1e6,
            "images_on_disk": len(dataset), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", default="64,256", help="comma list of 64, 256")
    parser.add_argument("--steps", type=int, default=20, help="timed steps at 64 px (256: /4)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch-size", type=int, help="default 64 at 64 px, 16 at 256 px")
    parser.add_argument("--people", type=int, default=24, help="people in the rendered set")
    parser.add_argument("--workers", type=int, default=2, help="baseline DataLoader workers")
    parser.add_argument("--no-compile", dest="compile", action="store_false")
    args = parser.parse_args()
    sizes = [int(s) for s in args.resolutions.split(",") if s.strip()]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if any(s not in PRESET_OF for s in sizes):
        parser.error(f"--resolutions: expected a comma list of {', '.join(map(str, PRESET_OF))}")
    peak = matmul_peak()
    print(f"{peak_text(peak)}; torch threads {torch.get_num_threads()}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            result = bench_resolution(size, args, Path(tmp), device)
            for row in (r for r in result["rows"] if "gflops" in r):
                row["pct_of_fp32_matmul_peak"] = 100 * row["gflops"] / peak["matmul_fp32_gflops"]
            print(f"\n{size} px ({result['preset']}), batch {result['batch_size']}, "
                  f"{result['mflop_per_image']:.0f} MFLOP per image per step")
            print_table(result["rows"], ["variant", "img_per_s", "ratio_vs_baseline", "gflops",
                                         "pct_of_fp32_matmul_peak"])
            results.append(result)
    path = write_result("train", {**peak, "native_bf16": native_bf16(device),
                                  "baseline_workers": args.workers, "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
