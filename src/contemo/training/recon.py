"""Self-supervised D: small decoders must redraw each real photo from D's own feature maps.

Why: on London's 204 photos D memorises the training set long before G draws a sharp
inner face. The pair D's hinge loss falls to about 0.1 by step 3,000, every row of the
recipe table draws hair and outline well and eyes and mouths roughly, and what D then
tells G is "be one of these photos", not "this is what a mouth looks like". FastGAN
(Liu et al. 2021, "Towards faster and stabilized GAN training for high-fidelity few-shot
image synthesis") met this on 100-1,000 image sets by making D an encoder as well: a
decoder redraws the whole real image from D's 8x8 map, and another redraws one random
quarter of it, at full detail, from the matching quarter of D's 16x16 map. D can only
do that if its features describe the face (where the eyes are, how the mouth is
shaped), not just which training photo it is; its real/fake judgement then rests on
those features, and so does the gradient G learns from.

What differs from FastGAN: the loss is L1 on pixels, because FastGAN's LPIPS needs
ImageNet VGG weights, which contemo never downloads; the decoders draw 32 px images
(the whole face at half size, and a quarter at full size for 64 px runs). Only real
faces are decoded, and only in D's step: G is untouched. `recon=W` weighs the loss in
D's objective (0 = off, as in the paper); the decoders have their own optimiser and
are checkpointed (`RC.*`, `optRC`).

`pair_recon=W` does the same for the identity-pair D (training/pairs.py), whose decoders
redraw both faces of each real pair (`RCP.*`, `optRCP`): that D memorises London's 102
real pairs first (its hinge loss near 0.1 by step 3,000), and what it tells G is then
"be one of these 102 people".
"""

from __future__ import annotations

from typing import Any

import torch
from accelerate import Accelerator
from torch import nn
from torch.nn import functional as F

from contemo.training.batches import step_generator

STREAM_QUARTER = 13  # random stream of the decoded quarter (batches.step_generator)
STREAM_PAIR_QUARTER = 14  # the same for the pair D's decoders (`pair_recon`)
OUT = 32  # side of every decoded image
WIDTHS = (16, 8)  # decoder channels after each 2x upsampling (8 -> 16 -> 32 px)


def up_block(cin: int, cout: int) -> list[nn.Module]:
    """Return FastGAN's decoder block: 2x nearest upsampling, 3x3 conv, BatchNorm, GLU."""
    return [nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(cin, 2 * cout, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * cout),
            nn.GLU(dim=1)]


class Decoder(nn.Module):
    """Return (N, 3 * images, 32, 32) images in [-1, 1] from an (N, C, 8, 8) map of D."""

    def __init__(self, channels: int, images: int = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in WIDTHS:
            layers += up_block(channels, width)
            channels = width
        layers += [nn.Conv2d(channels, 3 * images, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class Decoders(nn.Module):
    """The whole-face decoder (from D's 8x8 map) and the quarter decoder (from 16x16);
    `images=2` for the pair D, whose input is two faces stacked on the channels."""

    def __init__(self, map_channels: tuple[int, int], images: int = 1) -> None:
        super().__init__()
        self.part = Decoder(map_channels[0], images)
        self.whole = Decoder(map_channels[1], images)

    def forward(self, map16: torch.Tensor, map8: torch.Tensor, quarter: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (whole face, the `quarter` (0-3, row-major) of it), each (N, 3, 32, 32)."""
        row, col = divmod(quarter, 2)
        part = map16[..., 8 * row:8 * row + 8, 8 * col:8 * col + 8]
        return self.whole(map8), self.part(part)


def targets(real: torch.Tensor, quarter: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return what the decoders must draw from `real` (N, 3, R, R): the whole face and the
    `quarter`, each area-resized to 32 px (a 64 px face's quarter is already 32 px)."""
    half = real.shape[-1] // 2
    row, col = divmod(quarter, 2)
    part = real[..., half * row:half * (row + 1), half * col:half * (col + 1)]
    return (F.interpolate(real, size=(OUT, OUT), mode="area"),
            F.interpolate(part, size=(OUT, OUT), mode="area") if half != OUT else part)


def draw_quarter(seed: int, rank: int, step: int, stream: int = STREAM_QUARTER) -> int:
    """Return this step's quarter (0-3) from its own random stream, so a resume draws alike."""
    gen = step_generator(seed, stream, rank, step)
    return int(torch.randint(4, (), generator=gen, device=gen.device).item())


class ReconTerm:
    """The decoders of a run, their optimiser, and the reconstruction loss D is given."""

    def __init__(self, config: Any, accelerator: Accelerator, map_channels: tuple[int, int],
                 fused: bool | None, pair: bool = False) -> None:
        self.weight = config.pair_recon if pair else config.recon
        self.seed, self.stream = config.seed, STREAM_PAIR_QUARTER if pair else STREAM_QUARTER
        self.decoders = Decoders(map_channels, 2 if pair else 1).to(accelerator.device)
        self.opt = torch.optim.Adam(self.decoders.parameters(), config.lr_d or config.lr,
                                    betas=config.betas, fused=fused)
        self.acc = accelerator
        self.train_decoders: nn.Module = self.decoders

    def prepare(self) -> None:
        """Wrap the decoders and their optimiser for the accelerator (after any resume)."""
        self.train_decoders, self.opt = self.acc.prepare(self.decoders, self.opt)

    def loss(self, real: torch.Tensor, map16: torch.Tensor, map8: torch.Tensor, step: int
             ) -> torch.Tensor:
        """Return the weighted L1 loss of redrawing the faces D saw (`real`) from its maps.

        Call between D's zero_grad and its backward; `step()` then moves the decoders.
        """
        self.opt.zero_grad(set_to_none=True)
        quarter = draw_quarter(self.seed, self.acc.process_index, step, self.stream)
        with self.acc.autocast():
            whole, part = self.train_decoders(map16, map8, quarter)
        want_whole, want_part = targets(real.detach().float(), quarter)
        return self.weight * (F.l1_loss(whole.float(), want_whole)
                              + F.l1_loss(part.float(), want_part))

    def step(self) -> None:
        """Apply the decoders' gradients (from D's backward through `loss`)."""
        self.opt.step()
