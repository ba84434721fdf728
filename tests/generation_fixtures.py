"""A tiny random generator with visible contrast, saved as a release folder for CLI tests."""

from __future__ import annotations

from pathlib import Path

import torch

from contemo.models import MODEL_PRESETS, Generator, ModelConfig, save_pretrained


def make_checkpoint(folder: Path, config: ModelConfig | None = None, seed: int = 0) -> Path:
    """Return `folder` holding an untrained generator whose outputs span [-1, 1].

    An untrained DCGAN in eval mode draws flat grey (BatchNorm's running stats are at
    their init, the RGB layer's weights are N(0, 0.02)); calibrating the stats on a few
    batches and boosting the RGB layer gives noise faces whose layout can be checked by
    eye and whose pixels differ between labels.
    """
    torch.manual_seed(seed)
    g = Generator(config or MODEL_PRESETS["tiny"])
    norms = [m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in norms:
        m.momentum = None  # cumulative average: one batch gives the exact statistics
    g.train()
    with torch.no_grad():
        g(torch.randn(64, g.config.z_dim), torch.eye(6)[torch.arange(64) % 6])
        g.net[-2].weight.mul_(20.0)
    for m in norms:
        m.momentum = 0.1
    return save_pretrained(g.eval(), folder, training={"preset": "test-random"})
