"""The runtime: which device a command runs on and in which precision, decided in one place.

One vocabulary for every command and config: a device is ``auto``, ``cpu``, ``cuda``,
``cuda:N`` or ``mps``; a precision is ``fp32``, ``bf16`` or ``fp16`` (``auto`` asks
this module to choose). Training configs may still say ``no``, Accelerate's name for
fp32, so older configs and checkpoints read unchanged.

bf16 pays only where the hardware does it natively (AVX512-BF16 or AMX on CPUs, bf16
tensor cores on GPUs); elsewhere PyTorch emulates it in fp32 and it is slower than
plain fp32. Training (`training.fastpaths`), generation and scoring all resolve their
"auto" settings here, so they agree on every machine. torch is imported inside the
functions: commands declare their flags from here without loading it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from contemo.errors import ContemoError

if TYPE_CHECKING:
    import torch

Precision = Literal["fp32", "bf16", "fp16"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "bf16", "fp16")
AUTO = "auto"
PRECISION_CHOICES = (AUTO, *PRECISIONS)  # what a --precision flag or a config field accepts
ALIASES = {"no": "fp32"}  # Accelerate's spelling, kept readable in training configs
DEVICES = "auto, cpu, cuda, cuda:N or mps"


def cpu_has_bf16() -> bool:
    """Return whether this CPU does bf16 arithmetic natively (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def native_bf16(device: torch.device | str) -> bool:
    """Return whether bf16 autocast is native (and so faster than fp32) on `device`."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16()


def check_precision(value: str, where: str = "--precision") -> str:
    """Return `value` if it names a precision or auto (aliases allowed); else a one-line error."""
    if value in PRECISION_CHOICES or value in ALIASES:
        return value
    raise ContemoError(f"{where} {value!r}: expected one of {', '.join(PRECISION_CHOICES)}")


def resolve_precision(requested: str, device: torch.device | str, *,
                      training: bool = False, where: str = "--precision") -> Precision:
    """Return the concrete precision of `requested` on `device`.

    auto is bf16 where it is native, else fp32. Training differs in two ways, both from
    Accelerate: its GradScaler guards fp16, so auto on a CUDA GPU without bf16 picks fp16;
    and that scaler is CUDA-only, so fp16 training on another device is refused.
    """
    import torch

    requested = ALIASES.get(check_precision(requested, where), requested)
    device = torch.device(device)
    if training and requested == "fp16" and device.type != "cuda":
        raise ContemoError(f"{where} fp16 needs a CUDA GPU; use bf16 or no on CPU")
    if requested != AUTO:
        return cast(Precision, requested)
    if native_bf16(device):
        return "bf16"
    return "fp16" if training and device.type == "cuda" else "fp32"


def auto_precision(device: torch.device | str) -> str:
    """Return what "--precision auto" means for inference on `device`: "bf16" or "fp32"."""
    return resolve_precision(AUTO, device)


def autocast(precision: str, device: torch.device | str) -> torch.autocast:
    """Return the autocast context of a concrete precision on `device` (fp32: disabled)."""
    import torch

    precision = ALIASES.get(precision, precision)
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16  # unused when fp32
    return torch.autocast(torch.device(device).type, dtype=dtype, enabled=precision != "fp32")


def accelerate_precision(precision: Precision) -> str:
    """Return Accelerate's name for a concrete precision ("no" for fp32)."""
    return "no" if precision == "fp32" else precision


def resolve_device(name: str = AUTO) -> torch.device:
    """Return the torch device for a --device value ('auto': CUDA, else Apple MPS, else CPU)."""
    import torch

    if name == AUTO:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise ContemoError(f"--device {name!r}: expected {DEVICES}") from None
    if device.type not in ("cpu", "cuda", "mps"):
        raise ContemoError(f"--device {name!r}: expected {DEVICES}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ContemoError(f"--device {name}: CUDA is not available on this machine")
    if device.type == "cuda" and device.index is not None \
            and device.index >= torch.cuda.device_count():
        raise ContemoError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ContemoError(f"--device {name}: Apple MPS is not available on this machine")
    return device


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """Declare --device, the same flag and default (auto) for every command."""
    parser.add_argument("--device", default=AUTO, metavar="DEVICE",
                        help=f"torch device: {DEVICES} (default auto: CUDA, else MPS, else CPU)")


def add_precision_argument(parser: argparse.ArgumentParser, default: str, why: str) -> None:
    """Declare --precision with the one vocabulary; `why` explains the command's default."""
    parser.add_argument("--precision", default=default, choices=PRECISION_CHOICES,
                        help=f"autocast: fp32, bf16, fp16, or auto (bf16 where the CPU/GPU "
                             f"has it natively, else fp32); default {default}: {why}")
