"""EmotionPipeline: the one inference entry point (seeds + label vectors -> face images).

Identity is kept by keeping z (§3.2): the noise of a seed is drawn from its own
``torch.Generator`` seeded with that seed, so seed 7 is the same face in any batch,
order, process or machine, and a strip of labels over one seed moves only the emotion.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from contemo.emotions import EMOTIONS, check_trained, validate_labels
from contemo.errors import ContemoError
from contemo.hardware import autocast, resolve_precision
from contemo.models.dcgan import Generator
from contemo.models.pretrained import from_pretrained
from contemo.schema import check_range

DEFAULT_BATCH = 256  # big enough to keep a CPU's cores busy, small enough for 256 px on a GPU


def check_truncation(psi: float) -> float:
    """Return `psi` as a float if it is a truncation in [0, 1], else raise a one-line error."""
    try:
        psi = float(psi)
    except (TypeError, ValueError):
        raise ContemoError(f"truncation {psi!r}: expected a number in [0, 1]") from None
    check_range(psi, 0.0, 1.0, "truncation")  # NaN fails too
    return psi


def noise_for_seeds(seeds: Sequence[int], z_dim: int) -> torch.Tensor:
    """Return (len(seeds), z_dim) standard-normal noise, row i a pure function of seeds[i]."""
    rows = []
    for seed in seeds:
        if not 0 <= int(seed) < 2**63:
            raise ContemoError(f"seed {seed}: expected an integer in [0, 2^63)")
        gen = torch.Generator().manual_seed(int(seed))
        rows.append(torch.randn(z_dim, generator=gen))
    return torch.stack(rows) if rows else torch.empty(0, z_dim)


def parse_seeds(text: str, limit: int | None = None) -> list[int]:
    """Return the seeds written as '0-7', '3,5,9' or '0-3,10' (CLI and API form).

    `limit` caps how many seeds the text may name, checked before the list is built.
    """
    seeds: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise ContemoError(f"seeds {text!r}: expected e.g. 0-7 or 1,4,9") from None
        if b < a or a < 0:
            raise ContemoError(f"seeds {text!r}: range {part} must be ascending and non-negative")
        if limit is not None and len(seeds) + b - a + 1 > limit:
            raise ContemoError(f"seeds {text!r}: more than {limit} seeds")
        seeds.extend(range(a, b + 1))
    if not seeds:
        raise ContemoError(f"seeds {text!r}: no seeds given")
    seen: set[int] = set()
    for seed in seeds:  # the same face twice would mean duplicate files and manifest rows
        if seed in seen:
            raise ContemoError(f"seeds {text[:80]!r}: seed {seed} is given more than once")
        seen.add(seed)
    return seeds


class EmotionPipeline:
    """Generate faces from (seed or z, label vector) pairs with a released generator."""

    def __init__(self, generator: Generator, meta: dict[str, Any] | None = None,
                 device: str | torch.device = "cpu", precision: str = "fp32",
                 channels_last: bool = False, truncation: float = 1.0) -> None:
        self.device = torch.device(device)
        self.generator = generator.to(self.device).eval()
        if channels_last:  # NHWC convolutions: faster on CPUs with oneDNN and on tensor cores
            self.generator = self.generator.to(memory_format=torch.channels_last)
        # fp32 by default: the same seed gives the same pixels on every machine. bf16/fp16
        # (autocast) trade the last bits for speed in sweeps and serving; auto is resolved
        # here, for this device, so `precision` always names what runs.
        self.precision = resolve_precision(precision, self.device)
        self.meta = meta or {}
        self.config = generator.config
        # Emotions without training images give grey ghosts: refused, not rendered.
        self.trained = tuple(self.meta.get("trained_emotions") or EMOTIONS)
        # The truncation trick in z (BigGAN, StyleGAN's psi): a seed's noise is scaled by
        # psi towards the mean face, trading variety between seeds for cleaner faces; all
        # faces grow more alike, a path's two ends included (measured in the london64
        # model card: more rows pass as one person, but the median row moves as far). DCGAN
        # has no mapping network, and z's mean is 0, so scaling z is StyleGAN's w-mean +
        # psi (w - w-mean) in the only latent there is; a seed's face moves smoothly with
        # psi, and far from 1 it may become another person.
        self.truncation = check_truncation(truncation)

    @classmethod
    def from_pretrained(cls, model_dir: str | Path | None = None,
                        device: str | torch.device = "cpu", precision: str = "fp32",
                        channels_last: bool = False, truncation: float = 1.0) -> EmotionPipeline:
        """Return the pipeline of a release folder (None: the checkpoint shipped with contemo)."""
        generator, meta = from_pretrained(model_dir, device)
        return cls(generator, meta, device, precision, channels_last, truncation)

    @property
    def resolution(self) -> int:
        return self.config.resolution

    def noise(self, seeds: Sequence[int]) -> torch.Tensor:
        """Return the noise rows of `seeds` (see noise_for_seeds), scaled by the truncation."""
        z = noise_for_seeds(seeds, self.config.z_dim)
        return z if self.truncation == 1.0 else z * self.truncation

    @torch.inference_mode()
    def generate(
        self, labels: np.ndarray | torch.Tensor | Sequence[Sequence[float]],
        seeds: Sequence[int] | None = None, z: torch.Tensor | None = None,
        batch_size: int = DEFAULT_BATCH,
    ) -> torch.Tensor:
        """Return float images (N, 3, R, R) in [-1, 1] on the CPU, one per (label, seed/z) row.

        `labels` is (N, 6) and validated (Eq. 2-3); give either `seeds` (N ints) or `z`
        (N, z_dim; used as given, not truncated). A single label row is broadcast over all seeds.
        """
        z = self._noise(seeds, z)
        v = torch.as_tensor(validate_labels(np.asarray(labels, dtype=np.float64)))
        if v.shape[0] == 1 and z.shape[0] > 1:
            v = v.expand(z.shape[0], -1)
        if v.shape[0] != z.shape[0]:
            raise ContemoError(f"{v.shape[0]} label rows for {z.shape[0]} noise rows")
        self.check_trained(v)
        return torch.cat(list(self.iter_batches(z, v, batch_size))) if len(z) else \
            torch.empty(0, 3, self.resolution, self.resolution)

    def iter_batches(self, z: torch.Tensor, v: torch.Tensor, batch_size: int = DEFAULT_BATCH
                     ) -> Iterator[torch.Tensor]:
        """Yield generated CPU batches for already-validated rows (streaming for big sweeps)."""
        if batch_size < 1:
            raise ContemoError(f"batch size must be at least 1, got {batch_size}")
        self.check_trained(v)
        with torch.inference_mode(), autocast(self.precision, self.device):
            for i in range(0, len(z), batch_size):
                zb = z[i:i + batch_size].to(self.device)
                vb = v[i:i + batch_size].to(self.device, torch.float32)
                yield self.generator(zb, vb).float().clamp_(-1, 1).cpu()

    def check_trained(self, v: torch.Tensor | np.ndarray) -> None:
        """Raise a one-line error if any label row weighs an emotion the model never saw."""
        if len(self.trained) < len(EMOTIONS):
            check_trained(np.asarray(torch.as_tensor(v).cpu()), self.trained)

    def _noise(self, seeds: Sequence[int] | None, z: torch.Tensor | None) -> torch.Tensor:
        """Return the noise from exactly one of `seeds` and `z`."""
        if (seeds is None) == (z is None):
            raise ContemoError("give either seeds or z")
        if z is None:
            return self.noise(list(seeds))
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.ndim != 2 or z.shape[1] != self.config.z_dim:
            raise ContemoError(f"z must be (N, {self.config.z_dim}), got {tuple(z.shape)}")
        return z
