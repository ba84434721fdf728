"""Identity contrast: an encoder learns who is who from real pairs, and G's pairs must pass it.

Why: on London every lever of the recipe table trades the same two things. A G that
keeps one person along the path makes fewer different people, and one that makes more
people lets them drift (`london64`: 69% of seeds keep their dlib identity from w=0 to
w=1, and 27% of pairs of different seeds are one person to dlib; the targets are 90%
and 20%). Both failures are about identity, and no term so far tells G what identity
is: the main D scores one face, and the pair D scores "one person, two expressions"
but not "a different person from the next pair".

So a small encoder E learns identity from the real photos, with the contrastive loss of
SimCLR/CLIP (InfoNCE): in a batch of B people, E must match each person's neutral photo
to their own smiling one among the B smiling ones, and back. E is trained on real
photos only, never on G's faces, so it reads what tells real people apart; being
matched across expressions, it learns to ignore the expression. Then G's B pairs (one
z, two emotions, the faces it already renders for the pair D) must be matched the same
way by the frozen E: each z's two faces near each other (*same person along the path*)
and far from the other z's faces (*different z are different people*). One term, both
targets, and an identity model that owes nothing to dlib, which scores the result.

E sees both real and generated faces through the same DiffAugment ops, drawn
independently per face, so its identity must survive a shift and a cut-out square: G
cannot pass it with a pattern of pixels that no real face difference makes. Colour is
among them, or E tells people apart by brightness (row ID1 against IDC).

Measured on London (docs/training.md, rows ID1, IDC, IDC3, IDC-seed1): at weight 1
dlib's same person improves on `london64` on both seeds, its different-z figure on one
of two, but the smile and FED get worse on both; at 3 the smile halves. G passes E long
before it passes dlib: E learns hair, skin and face outline from 102 people, dlib reads
the inner face. So it is off in every preset.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
from accelerate import Accelerator
from torch import nn
from torch.nn import functional as F

from contemo.models.config import ModelConfig
from contemo.models.dcgan import block_width
from contemo.training.augment import augment, parse_ops
from contemo.training.batches import real_images, step_generator

EMBED_DIM = 128  # SimCLR's projection size; the loss only compares directions
STREAM_REAL, STREAM_AUG_REAL, STREAM_AUG_FAKE = 9, 10, 11  # random streams (step_generator)


class IdentityEncoder(nn.Module):
    """Return unit-length identity embeddings (N, 128) of faces (N, 3, R, R).

    DCGAN D's strided convolutions without any normalisation: BatchNorm would let the
    batch's other faces into each embedding, which a contrastive loss exploits (SimCLR's
    "information leak"), and the spatial 4x4 map is kept to the last layer because an
    identity is a layout of features, not their average.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c = config
        chans = [block_width(c.d_width, 2**i, c.max_width_mult) for i in range(c.num_blocks)]
        layers: list[nn.Module] = [nn.Conv2d(3, chans[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for cin, cout in itertools.pairwise(chans):
            layers += [nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        self.features = nn.Sequential(*layers)  # ends at 4x4
        self.head = nn.Linear(chans[-1] * 16, EMBED_DIM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(self.features(x).flatten(1)).float(), dim=1)


def info_nce(a: torch.Tensor, b: torch.Tensor, tau: float) -> torch.Tensor:
    """Return the symmetric InfoNCE loss of matched rows: a[i] belongs with b[i] alone.

    Cross-entropy of each row's similarities to all of the other side's rows (scaled by
    1/tau) against its own index, averaged over both directions; log(B) at chance.
    """
    logits = a @ b.t() / tau
    target = torch.arange(a.shape[0], device=a.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


class IdentityTerm:
    """The identity encoder of a run: its module, optimiser, real batches and G's loss."""

    def __init__(self, config: Any, accelerator: Accelerator, images: torch.Tensor,
                 pairs: torch.Tensor, fused: bool | None, channels_last: bool) -> None:
        self.weight, self.tau, self.seed = config.identity, config.identity_tau, config.seed
        self.ops = parse_ops(config.identity_augment)
        self.batch = min(config.pair_batch, len(pairs))  # distinct people: no false negatives
        self.images, self.pairs, self.flip = images, pairs, config.flip
        self.acc, self.channels_last = accelerator, channels_last
        layout = torch.channels_last if channels_last else torch.contiguous_format
        self.e = IdentityEncoder(config.model).to(accelerator.device, memory_format=layout)
        self.opt = torch.optim.Adam(self.e.parameters(), config.lr_d or config.lr,
                                    betas=config.betas, fused=fused)
        self.e_train: nn.Module = self.e

    def prepare(self) -> None:
        """Wrap the encoder and its optimiser for the accelerator (after any resume)."""
        self.e_train, self.opt = self.acc.prepare(self.e, self.opt)

    def _generator(self, stream: int, step: int) -> torch.Generator:
        """Return this rank's random stream `stream` at `step`."""
        return step_generator(self.seed, stream, self.acc.process_index, step)

    def real_pairs(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return B distinct people's first and second photos, each (B, 3, R, R)."""
        gen = self._generator(STREAM_REAL, step)
        pick = self.pairs[torch.randperm(len(self.pairs), generator=gen)[:self.batch]]
        flips = torch.rand(2, self.batch, generator=gen) < 0.5 if self.flip else None
        first, second = (real_images(self.images, pick[:, k], None if flips is None
                                     else flips[k], self.acc.device, self.channels_last)
                         for k in range(2))
        return first, second

    def _embed(self, model: nn.Module, first: torch.Tensor, second: torch.Tensor,
               gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Return E's embeddings of both sides, each face augmented with its own draws."""
        both = augment(torch.cat([first, second]), self.ops, 1.0, gen)
        with self.acc.autocast():
            out = model(both)
        return out[:len(first)], out[len(first):]

    def e_step(self, step: int) -> torch.Tensor:
        """Return E's loss after one step of matching real people across their two photos."""
        first, second = self.real_pairs(step)
        self.opt.zero_grad(set_to_none=True)
        loss = info_nce(*self._embed(self.e_train, first, second,
                                     self._generator(STREAM_AUG_REAL, step)), self.tau)
        self.acc.backward(loss)
        self.opt.step()
        return loss.detach()

    def g_loss(self, fakes: torch.Tensor, step: int) -> torch.Tensor:
        """Return G's weighted loss: E must match each z's two faces, and only them.

        `fakes` are G's pair faces (2P: all firsts, then all seconds, one z per pair).
        """
        half = fakes.shape[0] // 2
        self.e.requires_grad_(False)
        a, b = self._embed(self.e, fakes[:half], fakes[half:2 * half],
                           self._generator(STREAM_AUG_FAKE, step))
        self.e.requires_grad_(True)
        return self.weight * info_nce(a, b, self.tau)
