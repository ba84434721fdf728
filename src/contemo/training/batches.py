"""Training batches straight from the uint8 image cache: indices by step, no DataLoader.

The sampler is a pure function of (seed, step, rank): epoch e is a permutation of
the data seeded by (seed, e), and the global sample stream is cut into per-step,
per-rank slices. So every rank sees different images (DDP sharding), every image
is seen once per epoch, and a resumed run draws exactly the batches an unbroken
run would have drawn, with no sampler state to save beyond the step.
"""

from __future__ import annotations

import numpy as np
import torch


def mixed_seed(*parts: int) -> int:
    """Return a 63-bit seed mixed from integers (numpy's SeedSequence: no nearby collisions)."""
    words = np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint32)
    return int((int(words[0]) << 31) ^ int(words[1])) & (2**63 - 1)


def step_generator(seed: int, stream: int, rank: int, step: int) -> torch.Generator:
    """Return random stream `stream` of one (seed, rank, step): a resumed run draws the same.

    Each use of randomness in a step has its own stream number, so turning a switch on
    leaves every other draw of the run as it was.
    """
    return torch.Generator().manual_seed(mixed_seed(seed, stream, rank, step))


class BatchSampler:
    """Return per-step image batches, labels and noise for one rank of a run."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, z_dim: int,
                 seed: int, rank: int = 0, world_size: int = 1, flip: bool = False,
                 device: torch.device | str = "cpu", channels_last: bool = False,
                 balanced: bool = False) -> None:
        self.images = images  # (N, 3, S, S) uint8, on `device` or on the CPU
        self.labels = labels.to(images.device, torch.float32)
        self.n = images.shape[0]
        self.batch_size = batch_size
        self.z_dim = z_dim
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.flip = flip
        self.device = torch.device(device)
        self.channels_last = channels_last
        self._perms: dict[int, torch.Tensor] = {}
        # Class-balanced epochs: each image drawn with probability 1 / (its class size), so
        # every emotion fills the same share of an epoch (with repeats of the rare ones).
        self.weights = None
        if balanced:
            cls = self.labels.argmax(dim=1).cpu()
            self.weights = 1.0 / torch.bincount(cls).to(torch.float64)[cls]

    def _perm(self, epoch: int) -> torch.Tensor:
        """Return epoch `epoch`'s permutation of the data (the same on every rank)."""
        if epoch not in self._perms:
            gen = torch.Generator().manual_seed(mixed_seed(self.seed, 1, epoch))
            self._perms = {e: p for e, p in self._perms.items() if e >= epoch - 1}
            self._perms[epoch] = torch.randperm(self.n, generator=gen) if self.weights is None \
                else torch.multinomial(self.weights, self.n, replacement=True, generator=gen)
        return self._perms[epoch]

    def indices(self, step: int) -> torch.Tensor:
        """Return the data indices of this rank's batch at `step`."""
        start = (step * self.world_size + self.rank) * self.batch_size
        k = torch.arange(start, start + self.batch_size)
        epochs, pos = k // self.n, k % self.n
        out = torch.empty_like(k)
        for e in epochs.unique().tolist():
            mask = epochs == e
            out[mask] = self._perm(int(e))[pos[mask]]
        return out

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (real images in [-1, 1], their labels, noise z) for `step` on the device."""
        idx = self.indices(step)
        gen = step_generator(self.seed, 2, self.rank, step)
        z = torch.randn(self.batch_size, self.z_dim, generator=gen)
        flips = torch.rand(self.batch_size, generator=gen) < 0.5 if self.flip else None
        real, labels = real_batch(self.images, self.labels, idx, flips, self.device,
                                  self.channels_last)
        return real, labels, z.to(self.device, non_blocking=True)


def real_batch(images: torch.Tensor, labels: torch.Tensor, idx: torch.Tensor,
               flips: torch.Tensor | None, device: torch.device, channels_last: bool
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Return images[idx] as floats in [-1, 1] on `device` (mirrored where `flips`), and labels."""
    picked = labels[idx.to(labels.device)].to(device, non_blocking=True)
    return real_images(images, idx, flips, device, channels_last), picked


def real_images(images: torch.Tensor, idx: torch.Tensor, flips: torch.Tensor | None,
                device: torch.device, channels_last: bool) -> torch.Tensor:
    """Return images[idx] of the uint8 cache as floats in [-1, 1] on `device`, mirrored
    where `flips`."""
    pixels = images[idx.to(images.device)].to(device, non_blocking=True)
    real = pixels.to(torch.float32).div_(127.5).sub_(1.0)
    if flips is not None:
        flips = flips.to(device)
        real = torch.where(flips[:, None, None, None], real.flip(3), real)
    if channels_last:
        real = real.contiguous(memory_format=torch.channels_last)
    return real
