"""LeCam regularisation (Tseng et al. 2021): hold D's outputs near the other side's running mean.

Why: on 204 photos a discriminator wins by memorising the set. Its outputs on real
photos run away from its outputs on G's faces (`london64`'s pair D ends at a hinge
loss of 0.14, chance being 2), and a D that has won gives G no useful gradient. LeCam
penalises D(real) above the running mean of D(fake), and D(fake) below the running
mean of D(real):

    R = E[relu(D(x) - ema_fake)^2] + E[relu(ema_real - D(G(z)))^2]

Tseng et al. show that this bounds a LeCam divergence, which is more robust than the
GAN's own divergence when data are few, and that it adds to DiffAugment instead of
replacing it. Unlike augmentation it never changes what D sees, so a real pair stays
exactly two photos of one person; unlike R1 it needs no second backward pass.

The running means are buffers of a small module, so they travel in the checkpoint
with the weights and a resumed run continues bit for bit.

Measured on London (docs/training.md, rows LC and LC03): at 0.3 the pair D no longer
memorises (its loss ends near 0.9), but G learns less in 3,000 steps and every target
falls; at 0.03 identity rises and the smile falls along the same line as every other
lever. So it is off in every preset.
"""

from __future__ import annotations

import torch
from accelerate import Accelerator
from torch import nn
from torch.nn import functional as F

DECAY = 0.99  # the paper's decay of the running means (about 100 steps)


class LeCam(nn.Module):
    """One discriminator's LeCam term: its weight and the running means of its outputs."""

    def __init__(self, weight: float, device: torch.device) -> None:
        super().__init__()
        self.weight = weight
        self.register_buffer("ema_real", torch.zeros((), device=device))
        self.register_buffer("ema_fake", torch.zeros((), device=device))

    def real_term(self, d_real: torch.Tensor) -> torch.Tensor:
        """Return the weighted penalty on D's real outputs above the fake running mean."""
        return self.weight * F.relu(d_real - self.ema_fake).square().mean()

    def fake_term(self, d_fake: torch.Tensor) -> torch.Tensor:
        """Return the weighted penalty on D's fake outputs below the real running mean."""
        return self.weight * F.relu(self.ema_real - d_fake).square().mean()

    @torch.no_grad()
    def update(self, d_real: torch.Tensor, d_fake: torch.Tensor, acc: Accelerator) -> None:
        """Move the running means towards this step's mean outputs (averaged over ranks).

        Called after the D step that used the old means, so every term of a step
        sees the same targets; the means are reduced over ranks, so all ranks keep
        the same buffers and a checkpoint of rank 0's holds for every rank.
        """
        means = torch.stack([d_real.detach().float().mean(), d_fake.detach().float().mean()])
        if acc.num_processes > 1:
            means = acc.reduce(means, "mean")
        self.ema_real.lerp_(means[0], 1.0 - DECAY)
        self.ema_fake.lerp_(means[1], 1.0 - DECAY)
