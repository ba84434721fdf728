"""What this machine's arithmetic is good at: the one place that decides "auto" precision.

bf16 pays only where the hardware does it natively (AVX512-BF16 or AMX on CPUs, bf16
tensor cores on GPUs); elsewhere PyTorch emulates it in fp32 and it is slower than
plain fp32. Training (`training.fastpaths`) and scoring (`evaluation.options`) both
resolve their "auto" settings here, so they agree on every machine.
"""

from __future__ import annotations

from pathlib import Path

import torch


def cpu_has_bf16() -> bool:
    """Return whether this CPU does bf16 arithmetic natively (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def native_bf16(device: torch.device | str) -> bool:
    """Return whether bf16 autocast is native (and so faster than fp32) on `device`."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16()


def auto_precision(device: torch.device | str) -> str:
    """Return what "--precision auto" means for inference on `device`: "bf16" or "fp32"."""
    return "bf16" if native_bf16(device) else "fp32"
