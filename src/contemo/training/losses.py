"""The adversarial losses, one home for D's and G's side: bce (DCGAN, the paper) or hinge (SNGAN)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss(logits: torch.Tensor, real: bool, kind: str) -> torch.Tensor:
    """Return D's loss on real or fake logits: bce (DCGAN, the paper) or hinge (SNGAN)."""
    if kind == "hinge":
        return F.relu(1.0 - logits).mean() if real else F.relu(1.0 + logits).mean()
    return F.softplus(-logits).mean() if real else F.softplus(logits).mean()


def g_loss(logits: torch.Tensor, kind: str) -> torch.Tensor:
    """Return G's loss on D's logits for its fakes.

    bce is the non-saturating loss (G maximises log D(G(z))), hinge has G maximise D(G(z)).
    """
    return F.softplus(-logits).mean() if kind == "bce" else -logits.mean()
