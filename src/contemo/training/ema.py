"""The EMA generator: averaged weights and BN buffers, and the BN re-estimation for sampling."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from contemo.emotions import NUM_EMOTIONS


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """Move `ema`'s parameters and float buffers `1 - decay` of the way towards `model`'s."""
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p.detach(), 1.0 - decay)
    for e, b in zip(ema.buffers(), model.buffers(), strict=True):
        if e.is_floating_point():
            e.lerp_(b.detach(), 1.0 - decay)
        else:
            e.copy_(b)


def ema_decay(step: int, decay: float, warmup: int) -> float:
    """Return the decay at `step`: min(decay, (1+step)/(warmup+step)), so early EMA tracks G."""
    if warmup <= 0:
        return decay
    return min(decay, (1.0 + step) / (warmup + step))


@torch.no_grad()
def sampling_copy(ema: nn.Module, batches: int, batch_size: int, seed: int,
                  device: torch.device, label_ids: Sequence[int] | None = None) -> nn.Module:
    """Return an eval-mode copy of the EMA generator with BN statistics re-estimated.

    G trains in train mode (batch statistics) but samples in eval mode (running
    statistics). The running averages of an EMA of weights lag behind the weights, so
    they are recomputed: the copy runs `batches` batches of random noise and random
    one-hot labels in train mode with a cumulative average (momentum=None), which is
    the population statistic of the very weights that will sample. The EMA itself is
    untouched (it is training state; a copy keeps resume exact). Only the emotions of
    `label_ids` (default all) are drawn: labels the data never had would pull the
    statistics towards activations no real sample makes (London has 2 of the 6).
    """
    g = copy.deepcopy(ema).float()
    if batches <= 0:
        return g.eval()
    norms = [m for m in g.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    g.train()
    gen = torch.Generator().manual_seed(seed)
    z_dim = g.config.z_dim
    for _ in range(batches):
        z = torch.randn(batch_size, z_dim, generator=gen)
        ids = torch.tensor(list(range(NUM_EMOTIONS) if label_ids is None else label_ids))
        labels = torch.eye(NUM_EMOTIONS)[ids[torch.randint(0, len(ids), (batch_size,),
                                                           generator=gen)]]
        g(z.to(device), labels.to(device))
    for m, orig in zip(norms, (m for m in ema.modules()
                               if isinstance(m, nn.modules.batchnorm._BatchNorm)), strict=True):
        m.momentum = orig.momentum
    return g.eval()
