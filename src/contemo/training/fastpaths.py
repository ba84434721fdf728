"""Resolve the "auto" speed switches to concrete choices for the device at hand.

Each switch is a TrainConfig field that a user can force on or off; "auto" picks the
fast path where it is measured to help and to train as well:

* mixed precision: bf16 autocast on CPUs with AVX512-BF16/AMX and on GPUs that have
  bf16, else fp16 with a GradScaler on CUDA, else fp32 (an AVX2-only CPU emulates
  bf16, slower than fp32: see contemo.hardware);
* channels_last (NHWC) on CUDA, where cuDNN's convolutions prefer it, and for fp32 on
  CPU, where oneDNN's are faster in it too (1.17x over NCHW for synth64 training on the
  2-core AVX2 box, `benchmarks/bench_train.py`); not under CPU bf16, where NHWC was
  measured slower (sampling, AVX512-BF16 box);
* fused Adam on CUDA (one kernel per step instead of one per tensor);
* the uint8 image cache on the GPU when it takes under a quarter of free memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from contemo.hardware import resolve_precision
from contemo.training.config import AUTO, TrainConfig

DATA_MEMORY_SHARE = 0.25  # largest share of free GPU memory the image cache may take


@dataclass(frozen=True)
class FastPaths:
    """The concrete speed choices of a run (written to log.txt and the release metadata)."""

    mixed_precision: str  # fp32 | bf16 | fp16 (contemo.hardware)
    channels_last: bool
    fused_adam: bool
    data_on_device: bool
    compile: bool


def resolve(config: TrainConfig, device: torch.device, data_bytes: int) -> FastPaths:
    """Return the fast paths of `config` on `device` for an image cache of `data_bytes`."""
    cuda = device.type == "cuda"

    def pick(value: bool | str, auto: bool) -> bool:
        return auto if value == AUTO else bool(value)

    precision = resolve_precision(config.mixed_precision, device, training=True,
                                  where="mixed_precision")
    fits = False
    if cuda:
        free, _ = torch.cuda.mem_get_info(device)
        fits = data_bytes < DATA_MEMORY_SHARE * free
    return FastPaths(
        mixed_precision=precision,
        channels_last=pick(config.channels_last, cuda or precision == "fp32"),
        fused_adam=pick(config.fused_adam, cuda),
        data_on_device=pick(config.data_on_device, fits) or not cuda,
        compile=config.compile,
    )
