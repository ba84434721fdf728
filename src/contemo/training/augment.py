"""Differentiable augmentation for small-data GANs: what D sees, real and fake alike.

With a few hundred photos D memorises the training set, its gradients stop telling G
anything useful, and G collapses. DiffAugment (Zhao et al., 2020) transforms *both*
real and fake images, with operations G's gradient can pass through, so D never sees
an un-augmented real image and cannot memorise it, while the augmentations do not leak
into G's outputs (G is judged on augmented fakes the same way). StyleGAN2-ADA (Karras
et al., 2020) applies each operation with a probability p tuned on the fly from an
overfitting signal, r_t = E[sign(D(real))]: too confident on reals, raise p.

Operations (each image draws its own parameters, and each operation is applied to an
image with probability p): colour (brightness, saturation, contrast), translation by up
to 1/8 of the side with zero padding, cutout of a square half the side.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from contemo.errors import ContemoError

AUGMENT_OPS = ("color", "translation", "cutout")
ADA_TARGET = 0.6  # StyleGAN2-ADA's r_t target
ADA_SPEED_IMAGES = 20_000  # p can move from 0 to 1 over this many real images (ADA: 500k)


def parse_ops(text: str) -> tuple[str, ...]:
    """Return the operations named in a comma-separated `text` ("" or "none": no augmentation)."""
    names = tuple(t.strip() for t in text.split(",") if t.strip() and t.strip() != "none")
    unknown = [n for n in names if n not in AUGMENT_OPS]
    if unknown:
        raise ContemoError(f"augment {','.join(unknown)!r}: expected a comma-separated subset of "
                           f"{', '.join(AUGMENT_OPS)} (or none)")
    return names


def augment(x: torch.Tensor, ops: tuple[str, ...], p: float,
            generator: torch.Generator | None = None, tied: int = 1) -> torch.Tensor:
    """Return `x` (N, C, H, W in [-1, 1]) with each op applied to each image with probability p.

    With `tied` = K the batch is K blocks of N/K images, and image i of every block gets
    the same draws: the two faces of an identity pair (pairs.py) move, recolour and lose
    the same square together, so the pair still differs by its expression alone.
    """
    if not ops or p <= 0:
        return x
    n = x.shape[0]
    if tied < 1 or n % tied:
        raise ValueError(f"{n} images do not split into {tied} tied blocks")

    def rand(rows: int, *shape: int) -> torch.Tensor:
        drawn = torch.rand(rows // tied, *shape, generator=generator, device="cpu")
        return drawn.repeat(tied, *([1] * len(shape))).to(x.device)

    def chosen() -> torch.Tensor:
        return (rand(n, 1, 1, 1) < p).to(x.dtype)

    for op in ops:
        if op == "color":
            on = chosen()
            x = x + on * (rand(n, 1, 1, 1).to(x.dtype) - 0.5)  # brightness
            mean = x.mean(dim=1, keepdim=True)
            x = mean + (x - mean) * (1 + on * (rand(n, 1, 1, 1).to(x.dtype) * 2 - 1))  # saturation
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = mean + (x - mean) * (1 + on * (rand(n, 1, 1, 1).to(x.dtype) - 0.5))  # contrast
        elif op == "translation":
            x = _translate(x, chosen(), rand(n, 2))
        elif op == "cutout":
            x = _cutout(x, chosen(), rand(n, 2))
    return x


def _translate(x: torch.Tensor, on: torch.Tensor, u: torch.Tensor, ratio: float = 0.125
               ) -> torch.Tensor:
    """Return `x` shifted by up to `ratio` of its side (zero padding), where `on` is 1."""
    n, _, _h, _w = x.shape
    shift = ((u * 2 - 1) * ratio * on.view(n, 1)).to(x.dtype)  # fraction of the side, per image
    theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = 1
    theta[:, 1, 1] = 1
    theta[:, :, 2] = -2 * shift  # affine_grid works in [-1, 1]: a shift of s is 2s
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # nearest: whole-pixel shifts as in DiffAugment, no blur for D to spot
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def _cutout(x: torch.Tensor, on: torch.Tensor, u: torch.Tensor, ratio: float = 0.5
            ) -> torch.Tensor:
    """Return `x` with a zeroed square `ratio` of the side at a random centre, where `on` is 1."""
    n, _, h, w = x.shape
    ys = torch.arange(h, device=x.device, dtype=x.dtype).view(1, h, 1)
    xs = torch.arange(w, device=x.device, dtype=x.dtype).view(1, 1, w)
    cy = (u[:, 0] * h).to(x.dtype).view(n, 1, 1)
    cx = (u[:, 1] * w).to(x.dtype).view(n, 1, 1)
    inside = ((ys - cy).abs() < ratio * h / 2) & ((xs - cx).abs() < ratio * w / 2)
    keep = 1 - inside.to(x.dtype).unsqueeze(1) * on
    return x * keep


@dataclass
class AdaptiveP:
    """The augmentation probability: fixed, or adjusted ADA-style from D's sign on reals."""

    p: float  # current probability
    adaptive: bool  # follow r_t towards ADA_TARGET
    target: float = ADA_TARGET

    def update(self, sign_sum: float, count: int, images: int) -> float:
        """Return p after seeing `count` real logits whose signs summed to `sign_sum`."""
        if not self.adaptive or count == 0:
            return self.p
        r_t = sign_sum / count
        step = images / ADA_SPEED_IMAGES
        self.p = float(min(1.0, max(0.0, self.p + step * (1 if r_t > self.target else -1))))
        return self.p
