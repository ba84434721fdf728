"""Inner-face D: a second one-face D that sees only the window of eyes, nose and mouth.

Why: on London every row of the recipe table draws hair, skin and face outline well
and the inner face roughly (speckled eyes, smeared mouths), and the figures that stay
short of their targets all read the inner face. dlib's identity descriptor puts G's
different people closer together than real ones (median 0.66-0.68 against 0.79) and one
person's two faces further apart (0.56 against 0.33), and the judge reads the smile
from the mouth. The main D spends its capacity on the whole 64 px frame, where the
inner face is a few hundred pixels among 4,096.

Face restoration met the same problem and answered it with facial-component
discriminators (GFPGAN, Wang et al. 2021: separate Ds on the eyes and mouth regions;
Li et al. 2017's face completion: a local D beside the global one). With face-aware
crops (`crop=fixed` or `detect`) the inner face sits at the same place in every
frame, so one fixed window is enough: `local_box` (centre x, centre y, side, as
fractions of the frame) is cut from the faces the main D sees (after its
augmentation), resized to half the resolution and judged by a conditional D of that
size. It reads the label too, so the smile must be in the mouth itself.
`local=W` weighs G's loss against it (0 = off, as in the paper).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from accelerate import Accelerator
from torch.nn import functional as F

from contemo.models import Discriminator
from contemo.models.config import RESOLUTIONS
from contemo.training.losses import d_loss, g_loss


def window_pixels(resolution: int, box: tuple[float, float, float]) -> tuple[int, int, int]:
    """Return the window (left, top, side) in pixels of a `resolution` frame, kept inside it."""
    cx, cy, frac = box
    side = max(1, min(resolution, round(frac * resolution)))
    left = min(max(round(cx * resolution - side / 2), 0), resolution - side)
    top = min(max(round(cy * resolution - side / 2), 0), resolution - side)
    return left, top, side


def inner_window(images: torch.Tensor, box: tuple[float, float, float]) -> torch.Tensor:
    """Return the `box` window of images (N, C, R, R), resized to (N, C, R/2, R/2).

    Bilinear with antialiasing is differentiable, so G's gradient reaches the window's
    pixels; a window of exactly half the side is a plain slice.
    """
    left, top, side = window_pixels(images.shape[-1], box)
    window = images[..., top:top + side, left:left + side]
    out = images.shape[-1] // 2
    if side == out:
        return window
    return F.interpolate(window, size=(out, out), mode="bilinear", align_corners=False,
                         antialias=side > out)


def local_resolution(resolution: int) -> int:
    """Return the local D's resolution for G's `resolution` (half), or raise ValueError."""
    half = resolution // 2
    if half not in RESOLUTIONS:
        raise ValueError(f"local: no inner-face D for {resolution} px images "
                         f"(half the side must be one of {', '.join(map(str, RESOLUTIONS))})")
    return half


class LocalTerm:
    """The inner-face D of a run: its module, optimiser, window and losses."""

    def __init__(self, config: Any, accelerator: Accelerator, fused: bool | None,
                 channels_last: bool) -> None:
        self.weight, self.loss, self.box = config.local, config.loss, tuple(config.local_box)
        model = replace(config.model, resolution=local_resolution(config.model.resolution),
                        d_classifier=False)
        layout = torch.channels_last if channels_last else torch.contiguous_format
        self.d = Discriminator(model).to(accelerator.device, memory_format=layout)
        self.opt = torch.optim.Adam(self.d.parameters(), config.lr_d or config.lr,
                                    betas=config.betas, fused=fused)
        self.acc = accelerator
        self.d_train: torch.nn.Module = self.d

    def prepare(self) -> None:
        """Wrap the local D and its optimiser for the accelerator (after any resume)."""
        self.d_train, self.opt = self.acc.prepare(self.d, self.opt)

    def d_step(self, real: torch.Tensor, labels: torch.Tensor, fake: torch.Tensor,
               fake_labels: torch.Tensor) -> torch.Tensor:
        """Return the local D's loss after one step on the windows of what the main D saw."""
        self.opt.zero_grad(set_to_none=True)
        with self.acc.autocast():
            on_real = self.d_train(inner_window(real.detach(), self.box), labels).float()
            on_fake = self.d_train(inner_window(fake.detach(), self.box), fake_labels).float()
        loss = d_loss(on_real, True, self.loss) + d_loss(on_fake, False, self.loss)
        self.acc.backward(loss)
        self.opt.step()
        return loss.detach()

    def g_loss(self, fake: torch.Tensor, fake_labels: torch.Tensor) -> torch.Tensor:
        """Return G's weighted local loss: its inner faces must pass as real ones of the label."""
        self.d.requires_grad_(False)
        with self.acc.autocast():
            logits = self.d(inner_window(fake, self.box), fake_labels).float()
        self.d.requires_grad_(True)
        return self.weight * g_loss(logits, self.loss)
