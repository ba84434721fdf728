"""Identity pairs: one person under two emotions, judged side by side by a second D.

Why: a cGAN trained on one-hot labels is never told that G(z, neutral) and G(z, happy)
should be the same person. Its D sees one face at a time, so any face that looks happy
passes as happy, and identity drifts along the interpolation path (London: only 69% of
seeds kept their dlib identity from w=0 to w=1). Studio sets photograph every person
under several emotions (London: neutral and smiling; FACES: six), so the data itself
shows what an emotion change looks like: the same face, only the expression moved.

The pair D sees two faces stacked on the channels, (N, 6, R, R), with both labels, and
learns real pairs (two photos of one person) against G's pairs (one z, two labels). G
must pass it, so for a fixed z the two faces must look like one person *and* differ by
a real expression change. The term is `pairs=W` (off by default; the paper has none),
with `pair_batch` pairs per step. G renders its pairs in the same forward pass as the
main batch, so its BatchNorm statistics see both emotions of a pair together.
The main D's augmentation is not applied to pairs: an op drawn per face would make
the two halves of a real pair differ by more than their expression. `pair_augment`
gives the pair D its own DiffAugment, tied within each pair (both faces get the same
shift, colour and cutout), because 102 real pairs are even fewer than 204 photos and
the pair D memorises them.

With `pair_mismatch=W` the pair D is also matching-aware (Reed et al. 2016): real photos
of two different people under the pair's two emotions are fakes too. Without them, the
pair D can tell G's pairs from real ones by anything at all; with them, it must learn
what makes two real photos one person, and G is pushed on exactly that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from accelerate import Accelerator

from contemo.models import Discriminator
from contemo.models.dcgan import split_outputs
from contemo.training.augment import augment, parse_ops
from contemo.training.batches import real_batch, step_generator
from contemo.training.lecam import LeCam
from contemo.training.losses import d_loss, g_loss
from contemo.training.recon import ReconTerm


class PairSampler:
    """Return per-step batches of real pairs and the noise of G's pairs, by (seed, rank, step)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, pairs: torch.Tensor,
                 batch_size: int, z_dim: int, seed: int, rank: int, flip: bool,
                 device: torch.device, channels_last: bool,
                 persons: torch.Tensor | None = None) -> None:
        self.images, self.labels, self.pairs = images, labels.to(torch.float32), pairs
        self.persons, self.emotions = persons, labels.argmax(dim=1)  # for mismatched()
        self.batch_size, self.z_dim, self.seed, self.rank = batch_size, z_dim, seed, rank
        self.flip, self.device, self.channels_last = flip, device, channels_last

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (real pairs (P, 6, R, R), their labels (P, 12), noise (P, z_dim))."""
        gen = step_generator(self.seed, 4, self.rank, step)
        pick = self.pairs[torch.randint(len(self.pairs), (self.batch_size,), generator=gen)]
        z = torch.randn(self.batch_size, self.z_dim, generator=gen)
        flips = torch.rand(self.batch_size, generator=gen) < 0.5 if self.flip else None
        real, labels = self._stacked(pick[:, 0], pick[:, 1], flips)
        return real, labels, z.to(self.device)

    def _stacked(self, first: torch.Tensor, second: torch.Tensor, flips: torch.Tensor | None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return images[first] beside images[second] (M, 6, R, R) and both labels (M, 12)."""
        halves = [real_batch(self.images, self.labels, idx, flips, self.device,
                             self.channels_last) for idx in (first, second)]
        return (torch.cat([halves[0][0], halves[1][0]], dim=1),
                torch.cat([halves[0][1], halves[1][1]], dim=1))

    def mismatched(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return real pairs of two different people (M, 6, R, R) and their labels (M, 12).

        The first face of one drawn pair beside the second face of another, kept where
        the people differ and the emotions keep the real pairs' order (first nearer
        Neutral), so only identity tells them from real pairs. Its own random stream:
        turning it on leaves every other draw of a run as it was.
        """
        if self.persons is None:
            raise ValueError("mismatched pairs need each image's person")
        gen = step_generator(self.seed, 5, self.rank, step)
        picks = [self.pairs[torch.randint(len(self.pairs), (self.batch_size,), generator=gen)]
                 for _ in range(2)]
        first, second = picks[0][:, 0], picks[1][:, 1]
        keep = ((self.persons[first] != self.persons[second])
                & (self.emotions[first] < self.emotions[second]))
        first, second = first[keep], second[keep]
        flips = torch.rand(len(first), generator=gen) < 0.5 if self.flip else None
        return self._stacked(first, second, flips)


def stack_pairs(fakes: torch.Tensor) -> torch.Tensor:
    """Return G's pair images (2P, 3, R, R: all firsts, then all seconds) as (P, 6, R, R)."""
    half = fakes.shape[0] // 2
    return torch.cat([fakes[:half], fakes[half:]], dim=1)


def augment_pairs(pairs: torch.Tensor, ops: tuple[str, ...], p: float,
                  generator: torch.Generator) -> torch.Tensor:
    """Return stacked pairs (P, 6, R, R) augmented with the same draws for both faces."""
    if not ops or p <= 0 or not len(pairs):
        return pairs
    halves = torch.cat([pairs[:, :3], pairs[:, 3:]])
    return stack_pairs(augment(halves, ops, p, generator, tied=2))


class PairTerm:
    """The identity-pair discriminator of a run: its module, optimiser and batches."""

    def __init__(self, config: Any, accelerator: Accelerator, images: torch.Tensor,
                 labels: torch.Tensor, pairs: torch.Tensor, fused: bool | None,
                 channels_last: bool, persons: torch.Tensor | None = None) -> None:
        # load_train_data refused a run with pairs on and none to draw (one line, no folder)
        self.weight = config.pairs
        self.mismatch = config.pair_mismatch
        self.loss = config.loss
        self.ops = parse_ops(config.pair_augment)
        self.seed = config.seed
        self.count = len(pairs)
        layout = torch.channels_last if channels_last else torch.contiguous_format
        model = replace(config.model, d_norm=config.pair_d_norm or config.model.d_norm)
        self.d = Discriminator(model, images=2).to(accelerator.device, memory_format=layout)
        opt = torch.optim.Adam(self.d.parameters(), config.lr_d or config.lr,
                               betas=config.betas, fused=fused)
        self.opt = opt
        self.sampler = PairSampler(images, labels, pairs, config.pair_batch,
                                   config.model.z_dim, config.seed,
                                   accelerator.process_index, config.flip,
                                   accelerator.device, channels_last, persons)
        self.acc = accelerator
        self.d_train: torch.nn.Module = self.d
        # The pair D memorises 102 real pairs first, so it gets its own LeCam term
        # and, with pair_recon, its own decoders (training/recon.py).
        self.lecam = LeCam(config.lecam, accelerator.device) if config.lecam else None
        self.recon = ReconTerm(config, accelerator, self.d.map_channels(), fused,
                               pair=True) if config.pair_recon else None

    def prepare(self) -> None:
        """Wrap the pair D and its optimiser for the accelerator (after any resume)."""
        self.d_train, self.opt = self.acc.prepare(self.d, self.opt)
        if self.recon is not None:
            self.recon.prepare()

    def generator_input(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                   torch.Tensor]:
        """Return (real pairs, pair labels, noise, labels) for G's 2P pair images this step."""
        real, labels, z = self.sampler.batch(step)
        half = labels.shape[1] // 2
        return real, labels, z.repeat(2, 1), torch.cat([labels[:, :half], labels[:, half:]])

    def _seen(self, step: int, stream: int, p: float) -> Callable[[torch.Tensor], torch.Tensor]:
        """Return what the pair D sees of stacked pairs this step: pair_augment's tied ops.

        One stream per (seed, rank, step) and use, so a resumed run draws the same ones.
        """
        gen = step_generator(self.seed, stream, self.acc.process_index, step)
        return lambda pairs: augment_pairs(pairs, self.ops, p, gen)

    def d_step(self, real: torch.Tensor, labels: torch.Tensor, fakes: torch.Tensor,
               step: int, p: float) -> torch.Tensor:
        """Return the pair D's loss after one step on real pairs against G's (detached) pairs,
        and, with pair_mismatch, against real pairs of two different people (`p`: the
        probability of each pair_augment op)."""
        seen = self._seen(step, 7, p)
        self.opt.zero_grad(set_to_none=True)
        real_in = seen(real)
        with self.acc.autocast():
            on_real, maps = split_outputs(self.d_train(real_in, labels,
                                                       with_maps=self.recon is not None))
            on_real = on_real.float()
            on_fake = self.d_train(seen(stack_pairs(fakes.detach())), labels).float()
        loss = d_loss(on_real, True, self.loss) + d_loss(on_fake, False, self.loss)
        held = (self.lecam.real_term(on_real) + self.lecam.fake_term(on_fake)
                if self.lecam is not None else 0.0)
        if self.recon is not None:  # the pair D's maps must redraw both real faces
            held = held + self.recon.loss(real_in, *maps, step)
        if self.mismatch:
            others, other_labels = self.sampler.mismatched(step)
            if len(others):
                with self.acc.autocast():
                    on_other = self.d_train(seen(others), other_labels).float()
                loss = loss + self.mismatch * d_loss(on_other, False, self.loss)
        self.acc.backward(loss + held)
        self.opt.step()
        if self.recon is not None:
            self.recon.step()
        if self.lecam is not None:
            self.lecam.update(on_real, on_fake, self.acc)
        return loss.detach()

    def g_loss(self, fakes: torch.Tensor, labels: torch.Tensor, step: int, p: float
               ) -> torch.Tensor:
        """Return G's weighted pair loss: its pairs must pass as one real person's two photos."""
        seen = self._seen(step, 8, p)
        self.d.requires_grad_(False)
        with self.acc.autocast():
            logits = self.d(seen(stack_pairs(fakes)), labels).float()
        self.d.requires_grad_(True)
        return self.weight * g_loss(logits, self.loss)
