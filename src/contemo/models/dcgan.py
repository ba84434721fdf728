"""The conditional DCGAN: a generator G(z, v) and a projection discriminator D(x, v).

Both take the 6-element conditioning vector v as *floats* (Eq. 3): G maps it through
a Linear layer and concatenates it with z; D projects its pooled features onto a
Linear embedding of v (Miyato & Koyama, 2018). So one-hot training labels and the
interpolated labels of §3.3 go down the very same path, with no special case.
Layer pattern is Radford et al.'s DCGAN: 4x4 transposed convs (or, with
model.g_upsample=nearest, a 2x resize and a 3x3 conv) with BatchNorm+ReLU in G, strided
4x4 convs with LeakyReLU(0.2) in D, no pooling, no fully connected hidden layers,
N(0, 0.02) init. One addition to D: a minibatch-std channel before its
last conv, computed *within each emotion* of the batch, the remedy for the per-emotion
mode collapse (z ignored) that plain DCGAN, and DCGAN with the usual label-blind
minibatch std, showed on 2,052 faces.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from contemo.emotions import NEUTRAL
from contemo.models.config import ModelConfig
from contemo.models.warp import blended_emotions, linear_flow, warp

# The edit mask's logit offset (model.g_edit): the mask starts nearly shut (sigmoid(-3) is
# 0.05), so G first learns one neutral face per z and opens the mask where an emotion needs
# it. At 0 (half open) the colour path learnt the whole face first: on London the mask was
# 0.89 open by step 320 with edit_mask=1.
MASK_START = -3.0


def block_width(base: int, mult: int, cap: int) -> int:
    """Return channels for a block `mult` times wider than `base`, capped at base * cap."""
    return base * min(mult, cap)


class Generator(nn.Module):
    """Return images in [-1, 1] of shape (N, 3, R, R) from noise z (N, z_dim) and labels v (N, 6)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        # Channels at 4x4, 8x8, ...: halve each block, ending at g_width before RGB.
        mults = [2 ** (c.num_blocks - 1 - i) for i in range(c.num_blocks)]
        chans = [block_width(c.g_width, m, c.max_width_mult) for m in mults]
        sizes = c.block_sizes
        self.conditional = c.g_norm == "conditional"
        # label_from=0: v beside z at the input (the paper); else v only in the CBN from there
        self.label_embed = nn.Linear(c.num_labels, c.label_dim) if not c.label_from else None

        def norm(channels: int, size: int) -> nn.Module:
            labelled = c.label_from <= size <= (c.label_until or size)
            return (ConditionalBatchNorm(channels, c.num_labels)
                    if self.conditional and labelled else nn.BatchNorm2d(channels))

        layers: list[nn.Module] = [
            nn.ConvTranspose2d(c.z_dim + (0 if c.label_from else c.label_dim), chans[0], 4, 1,
                               0, bias=False),
            norm(chans[0], sizes[0]),
            nn.ReLU(True),
        ]

        def up(cin: int, cout: int) -> list[nn.Module]:
            if c.g_upsample == "nearest":
                return [nn.Upsample(scale_factor=2, mode="nearest"),
                        nn.Conv2d(cin, cout, 3, 1, 1, bias=False)]
            return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)]

        for cin, cout, size in zip(chans, chans[1:], sizes[1:], strict=False):
            layers += [*up(cin, cout), norm(cout, size), nn.ReLU(True)]
        self.edit = c.g_edit  # 3 colour channels and, for an edit, a mask channel
        self.warp = c.g_warp  # and, for a warp, two flow channels
        out = 3 + int(self.edit) + 2 * int(self.warp)
        layers += [*up(chans[-1], out)] if self.edit else [*up(chans[-1], 3), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan(self)
        # Unit-scale label embedding, like z: with DCGAN's 0.02 the label would start out
        # drowned by the noise and conditioning would be learnt late or not at all.
        if self.label_embed is not None:
            nn.init.normal_(self.label_embed.weight, 0.0, 1.0)

    def forward(self, z: torch.Tensor, v: torch.Tensor, with_mask: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Return the faces, and with `with_mask` (model.g_edit only) also their edit masks.

        With g_edit, z is rendered under v and under one-hot Neutral in one batch, so
        BatchNorm normalises both halves together, in training and in sampling alike. A
        Neutral face is its own base whatever its mask, so D judges the base directly.
        With g_warp the base is first warped (models/warp.py); at Neutral the flow is 0,
        and a blend of labels also renders z under the one-hot labels it blends.
        """
        v = v.to(z.dtype)
        if not self.edit:
            return self._draw(z, v)
        n = z.shape[0]
        ends = blended_emotions(v, NEUTRAL) if self.warp else []
        eye = torch.eye(v.shape[1], dtype=v.dtype, device=v.device)
        # v, then one-hot Neutral, then each emotion a blend weighs (its flow is blended)
        labels = [v] + [eye[e].expand(n, -1) for e in (NEUTRAL, *ends)]
        out = self._draw(torch.cat([z] * len(labels)), torch.cat(labels))
        colour, mask = torch.tanh(out[:2 * n, :3]), torch.sigmoid(out[:n, 3:4] + MASK_START)
        base = colour[n:]
        if self.warp:  # the Neutral face, moved by v's flow (linear in v's weights)
            fields = out[:, 4:6].split(n)
            base = warp(base, linear_flow(v, fields[0], fields[1], dict(zip(ends, fields[2:],
                                                                            strict=True))))
        face = torch.lerp(base, colour[:n], mask.to(colour.dtype))
        return (face, mask) if with_mask else face

    def _draw(self, z: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Return the last layer's output for (z, v): the faces, or colour + mask logits."""
        h = (z if self.label_embed is None
             else torch.cat([z, self.label_embed(v)], dim=1))[:, :, None, None]
        if not self.conditional:
            return self.net(h)
        for layer in self.net:
            h = layer(h, v) if isinstance(layer, ConditionalBatchNorm) else layer(h)
        return h


class ConditionalBatchNorm(nn.Module):
    """BatchNorm whose gain and bias are linear in the label v (model.g_norm=conditional).

    With one-hot v each emotion has its own gain and bias per channel; a blend gets the
    blend of theirs at every layer, so an interpolated label moves every scale of the
    face together instead of passing once through the first layer's ReLUs. Initialised
    as DCGAN initialises BatchNorm: gain N(1, 0.02), bias 0, for every emotion.
    """

    def __init__(self, channels: int, num_labels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Linear(num_labels, channels)
        self.bias = nn.Linear(num_labels, channels)

    def reset_parameters(self) -> None:
        """Set gain N(1, 0.02) and bias 0 for every label (called by init_dcgan)."""
        nn.init.normal_(self.gain.weight, 0.0, 0.02)
        nn.init.ones_(self.gain.bias)
        nn.init.zeros_(self.bias.weight)
        nn.init.zeros_(self.bias.bias)

    def forward(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        h = self.norm(x)
        gain, bias = (lin(v)[:, :, None, None].to(h.dtype) for lin in (self.gain, self.bias))
        return h * gain + bias


class Discriminator(nn.Module):
    """Return real/fake logits (N,) for images (N, 3, R, R) under labels v (N, 6).

    With `images=2` it is the identity-pair D (training/pairs.py): two faces stacked on
    the channels (N, 6, R, R) under both labels (N, 12), judged as one pair.
    """

    def __init__(self, config: ModelConfig, images: int = 1) -> None:
        super().__init__()
        self.config = config
        c = config
        chans = [block_width(c.d_width, 2**i, c.max_width_mult) for i in range(c.num_blocks)]
        self.widths = tuple(chans)  # block i's output: R / 2^(i+1) px (R/2 ... 4 px)
        spectral = c.d_norm == "spectral"
        layers: list[nn.Module] = [nn.Conv2d(3 * images, chans[0], 4, 2, 1, bias=spectral),
                                   nn.LeakyReLU(0.2, True)]
        for cin, cout in itertools.pairwise(chans):
            layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=spectral)]
            layers += [] if spectral else [nn.BatchNorm2d(cout)]
            layers += [nn.LeakyReLU(0.2, True)]
        self.features = nn.Sequential(*layers)  # ends at 4x4
        # DCGAN's final 4x4 conv, seeing one extra channel: the minibatch standard deviation
        self.head = nn.Conv2d(chans[-1] + 1, 1, 4, 1, 0, bias=True)
        self.label_proj = nn.Linear(c.num_labels * images, chans[-1], bias=False)  # projection
        # AC-GAN head: which emotion D reads in the image (trained on reals, read on fakes)
        self.classifier = nn.Linear(chans[-1], c.num_labels) \
            if c.d_classifier and images == 1 else None
        init_dcgan(self)
        if spectral:  # after init: the parametrisation normalises whatever weights it finds
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.utils.parametrizations.spectral_norm(m)

    def forward(self, x: torch.Tensor, v: torch.Tensor, with_class: bool = False,
                with_maps: bool = False) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Return real/fake logits, then (if asked) emotion logits (N, 6), then the feature
        maps at 16x16 and 8x8 (the self-supervised decoders of training/recon.py read them)."""
        maps: dict[int, torch.Tensor] = {}
        h = x
        for layer in self.features:
            h = layer(h)
            if with_maps and isinstance(layer, nn.LeakyReLU) and h.shape[-1] in MAP_SIZES:
                maps[h.shape[-1]] = h
        out = self.head(minibatch_std(h, v)).flatten(1).squeeze(1)
        pooled = h.sum(dim=(2, 3))
        logits = out + (self.label_proj(v.to(pooled.dtype)) * pooled).sum(dim=1)
        extras: tuple[torch.Tensor, ...] = (self._emotions(h),) if with_class else ()
        if with_maps:
            extras += tuple(maps[size] for size in MAP_SIZES)
        return (logits, *extras) if extras else logits

    def map_channels(self) -> tuple[int, ...]:
        """Return the channels of the maps `forward(with_maps=True)` returns, in MAP_SIZES order."""
        return tuple(self.widths[(self.config.resolution // size).bit_length() - 2]
                     for size in MAP_SIZES)

    def emotion_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Return the AC-GAN head's emotion logits (N, num_labels) for images, without the
        real/fake logit (training/linearity.py reads the expression along a path with it)."""
        return self._emotions(self.features(x))

    def _emotions(self, h: torch.Tensor) -> torch.Tensor:
        """Return the AC-GAN head's logits for D's last feature maps `h` (N, C, 4, 4)."""
        if self.classifier is None:
            raise ValueError("this discriminator has no classifier (model.d_classifier=false)")
        return self.classifier(h.sum(dim=(2, 3)) / (h.shape[2] * h.shape[3]))


MAP_SIZES = (16, 8)  # the D feature maps training/recon.py decodes (FastGAN's choice)


def split_outputs(out: torch.Tensor | tuple[torch.Tensor, ...]
                  ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Return (logits, extras) of a Discriminator's output, whichever extras were asked for
    (none: the logits alone), so a caller need not branch on its own switches."""
    return (out[0], list(out[1:])) if isinstance(out, tuple) else (out, [])


def minibatch_std(h: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Return `h` (N, C, H, W) with one more channel: the feature spread among same-label images.

    D scores each image alone, so it cannot see that every fake "happy" in a batch is
    the same face. Karras et al.'s minibatch std gives it the batch's spread, but over
    a batch that mixes emotions the spread *between* emotions hides the collapse
    *within* one: with it, G still ignored z (pixel std over seeds 0.006 against 0.15
    over people in the data, after 3,000 steps). So the std is taken per label class
    (argmax of v: one-hot during training) and each image sees its own class's value.
    """
    n, _, height, width = h.shape
    y = h.float().flatten(1)  # (N, F)
    member = F.one_hot(v.argmax(dim=1), v.shape[1]).to(y.dtype)  # (N, K)
    counts = member.sum(dim=0).clamp(min=1.0)  # (K,)
    means = (member.t() @ y) / counts[:, None]  # (K, F)
    var = (member.t() @ (y - member @ means).square()) / counts[:, None]
    spread = var.add(1e-8).sqrt().mean(dim=1)  # (K,)
    per_image = (member @ spread).reshape(n, 1, 1, 1).expand(n, 1, height, width)
    return torch.cat([h, per_image.to(h.dtype)], dim=1)


def init_dcgan(module: nn.Module) -> None:
    """Initialise weights as DCGAN does: conv N(0, 0.02), BatchNorm scale N(1, 0.02), bias 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    for m in module.modules():  # after the Linear pass above, which would zero its gain
        if isinstance(m, ConditionalBatchNorm):
            m.reset_parameters()
