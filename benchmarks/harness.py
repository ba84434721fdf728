"""What every benchmark shares: the machine's description, a matmul peak, timing and JSON output.

Figures are only comparable inside one run on one machine, so every benchmark measures
its baseline and a dense-matmul peak in the same process and reports ratios against
them; absolute numbers are printed too, with the machine they came from.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """Return a description of this machine and software: CPU, cores, threads, GPU, versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "python": sys.version.split()[0], "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    return info


def timed(fn: Callable[[], Any], *, warmup: int = 1, repeat: int = 3, sync: bool = False
          ) -> float:
    """Return the best wall time in seconds of `fn()` over `repeat` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        if sync and torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if sync and torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_peak(device: str = "cpu", n: int = 2048) -> dict[str, float | None]:
    """Return measured dense-matmul GFLOP/s on `device`: the roofline for ratios.

    bf16 is measured only where it is native (`contemo.hardware.native_bf16`); on an
    AVX2-only CPU PyTorch emulates it at a small fraction of fp32 speed, so it is None.
    """
    from contemo.hardware import native_bf16

    out: dict[str, float | None] = {"matmul_bf16_gflops": None}
    dtypes = [("fp32", torch.float32)] + ([("bf16", torch.bfloat16)] if native_bf16(device)
                                          else [])
    for name, dtype in dtypes:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        seconds = timed(lambda a=a, b=b: a @ b, warmup=1, repeat=3, sync=device != "cpu")
        out[f"matmul_{name}_gflops"] = 2 * n**3 / seconds / 1e9
    return out


def peak_text(peak: dict[str, float | None]) -> str:
    """Return the matmul peak as one printable phrase."""
    bf16 = peak.get("matmul_bf16_gflops")
    return (f"matmul peak fp32 {peak['matmul_fp32_gflops']:.0f} GFLOP/s, bf16 "
            + (f"{bf16:.0f} GFLOP/s" if bf16 else "not native here (emulated: not measured)"))


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Return the path of results/<name>.json after writing `payload` with the machine added."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {"benchmark": name, "machine": machine(), **payload,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def print_and_keep(result: dict[str, Any], path: str | None) -> int:
    """Print `result` as one JSON line, also write it to `path` if given; return exit 0.

    The figure scripts (edit_masks, pair_change) print what they measured for the eye
    and keep it as a file for the docs.
    """
    print(json.dumps(result))
    if path:
        Path(path).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Print rows as an aligned text table with the given columns."""
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def _fmt(value: Any) -> str:
    """Return a short printable form of a table cell."""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return "" if value is None else str(value)
